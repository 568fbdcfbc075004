"""The classifier's knowledge, loaded from ``config/lexicon/*.yaml`` and compiled once.

The YAML files are validated on load (unknown topic ids, weights outside 0..1, empty or
non-string terms, unknown kinds all raise :class:`LexiconError` naming the file and
entry), then every pattern is folded like article text and put in Aho-Corasick
automata, per layer (context evidence, topic keywords): case-insensitive ASCII patterns
(for text without Chinese) and all case-insensitive patterns (for text with Chinese).
Case-sensitive ASCII patterns ("AI", "CAC", "Xi") ride in those automata under their
lower-case spelling and are checked against the original text on a hit.

Patterns and texts are matched as UTF-8 bytes spelled as Latin-1 characters
(:func:`as_bytes`): pyahocorasick searches a node's children linearly, and a root with
a thousand Chinese first characters made every step slow; in bytes, Chinese characters
share a dozen lead bytes. UTF-8 is self-synchronising, so matches still fall on
character boundaries.
"""

from __future__ import annotations

import hashlib
import re
import threading
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from typing import Any, NamedTuple

import ahocorasick
import yaml

from services.classify.normalise import fold

LEXICON_DIR = Path(__file__).resolve().parent.parent.parent / "config" / "lexicon"
LEXICON_FILES = ("entities.yaml", "terms.yaml", "topics.yaml", "scoring.yaml", "priority.yaml")

TOPICS = (
    "regulation",
    "standards",
    "funding_and_subsidies",
    "compute_and_infrastructure",
    "chips_and_export_controls",
    "model_releases",
    "industry_and_investment",
    "security_and_content_control",
    "international_governance",
    "research_and_talent",
)
TERM_ROLES = ("ai", "china", "domestic", "policy", "company", "taiwan", "foreign", "peripheral", "neutral")
CONTEXT, TOPIC, TRIAGE = 0, 1, 2
# Signals of priority.yaml computed by the engine rather than matched as words.
BUILTIN_SIGNALS = ("large_amount", "model_version", "several_headlines")

# Bumped when the scoring code changes meaning; part of the classifier version.
ENGINE_REVISION = "3"


class LexiconError(ValueError):
    """A lexicon data file is missing or malformed."""


@dataclass(frozen=True, slots=True)
class Kind:
    name: str
    label: str
    china: float
    ai: float
    joint: float
    foreign: bool = False
    peripheral: float = 0.0
    topics: tuple[tuple[str, float], ...] = ()  # topic evidence of every entity of the kind


@dataclass(frozen=True, slots=True)
class Entity:
    name: str
    kind: Kind
    topics: tuple[tuple[str, float], ...] = ()


@dataclass(frozen=True, slots=True)
class Clue:
    """One way a matched pattern counts as evidence."""

    key: str
    label: str
    role: str  # a TERM_ROLES value, "entity" or "topic"
    weight: float = 0.0
    entity: Entity | None = None
    topic: str | None = None
    signal: str | None = None  # priority.yaml signal name (triage layer)
    weak: bool = False
    needs_version: bool = False  # counts only followed by a version number ("Wan 2.2")
    contextual: bool = False  # counts only with an AI or company-news clue close by (寒武纪: Cambricon or the Cambrian)
    context: bool = False  # this clue is such context (set when compiled)
    ascii: bool = False


class Pattern(NamedTuple):
    """What an automaton hit means (a tuple: unpacked in the matching loop)."""

    length: int  # in UTF-8 bytes
    left_boundary: bool  # starts with an ASCII letter/digit: previous char must not be one
    right_boundary: bool
    ends_with_digit: bool
    clues: tuple[Clue, ...]  # clues of the case-insensitive pattern (may be empty)
    # Case-sensitive ASCII patterns with this lower-case spelling, as (exact spelling, clues):
    # they count only where the original text has that spelling ("AI", not "ai" in "Ai Weiwei").
    cased_forms: tuple[tuple[str, tuple[Clue, ...]], ...] = ()


