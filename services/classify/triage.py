"""Priority of a relevant article from the evidence of ``config/lexicon/priority.yaml``.

The scorer hands over the folded text and the clues it found; this module adds the
triage-layer signals (event and low-value vocabulary), the entity signals (a regulator is
a national actor, a Chinese lab a leading lab) and three computed ones (a large sum of
money, a model version after a lab's name, several headlines in one title), then tries
the low-value kinds and the event kinds in order.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from services.classify.lexicon import TriageKind, TriageRules
from services.classify.priority import Priority

_MONEY_EN = re.compile(
    r"(us\$|\$|usd ?|rmb ?|¥|cny ?)?(\d+(?:[.,]\d+)?)\s*(trillion|billion|bn|million|mn|m|b)\b(?:\s*(yuan|rmb|dollars?|usd))?"
)
_MONEY_ZH = re.compile(r"(\d+(?:\.\d+)?)\s*(万亿|亿|万)\s*(美元|元|人民币|港元)?")
_EN_SCALE = {"trillion": 1e12, "billion": 1e9, "bn": 1e9, "b": 1e9, "million": 1e6, "mn": 1e6, "m": 1e6}
_ZH_SCALE = {"万亿": 1e12, "亿": 1e8, "万": 1e4}
_VERSION_TOKEN = re.compile(r"(?<![a-z0-9.])(?:[a-z]{1,6}-?\d+(?:\.\d+)*|\d+\.\d+)(?![0-9])")


@dataclass(frozen=True, slots=True)
class Signal:
    name: str
    label: str  # the words (or entity) that gave it
    in_title: bool


@dataclass(frozen=True, slots=True)
class Decision:
    priority: Priority
    kind: TriageKind | None  # the event or low-value kind that decided, if any
    trigger: str | None  # the words that fired it


def largest_amount_usd(text: str, chinese: bool, cny_to_usd: float) -> float:
    """The largest sum of money in ``text`` in US dollars (0 when none): "$342 million",
    "US$1.5bn", "3 billion yuan", "3510亿", "超7亿元", "10亿美元"."""
    best = 0.0
    lowered = text.lower()
    for match in _MONEY_EN.finditer(lowered):
        prefix, number, scale, suffix = match.groups()
        if not prefix and not suffix:
            continue  # "7 million users"
        value = float(number.replace(",", "")) * _EN_SCALE[scale]
        yuan = (prefix or "").strip() in ("rmb", "¥", "cny") or (suffix or "") in ("yuan", "rmb")
        best = max(best, value * cny_to_usd if yuan else value)
    if chinese:
        for match in _MONEY_ZH.finditer(text):
            number, scale, currency = match.groups()
            value = float(number) * _ZH_SCALE[scale]
            best = max(best, value if currency == "美元" else value * cny_to_usd)
    return best


class Signals(dict[str, Signal]):
    """Signals by name; ``large_amount`` is computed on first use (most kinds never ask)."""

    def __init__(self, money: Callable[[], Signal | None]) -> None:
        super().__init__()
        self._money: Callable[[], Signal | None] | None = money

    def find(self, name: str) -> Signal | None:
        signal = self.get(name)
        if signal is None and name == "large_amount" and self._money is not None:
            signal, self._money = self._money(), None
            if signal is not None:
                self[name] = signal
        return signal


def fires(kind: TriageKind, signals: Signals) -> list[Signal]:
    """The signals (one per group) that make ``kind`` fire, or [] when it does not."""
    for name in kind.none:
        seen = signals.find(name)
        if seen is not None and seen.in_title:
            return []
    found: list[Signal] = []
    for index, group in enumerate(kind.groups):
        need_title = index in kind.in_title
        for name in group:
            signal = signals.find(name)
            if signal is not None and (signal.in_title or not need_title):
                found.append(signal)
                break
        else:
            return []
    return found


def _trigger(found: list[Signal]) -> str:
    """The words that fired a kind, for readers: "Kimi", "K2.5"."""
    labels = list(dict.fromkeys(s.label for s in found if s.name not in ("large_amount", "several_headlines")))
    return ", ".join(f'"{label}"' for label in labels) or found[0].label


def decide(rules: TriageRules, signals: Signals, headline_on_beat: bool) -> Decision:
    """Low-value kinds first (a round-up whose headline is on the beat is normal), then events."""
    for kind in rules.low_value:
        found = fires(kind, signals)
        if found:
            if kind.kind == "round_up" and headline_on_beat:
                return Decision(Priority.NORMAL, kind, _trigger(found))
            return Decision(Priority.LOW, kind, _trigger(found))
    for kind in rules.events:
        found = fires(kind, signals)
        if found:
            return Decision(Priority.HIGH, kind, _trigger(found))
    return Decision(Priority.NORMAL, None, None)


def add_signal(signals: Signals, name: str, label: str, in_title: bool) -> None:
    seen = signals.find(name)
    if seen is None or (in_title and not seen.in_title):
        signals[name] = Signal(name, label, in_title)


def money_signal(rules: TriageRules, title: str, lede: str, chinese: bool) -> Signal | None:
    """``large_amount``: a sum of at least ``min_usd`` in the title (or else the lede)."""
    for part, in_title in ((title, True), (lede, False)):
        if largest_amount_usd(part, chinese, rules.cny_to_usd) >= rules.min_usd:
            return Signal("large_amount", "a sum of US$100M or more", in_title)
    return None


def builtin_signals(signals: Signals, title: str, raw_title: str) -> None:
    """``model_version`` and ``several_headlines`` (``large_amount`` is computed on demand)."""
    version = _VERSION_TOKEN.search(raw_title.lower())
    if version is not None:
        add_signal(signals, "model_version", raw_title[version.start() : version.end()], True)
    if title.count(";") + title.count("；") >= 2:
        add_signal(signals, "several_headlines", "several headlines in the title", True)