@dataclass(frozen=True)
class Automata:
    """One layer's automata; each runs on the text given by its ``cased`` flag."""

    ascii: ahocorasick.Automaton  # lower-cased ASCII patterns: enough for text without Chinese
    everything: ahocorasick.Automaton  # all lower-cased patterns: for text with Chinese
    cased: ahocorasick.Automaton  # case-sensitive patterns that are not ASCII (run on the original text)


@dataclass(frozen=True)
class TriageKind:
    """An event kind (makes an item high) or low-value kind (low) of priority.yaml."""

    kind: str
    label: str
    groups: tuple[tuple[str, ...], ...]  # each group: one of these signals must be present
    in_title: frozenset[int]  # groups whose signal must be in the title
    none: tuple[str, ...] = ()  # signals (in the title) that cancel the kind
    topic: str | None = None  # topic evidence an event of this kind gives (events only)


@dataclass(frozen=True)
class TriageRules:
    automata: Automata
    events: tuple[TriageKind, ...]
    low_value: tuple[TriageKind, ...]
    entity_signals: dict[str, tuple[str, ...]]  # entity name -> signals it gives
    min_usd: float
    cny_to_usd: float
    signal_topics: tuple[tuple[TriageKind, float], ...] = ()  # (groups as a kind, weight) -> kind.topic


@dataclass
class Lexicon:
    scoring: dict[str, Any]
    entities: dict[str, Entity]
    context: Automata
    topics: Automata
    digest: str
    pattern_count: int = 0
    publisher_hosts: frozenset[str] = frozenset()
    topic_descriptions: dict[str, str] = field(default_factory=dict)
    hosts: dict[str, Entity] = field(default_factory=dict)  # a lab's own web host -> the lab
    accounts: dict[str, Entity] = field(default_factory=dict)  # lower-cased org handle on a code/model hub -> the lab
    account_hosts: frozenset[str] = frozenset()  # hubs whose first path segment is an org handle
    triage: TriageRules | None = None


SCORING_KEYS = {
    "threshold": float,
    "field_factor": dict,
    "repeat_bonus": float,
    "zh_china_prior": float,
    "peripheral_max_penalty": float,
    "core_joint": float,
    "topic_threshold": float,
    "max_topics": int,
    "max_title_chars": int,
    "max_summary_chars": int,
    "max_reasons": int,
    "publisher_hosts": list,
    "lede_chars": int,
    "summary_tail_factor": float,
    "untitled_factor": float,
    "topic_min_score": float,
    "topic_fallback_threshold": float,
    "channel_factor": float,
    "account_hosts": list,
    "context_window_chars": int,
    "prior_only_min_strong_ai": int,
    "strong_ai_weight": float,
    "core_ai_weight": float,
    "topic_secondary_ratio": float,
    "calibration_slope": float,
    "roundup_body_factor": float,
    "topic_summary_tail_factor": float,
    "event_topic_weight": float,
}


def _fail(file: str, where: str, problem: str) -> LexiconError:
    return LexiconError(f"{file}: {where}: {problem}")


def _weight(value: Any, file: str, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= float(value) <= 1.0:
        raise _fail(file, where, f"weight must be a number in 0..1, got {value!r}")
    return float(value)


def _terms(value: Any, file: str, where: str) -> list[str]:
    if not isinstance(value, list) or not value:
        raise _fail(file, where, "terms must be a non-empty list")
    for term in value:
        if not isinstance(term, str) or not term.strip():
            raise _fail(file, where, f"term {term!r} is not a non-empty string (quote numbers and yes/no)")
    return value


def _topic_weights(value: Any, file: str, where: str) -> tuple[tuple[str, float], ...]:
    if value is None:
        return ()
    if not isinstance(value, dict):
        raise _fail(file, where, "topics must be a mapping {topic: weight}")
    out = []
    for topic, weight in value.items():
        if topic not in TOPICS:
            raise _fail(file, where, f"unknown topic {topic!r} (known: {', '.join(TOPICS)})")
        out.append((topic, _weight(weight, file, f"{where} topic {topic}")))
    return tuple(out)


def _read_yaml(directory: Path, name: str) -> dict[str, Any]:
    path = directory / name
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise LexiconError(f"{name}: cannot read {path}: {exc}") from exc
    try:
        data = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.YAMLError as exc:
        raise LexiconError(f"{name}: not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise LexiconError(f"{name}: top level must be a mapping")
    return data


def _validate_scoring(data: dict[str, Any]) -> dict[str, Any]:
    file = "scoring.yaml"
    for key, kind in SCORING_KEYS.items():
        if key not in data:
            raise _fail(file, key, "missing")
        value = data[key]
        if kind is float:
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
                raise _fail(file, key, f"must be a non-negative number, got {value!r}")
        elif kind is int:
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise _fail(file, key, f"must be a positive integer, got {value!r}")
        elif kind is list:
            if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
                raise _fail(file, key, "must be a list of strings")
        elif not isinstance(value, dict):
            raise _fail(file, key, "must be a mapping")
    for name in ("title", "summary", "link"):
        _weight(data["field_factor"].get(name), file, f"field_factor.{name}")
    for key in (
        "threshold",
        "zh_china_prior",
        "peripheral_max_penalty",
        "core_joint",
        "topic_threshold",
        "summary_tail_factor",
        "untitled_factor",
        "channel_factor",
        "strong_ai_weight",
        "core_ai_weight",
    ):
        _weight(data[key], file, key)
    return data


def _kinds(data: dict[str, Any]) -> dict[str, Kind]:
    file = "entities.yaml"
    raw = data.get("kinds")
    if not isinstance(raw, dict) or not raw:
        raise _fail(file, "kinds", "must be a non-empty mapping")
    kinds = {}
    for name, spec in raw.items():
        if not isinstance(spec, dict) or not isinstance(spec.get("label"), str):
            raise _fail(file, f"kind {name}", "needs a label")
        unknown = set(spec) - {"label", "china", "ai", "joint", "foreign", "peripheral", "topics"}
        if unknown:
            raise _fail(file, f"kind {name}", f"unknown fields {sorted(unknown)}")
        kinds[name] = Kind(
            name=name,
            label=spec["label"],
            china=_weight(spec.get("china"), file, f"kind {name}.china"),
            ai=_weight(spec.get("ai"), file, f"kind {name}.ai"),
            joint=_weight(spec.get("joint"), file, f"kind {name}.joint"),
            foreign=bool(spec.get("foreign", False)),
            peripheral=_weight(spec.get("peripheral", 0.0), file, f"kind {name}.peripheral"),
            topics=_topic_weights(spec.get("topics"), file, f"kind {name}"),
        )
    return kinds


def as_bytes(text: str) -> str:
    """UTF-8 bytes of ``text`` as a Latin-1 string (identity for ASCII)."""
    return text if text.isascii() else text.encode("utf-8", "surrogatepass").decode("latin-1")


class _Builder:
    def __init__(self) -> None:
        self.patterns: dict[tuple[int, bool, str], list[Clue]] = {}

    def add(self, term: str, clue: Clue, layer: int, case_sensitive: bool, file: str, where: str) -> None:
        folded, _ = fold(term, traditional=True)
        if not case_sensitive:
            folded = folded.lower()
        if not folded:
            raise _fail(file, where, f"term {term!r} is empty once folded")
        # One clue per folded term ("晶片" and "芯片" are the same word); policy and company
        # words only raise one flag, so they share one clue key.
        if clue.entity is not None:
            key = clue.key
        elif clue.role in ("policy", "company"):
            key = "business"
        else:
            key = f"{clue.role}:{clue.topic or clue.signal or ''}:{folded}"
        clue = replace(clue, key=key, ascii=folded.isascii(), context=_is_context(clue))
        clues = self.patterns.setdefault((layer, case_sensitive, folded), [])
        if not any(c.key == clue.key and c.role == clue.role for c in clues):
            clues.append(clue)

    def automata(self, layer: int) -> Automata:
        """The layer's automata. An ASCII case-sensitive pattern ("AI", "CAC") joins the
        case-insensitive automaton under its lower-case spelling and is checked against the
        original text on a hit: a second scan of every article for a few dozen acronyms
        cost about as much as the main scan."""
        ascii_, everything, cased = ahocorasick.Automaton(), ahocorasick.Automaton(), ahocorasick.Automaton()
        merged: dict[str, tuple[list[Clue], list[tuple[str, tuple[Clue, ...]]]]] = {}
        for (pattern_layer, case_sensitive, text), clues in self.patterns.items():
            if pattern_layer != layer:
                continue
            if not case_sensitive:
                merged.setdefault(text, ([], []))[0].extend(clues)
            elif text.isascii():
                merged.setdefault(text.lower(), ([], []))[1].append((text, tuple(clues)))
            else:
                cased.add_word(as_bytes(text), _pattern(text, tuple(clues)))
        for text, (clues, forms) in merged.items():
            pattern = _pattern(text, tuple(clues), tuple(forms))
            everything.add_word(as_bytes(text), pattern)
            if text.isascii():
                ascii_.add_word(text, pattern)
        for automaton in (ascii_, everything, cased):
            if len(automaton):
                automaton.make_automaton()
        return Automata(ascii=ascii_, everything=everything, cased=cased)


def _pattern(text: str, clues: tuple[Clue, ...], forms: tuple[tuple[str, tuple[Clue, ...]], ...] = ()) -> Pattern:
    return Pattern(
        length=len(as_bytes(text)),
        left_boundary=_is_word_char(text[0]),
        right_boundary=_is_word_char(text[-1]),
        ends_with_digit=text[-1].isdigit(),
        clues=clues,
        cased_forms=forms,
    )


def _is_context(clue: Clue) -> bool:
    """Whether a clue lets a nearby contextual alias count: AI talk, an AI-related entity, company news."""
    if clue.entity is not None:
        return not clue.contextual and not clue.weak and clue.entity.kind.ai > 0
    return clue.role == "company" or (clue.role == "ai" and clue.weight >= 0.5)


def _is_word_char(char: str) -> bool:
    return char.isascii() and char.isalnum()


_HOST = re.compile(r"^(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+[a-z0-9-]{2,}$")
_ACCOUNT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


class _Channels(NamedTuple):
    hosts: dict[str, Entity]
    accounts: dict[str, Entity]


def _add_channels(channels: _Channels, spec: dict[str, Any], entity: Entity, file: str, where: str) -> None:
    """A lab's own hosts ("kimi.com": any subdomain too) and its org handles on model/code hubs."""
    for field_name, table, pattern, what in (
        ("hosts", channels.hosts, _HOST, "a bare host name such as kimi.com"),
        ("accounts", channels.accounts, _ACCOUNT, "an org handle such as MiniMaxAI"),
    ):
        if field_name not in spec:
            continue
        for value in _terms(spec[field_name], file, f"{where} {field_name}"):
            key = value.lower()
            if not pattern.match(value if field_name == "accounts" else key):
                raise _fail(file, f"{where} {field_name}", f"{value!r} is not {what}")
            owner = table.get(key)
            if owner is not None and owner.name != entity.name:
                raise _fail(file, f"{where} {field_name}", f"{value!r} already belongs to {owner.name!r}")
            table[key] = entity


def _add_entities(builder: _Builder, data: dict[str, Any], channels: _Channels) -> dict[str, Entity]:
    file = "entities.yaml"
    kinds = _kinds(data)
    raw = data.get("entities")
    if not isinstance(raw, list) or not raw:
        raise _fail(file, "entities", "must be a non-empty list")
    entities: dict[str, Entity] = {}
    for index, spec in enumerate(raw):
        where = f"entity #{index + 1}"
        if not isinstance(spec, dict) or not isinstance(spec.get("name"), str) or not spec["name"].strip():
            raise _fail(file, where, "needs a name")
        name = spec["name"]
        where = f"entity {name!r}"
        unknown = set(spec) - {
            "name",
            "kind",
            "aliases",
            "weak",
            "versioned",
            "contextual",
            "case_sensitive",
            "topics",
            "hosts",
            "accounts",
        }
        if unknown:
            raise _fail(file, where, f"unknown fields {sorted(unknown)}")
        if name in entities:
            raise _fail(file, where, "duplicate name")
        kind = kinds.get(str(spec.get("kind")))
        if kind is None:
            raise _fail(file, where, f"unknown kind {spec.get('kind')!r}")
        own = _topic_weights(spec.get("topics"), file, where)
        inherited = tuple((t, w) for t, w in kind.topics if t not in {topic for topic, _ in own})
        entity = Entity(name=name, kind=kind, topics=own + inherited)
        entities[name] = entity
        if not any(spec.get(k) for k in ("aliases", "weak", "versioned", "contextual", "case_sensitive")):
            raise _fail(file, where, "needs at least one alias")
        _add_channels(channels, spec, entity, file, where)
        lists = (
            ("aliases", False, False, False, False),
            ("weak", True, False, False, False),
            ("versioned", True, True, False, False),
            ("contextual", False, False, True, False),
            ("case_sensitive", False, False, False, True),
        )
        for list_name, weak, needs_version, contextual, case_sensitive in lists:
            if list_name not in spec:
                continue
            for alias in _terms(spec[list_name], file, f"{where} {list_name}"):
                clue = Clue(
                    key=f"entity:{name}",
                    label=alias,
                    role="entity",
                    entity=entity,
                    weak=weak,
                    needs_version=needs_version,
                    contextual=contextual,
                )
                builder.add(alias, clue, CONTEXT, case_sensitive, file, where)
    return entities


def _add_groups(
    builder: _Builder, groups: Any, file: str, where: str, role: str, layer: int, topic: str | None = None
) -> None:
    if not isinstance(groups, list) or not groups:
        raise _fail(file, where, "must be a non-empty list of groups")
    for index, group in enumerate(groups):
        gwhere = f"{where} group #{index + 1}"
        if not isinstance(group, dict):
            raise _fail(file, gwhere, "must be a mapping with w and terms")
        unknown = set(group) - {"w", "terms", "case_sensitive", "topics"}
        if unknown:
            raise _fail(file, gwhere, f"unknown fields {sorted(unknown)}")
        weight = _weight(group.get("w"), file, gwhere)
        if group.get("topics"):
            raise _fail(file, gwhere, "term groups carry no topics; use topics.yaml")
        for term in _terms(group.get("terms"), file, gwhere):
            key = f"topic:{topic}:{term}" if topic else f"{role}:{term}"
            clue = Clue(key=key, label=term, role=role, weight=weight, topic=topic)
            builder.add(term, clue, layer, bool(group.get("case_sensitive", False)), file, gwhere)


def _triage_kinds(raw: Any, where: str, signals: set[str]) -> tuple[TriageKind, ...]:
    file = "priority.yaml"
    if not isinstance(raw, list) or not raw:
        raise _fail(file, where, "must be a non-empty list of kinds")
    kinds = []
    for index, spec in enumerate(raw):
        kwhere = f"{where} #{index + 1}"
        if (
            not isinstance(spec, dict)
            or not isinstance(spec.get("kind"), str)
            or not isinstance(spec.get("label"), str)
        ):
            raise _fail(file, kwhere, "needs a kind and a label")
        unknown = set(spec) - {"kind", "label", "all", "in_title", "none", "topic"}
        if unknown:
            raise _fail(file, kwhere, f"unknown fields {sorted(unknown)}")
        groups = spec.get("all")
        if not isinstance(groups, list) or not groups or not all(isinstance(g, list) and g for g in groups):
            raise _fail(file, kwhere, "all must be a non-empty list of non-empty signal lists")
        names = [n for g in groups for n in g] + list(spec.get("none") or [])
        missing = [n for n in names if n not in signals]
        if missing:
            raise _fail(file, kwhere, f"unknown signals {missing} (known: {', '.join(sorted(signals))})")
        in_title = spec.get("in_title") or []
        if not isinstance(in_title, list) or any(not isinstance(i, int) or not 0 <= i < len(groups) for i in in_title):
            raise _fail(file, kwhere, f"in_title must list group indexes 0..{len(groups) - 1}")
        topic = spec.get("topic")
        if topic is not None and topic not in TOPICS:
            raise _fail(file, kwhere, f"unknown topic {topic!r} (known: {', '.join(TOPICS)})")
        kinds.append(
            TriageKind(
                spec["kind"],
                spec["label"],
                tuple(tuple(g) for g in groups),
                frozenset(in_title),
                tuple(spec.get("none") or ()),
                topic,
            )
        )
    return tuple(kinds)


def _add_triage(
    builder: _Builder, data: dict[str, Any], entities: dict[str, Entity], kinds: dict[str, Kind]
) -> TriageRules:
    """Signals, event kinds and low-value kinds of priority.yaml (the triage layer)."""
    file = "priority.yaml"
    unknown = set(data) - {"min_usd", "cny_to_usd", "signals", "entity_signals", "events", "low_value", "signal_topics"}
    if unknown:
        raise _fail(file, "top level", f"unknown sections {sorted(unknown)}")
    for key in ("min_usd", "cny_to_usd"):
        value = data.get(key)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
            raise _fail(file, key, f"must be a positive number, got {value!r}")
    raw_signals = data.get("signals")
    if not isinstance(raw_signals, dict) or not raw_signals:
        raise _fail(file, "signals", "must be a mapping of signal name to terms")
    for name, terms in raw_signals.items():
        if name in BUILTIN_SIGNALS:
            raise _fail(file, f"signals.{name}", "is computed by the engine; it takes no word list")
        if isinstance(terms, dict):  # {terms: [...], case_sensitive: [...]}
            if set(terms) - {"terms", "case_sensitive"}:
                raise _fail(file, f"signals.{name}", "takes a list of terms, or terms and case_sensitive")
            lists = [(terms.get("terms") or [], False), (terms.get("case_sensitive") or [], True)]
        else:
            lists = [(terms, False)]
        for values, case_sensitive in lists:
            for term in _terms(values, file, f"signals.{name}"):
                clue = Clue(key=f"signal:{name}:{term}", label=term, role="signal", signal=name)
                builder.add(term, clue, TRIAGE, case_sensitive, file, f"signals.{name}")
    by_entity: dict[str, list[str]] = {}
    raw_entity_signals = data.get("entity_signals") or {}
    if not isinstance(raw_entity_signals, dict):
        raise _fail(file, "entity_signals", "must be a mapping")
    for name, spec in raw_entity_signals.items():
        where = f"entity_signals.{name}"
        if not isinstance(spec, dict) or set(spec) - {"kinds", "except"} or not isinstance(spec.get("kinds"), list):
            raise _fail(file, where, "must be a mapping with kinds (and optional except)")
        bad = [k for k in spec["kinds"] if k not in kinds]
        if bad:
            raise _fail(file, where, f"unknown entity kinds {bad}")
        excluded = list(spec.get("except") or [])
        bad = [e for e in excluded if e not in entities]
        if bad:
            raise _fail(file, where, f"unknown entities {bad}")
        for entity in entities.values():
            if entity.kind.name in spec["kinds"] and entity.name not in excluded:
                by_entity.setdefault(entity.name, []).append(name)
    signals = set(raw_signals) | set(raw_entity_signals) | set(BUILTIN_SIGNALS)
    signal_topics = []
    for index, spec in enumerate(data.get("signal_topics") or []):
        where = f"signal_topics #{index + 1}"
        if not isinstance(spec, dict) or set(spec) != {"all", "topic", "w"}:
            raise _fail(file, where, "needs exactly all, topic and w")
        (kind,) = _triage_kinds(
            [
                {
                    "kind": "signal_topic",
                    "label": spec["topic"],
                    "all": spec["all"],
                    "in_title": list(range(len(spec["all"]))) if isinstance(spec["all"], list) else [],
                    "topic": spec["topic"],
                }
            ],
            where,
            signals,
        )
        signal_topics.append((kind, _weight(spec["w"], file, where)))
    return TriageRules(
        signal_topics=tuple(signal_topics),
        automata=builder.automata(TRIAGE),
        events=_triage_kinds(data.get("events"), "events", signals),
        low_value=_triage_kinds(data.get("low_value"), "low_value", signals),
        entity_signals={name: tuple(values) for name, values in by_entity.items()},
        min_usd=float(data["min_usd"]),
        cny_to_usd=float(data["cny_to_usd"]),
    )


def load_lexicon(directory: Path = LEXICON_DIR) -> Lexicon:
    """Read, validate and compile the lexicon in ``directory``."""
    raw = {name: _read_yaml(directory, name) for name in LEXICON_FILES}
    digest = hashlib.sha256(ENGINE_REVISION.encode())
    for name in LEXICON_FILES:
        digest.update(name.encode())
        digest.update((directory / name).read_bytes())
    scoring = _validate_scoring(raw["scoring.yaml"])
    builder = _Builder()
    channels = _Channels({}, {})
    entities = _add_entities(builder, raw["entities.yaml"], channels)

    terms = raw["terms.yaml"]
    unknown = set(terms) - set(TERM_ROLES)
    if unknown:
        raise _fail("terms.yaml", "top level", f"unknown sections {sorted(unknown)} (known: {', '.join(TERM_ROLES)})")
    for role in TERM_ROLES:
        if role not in terms:
            raise _fail("terms.yaml", role, "missing section")
        _add_groups(builder, terms[role], "terms.yaml", role, role, CONTEXT)

    topics = raw["topics.yaml"].get("topics")
    if not isinstance(topics, dict) or set(topics) != set(TOPICS):
        got = sorted(topics) if isinstance(topics, dict) else topics
        raise _fail("topics.yaml", "topics", f"must define exactly the taxonomy {list(TOPICS)}, got {got}")
    descriptions = {}
    for topic, spec in topics.items():
        if not isinstance(spec, dict) or not isinstance(spec.get("description"), str):
            raise _fail("topics.yaml", topic, "needs a description and groups")
        descriptions[topic] = spec["description"]
        _add_groups(builder, spec.get("groups"), "topics.yaml", topic, "topic", TOPIC, topic=topic)

    triage = _add_triage(builder, raw["priority.yaml"], entities, _kinds(raw["entities.yaml"]))
    return Lexicon(
        triage=triage,
        scoring=scoring,
        entities=entities,
        context=builder.automata(CONTEXT),
        topics=builder.automata(TOPIC),
        digest=digest.hexdigest()[:8],
        pattern_count=len(builder.patterns),
        publisher_hosts=frozenset(h.lower() for h in scoring["publisher_hosts"]),
        topic_descriptions=descriptions,
        hosts=channels.hosts,
        accounts=channels.accounts,
        account_hosts=frozenset(h.lower() for h in scoring["account_hosts"]),
    )


_default_lock = threading.Lock()


@lru_cache(maxsize=1)
def _default_lexicon() -> Lexicon:
    return load_lexicon(LEXICON_DIR)


def default_lexicon() -> Lexicon:
    """The bundled lexicon, compiled once per process (about a second of CPU): the fetch threads of a
    poll that ask for it at once wait for the one load instead of each compiling their own."""
    with _default_lock:
        return _default_lexicon()
