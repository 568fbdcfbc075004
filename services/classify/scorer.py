"""Lexicon scoring: find entities and terms in title, summary and link, weigh them.

Evidence of three kinds is combined like independent clues (noisy-OR, see
``config/lexicon/scoring.yaml``): *ai* (the story is about AI/LLMs/AI compute),
*china* (it is tied to the PRC) and *joint* (entities that are both at once, such as
DeepSeek or the generative-AI measures). The beat is the conjunction:
``score = 1 - (1 - joint)(1 - ai·china)``, lowered for peripheral subjects.
"""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from urllib.parse import unquote

from services.classify.lexicon import Automata, Clue, Lexicon, as_bytes, default_lexicon
from services.classify.normalise import FIELD_SEPARATOR, fold, lower_same_length

logger = logging.getLogger(__name__)

FIELDS = ("title", "summary", "link")
_WORD = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
_LETTERS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
_SUFFIXES = ("s", "es", "ed", "d", "ing")
_LINK_WORDS = re.compile(r"[^0-9A-Za-z\u3400-\u9fff]+")
_LINK_AI = re.compile(r"(?<![0-9A-Za-z])ai(?![0-9A-Za-z])")
_HANT_HINTS = ("zh-hant", "zh-tw", "zh-hk", "zh-mo")
_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://([^/?#\s]*)([^?#\s]*)")
_HOST_NOISE = frozenset({"www", "m", "com", "net", "org", "cn", "co", "io", "html", "htm", "php", "news", "blog", "en"})
_VERSION = re.compile(r" ?(?:v|k|r|x|m)?\d", re.IGNORECASE)


@dataclass(frozen=True)
class Verdict:
    relevant: bool
    score: float
    topics: list[str]
    entities: list[str]
    reasons: list[str]


@dataclass(slots=True)
class _Found:
    clue: Clue
    factor: float
    field: int
    count: int
    first: int
    versioned: bool = False  # a weak alias followed by a version number ("Kimi K3", "MiMo-V2")


def _as_text(value: object) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else str(value)


def link_words(link: str, ignore_hosts: frozenset[str] = frozenset()) -> str:
    """The words of a link's host and path.

    "https://platform.moonshot.ai/blog/china-ai-rules.html" → "platform moonshot AI blog china AI rules".
    """
    match = _URL.match(link[:2000]) if link else None
    if match is None:
        return ""
    host = match.group(1).rpartition("@")[2].partition(":")[0].lower()
    labels = [label for label in host.split(".") if label not in _HOST_NOISE and label not in ignore_hosts]
    path = match.group(2)
    if "%" in path:
        path = unquote(path)
    words = _LINK_WORDS.sub(" ", " ".join(labels) + " " + path).strip()
    return _LINK_AI.sub("AI", words)[:300]


def _right_edge_ok(text: str, index: int, ends_with_digit: bool) -> bool:
    if index >= len(text):
        return True
    char = text[index]
    if ends_with_digit:
        return char not in _WORD
    if char not in _LETTERS:
        return True
    for suffix in _SUFFIXES:
        after = index + len(suffix)
        if text.startswith(suffix, index) and (after >= len(text) or text[after] not in _LETTERS):
            return True
    return False


def _matches(automata: Automata, cased: str, lowered: str, chinese: bool) -> list[tuple[int, int, int, tuple[Clue, ...]]]:
    """Matches that respect word boundaries, as (start, -end, n, clues) in byte offsets, sorted
    so that at each start the longest match comes first."""
    found: list[tuple[int, int, int, tuple[Clue, ...]]] = []
    append = found.append
    runs = [(automata.everything if chinese else automata.ascii, lowered), (automata.cased, cased)]
    word = _WORD
    n = 0
    for automaton, text in runs:
        if not len(automaton):
            continue
        size = len(text)
        for end, (length, left, right, ends_with_digit, clues) in automaton.iter(text):
            start = end - length + 1
            if left and start and text[start - 1] in word:
                continue
            end += 1
            if right and end < size and text[end] in word and not _right_edge_ok(text, end, ends_with_digit):
                continue
            append((start, -end, n, clues))
            n += 1
    found.sort()
    return found


def _collect(
    hits: list[tuple[int, int, int, tuple[Clue, ...]]], text: str, bounds: tuple[int, int, int], factors: tuple[float, ...]
) -> dict[str, _Found]:
    """Distinct clues of the outermost matches, with their best field factor.

    A match inside a longer one is dropped ("北京" inside "北京时间"). ``bounds``: byte
    offsets of the end of the title, of the lede and of the summary.
    """
    found: dict[str, _Found] = {}
    title_end, lede_end, summary_end = bounds
    reach, last_start, last_end = -1, -1, -1
    for start, negative_end, _, clues in hits:
        end = -negative_end
        if end <= reach and (start != last_start or end != last_end):
            continue
        last_start, last_end = start, end
        if end > reach:
            reach = end
        field = 0 if start < title_end else (1 if start < summary_end else 2)
        factor = factors[3] if field == 1 and start >= lede_end else factors[field]
        for clue in clues:
            versioned = clue.weak and _VERSION.match(text, end) is not None
            seen = found.get(clue.key)
            if seen is None:
                found[clue.key] = _Found(clue, factor, field, 1, start, versioned)
                continue
            seen.count += 1
            seen.versioned = seen.versioned or versioned
            better = factor > seen.factor
            if (seen.clue.weak and not clue.weak) or (better and clue.weak == seen.clue.weak):
                seen.clue = clue
            if better:
                seen.factor, seen.field = factor, field
    return found


@dataclass(slots=True)
class _Text:
    """An article folded for matching: one string of title, summary and link words."""

    cased: str  # UTF-8 bytes as Latin-1 (see lexicon.as_bytes)
    lowered: str
    bounds: tuple[int, int, int]  # byte offsets: end of title, end of lede, end of summary
    is_zh: bool
    is_hant: bool
    has_cjk: bool


def _prepare(lexicon: Lexicon, title: str, summary: str, lang: str, link: str) -> _Text:
    scoring = lexicon.scoring
    if FIELD_SEPARATOR in title or FIELD_SEPARATOR in summary:
        title, summary = title.replace(FIELD_SEPARATOR, " "), summary.replace(FIELD_SEPARATOR, " ")
    folded, hant = fold(f"{title}{FIELD_SEPARATOR}{summary}")  # one pass over both fields
    folded_title, _, folded_summary = folded.partition(FIELD_SEPARATOR)
    folded_title, folded_summary = folded_title.rstrip(), folded_summary.lstrip()
    joined = "\n".join((folded_title, folded_summary, link_words(link, lexicon.publisher_hosts)))
    cased, lowered = as_bytes(joined), as_bytes(lower_same_length(joined))
    if len(cased) != len(lowered):  # a letter whose lower case has another UTF-8 length
        lowered = as_bytes("".join(c.lower() if len(as_bytes(c.lower())) == len(as_bytes(c)) else c for c in joined))
    title_end = len(as_bytes(folded_title))
    summary_end = title_end + 1 + len(as_bytes(folded_summary))
    lede_end = title_end + 1 + len(as_bytes(folded_summary[: scoring["lede_chars"]]))
    prose_chars = len(folded_title) + 1 + len(folded_summary)
    cjk = (summary_end - prose_chars) // 2  # Chinese characters take 3 bytes in UTF-8, ASCII one
    is_zh = cjk > 0 and cjk * 3 >= prose_chars - cjk
    is_hant = is_zh and (hant or lang.startswith(_HANT_HINTS))
    return _Text(cased, lowered, (title_end, lede_end, summary_end), is_zh, is_hant, cjk > 0)


_TEMPLATES = {
    "ai": 'AI term "{}" in {}',
    "china": 'China term "{}" in {}',
    "domestic": 'China term "{}" in {}',
    "taiwan": 'Taiwan term "{}" in {} (Taiwan story: peripheral)',
    "peripheral": 'peripheral subject "{}" in {}',
    "foreign": 'non-Chinese context "{}" in {}',
}


@dataclass(slots=True)
class _Evidence:
    """Noisy-OR accumulators (the probability that no clue of the kind holds) and what was seen."""

    no: dict[str, float]
    foreign: bool = False  # non-Chinese players or places in the title or lede
    titled: bool = False  # the title or link holds AI, China or entity evidence
    china_title: bool = False  # a China term or Chinese entity in the title
    foreign_place_title: bool = False  # a non-Chinese country, city or institution in the title
    entities: list[tuple[int, str]] | None = None
    topics: dict[str, float] | None = None
    reasons: list[tuple[float, int, str, tuple[str, ...]]] | None = None

    def add(self, kind: str, weight: float) -> None:
        self.no[kind] *= 1 - weight

    def strength(self, kind: str) -> float:
        return 1 - self.no[kind]


def _weigh(found: dict[str, _Found], text: _Text, scoring: dict) -> _Evidence:
    field_factor = scoring["field_factor"]
    summary_factor, title_factor, bonus = field_factor["summary"], field_factor["title"], scoring["repeat_bonus"]
    evidence = _Evidence(no=dict.fromkeys(("ai", "china", "joint", "taiwan", "peripheral"), 1.0), entities=[], topics={}, reasons=[])
    reasons = evidence.reasons
    # Weak aliases ("Kimi", "Ernie", "Ascend") count next to AI talk or a China tie.
    anchored = any(
        not f.clue.weak
        and (
            (f.clue.role == "ai" and f.clue.weight >= 0.5)
            or (f.clue.entity is not None and (f.clue.entity.kind.ai >= 0.5 or f.clue.entity.kind.china >= 0.8))
        )
        for f in found.values()
    )
    domestic: list[tuple[_Found, float]] = []
    for item in found.values():  # in order of first appearance (hits are sorted by start)
        clue = item.clue
        if clue.weak and not (anchored or item.versioned or (text.is_zh and clue.ascii)):
            continue
        factor = min(title_factor, item.factor + bonus * (item.count - 1))
        where = FIELDS[item.field]
        if item.field != 1 and (clue.entity is not None or clue.role in ("ai", "china", "domestic")):
            evidence.titled = True
        if item.field == 0 and (clue.role == "china" or (clue.entity is not None and clue.entity.kind.china >= 0.8)):
            evidence.china_title = True
        if clue.entity is not None:
            kind = clue.entity.kind
            evidence.add("ai", kind.ai * factor)
            evidence.add("china", kind.china * factor)
            evidence.add("joint", kind.joint * factor)
            evidence.add("peripheral", kind.peripheral * factor)
            if kind.foreign:
                evidence.foreign = evidence.foreign or item.factor >= summary_factor
            evidence.entities.append((item.first, clue.entity.name))
            for topic, weight in clue.entity.topics:
                evidence.topics[topic] = evidence.topics.get(topic, 1.0) * (1 - weight * factor)
            strength = max(kind.joint, kind.ai * kind.china, kind.china, kind.ai, 0.05) * factor
            name = clue.entity.name if clue.label == clue.entity.name else f"{clue.entity.name}: {clue.label}"
            reasons.append((strength, item.first, 'entity "{}" ({}) in {}', (name, kind.label, where)))
        elif clue.role == "domestic":
            domestic.append((item, factor))
        elif clue.role == "foreign":
            evidence.foreign = evidence.foreign or item.factor >= summary_factor
            evidence.foreign_place_title = evidence.foreign_place_title or item.field == 0
            reasons.append((0.01, item.first, _TEMPLATES["foreign"], (clue.label, where)))
        elif clue.role in evidence.no:
            evidence.add(clue.role, clue.weight * factor)
            reasons.append((clue.weight * factor, item.first, _TEMPLATES[clue.role], (clue.label, where)))

    # "Domestic" words (国内, 我国) and the prior of Chinese-language text speak of the
    # mainland only in Simplified text that is not about Taiwan, nor about another country.
    mainland = not text.is_hant and evidence.strength("taiwan") == 0
    if mainland and (evidence.china_title or not evidence.foreign_place_title):
        for item, factor in domestic:
            evidence.add("china", item.clue.weight * factor)
            reasons.append((item.clue.weight * factor, item.first, _TEMPLATES["domestic"], (item.clue.label, FIELDS[item.field])))
    if text.is_zh and mainland and not evidence.foreign and scoring["zh_china_prior"] > 0:
        evidence.add("china", scoring["zh_china_prior"])
        reasons.append((scoring["zh_china_prior"], 10**9, "Chinese-language text, no foreign focus (weak China link)", ()))
    return evidence


def _score(evidence: _Evidence, scoring: dict) -> float:
    ai, china, joint = evidence.strength("ai"), evidence.strength("china"), evidence.strength("joint")
    peripheral = 1 - evidence.no["peripheral"] * (1 - 0.5 * evidence.strength("taiwan"))
    score = 1 - (1 - joint) * (1 - ai * china)
    if peripheral > 0 and joint < scoring["core_joint"]:
        score *= 1 - scoring["peripheral_max_penalty"] * peripheral
    if not evidence.titled:
        score *= scoring["untitled_factor"]
    return round(min(1.0, max(0.0, score)), 4)


def _topics(lexicon: Lexicon, text: _Text, evidence: _Evidence, factors: tuple[float, ...], relevant: bool) -> list[str]:
    scoring = lexicon.scoring
    no = dict(evidence.topics or {})
    for item in _collect(_matches(lexicon.topics, text.cased, text.lowered, text.has_cjk), text.lowered, text.bounds, factors).values():
        factor = min(factors[0], item.factor + scoring["repeat_bonus"] * (item.count - 1))
        topic = item.clue.topic or ""
        no[topic] = no.get(topic, 1.0) * (1 - item.clue.weight * factor)
    ranked = sorted(((1 - v, t) for t, v in no.items()), key=lambda p: (-p[0], p[1]))
    topics = [t for s, t in ranked if s >= scoring["topic_threshold"]][: scoring["max_topics"]]
    if not topics and relevant and ranked and ranked[0][0] >= scoring["topic_fallback_threshold"]:
        topics = [ranked[0][1]]
    return topics


def _explain(evidence: _Evidence, relevant: bool, limit: int) -> list[str]:
    reasons = sorted(evidence.reasons or [], key=lambda r: (-r[0], r[1]))[:limit]
    texts = [template.format(*args) for _, _, template, args in reasons]
    if not relevant:
        ai, china, joint = evidence.strength("ai"), evidence.strength("china"), evidence.strength("joint")
        if max(china, joint) < 0.5:
            texts.insert(0, "no China link found" if china == 0 and joint == 0 else "weak China link")
        if max(ai, joint) < 0.5:
            texts.insert(0, "no AI term found" if ai == 0 and joint == 0 else "weak AI link")
    return texts


def lexicon_verdict(
    title: str, summary: str = "", lang: str | None = None, link: str | None = None, lexicon: Lexicon | None = None
) -> Verdict:
    """The lexicon's verdict on one article (no learned layer)."""
    lexicon = lexicon or default_lexicon()
    scoring = lexicon.scoring
    text = _prepare(
        lexicon,
        _as_text(title)[: scoring["max_title_chars"]],
        _as_text(summary)[: scoring["max_summary_chars"]],
        _as_text(lang).strip().lower(),
        _as_text(link),
    )
    field_factor = scoring["field_factor"]
    factors = (field_factor["title"], field_factor["summary"], field_factor["link"], scoring["summary_tail_factor"])
    found = _collect(_matches(lexicon.context, text.cased, text.lowered, text.has_cjk), text.lowered, text.bounds, factors)
    if not found and not text.is_zh:
        return Verdict(relevant=False, score=0.0, topics=[], entities=[], reasons=["no AI term found", "no China link found"])
    evidence = _weigh(found, text, scoring)
    score = _score(evidence, scoring)
    relevant = score >= scoring["threshold"]
    topics = _topics(lexicon, text, evidence, factors, relevant) if score >= scoring["topic_min_score"] else []
    entities = list(dict.fromkeys(name for _, name in evidence.entities or []))
    return Verdict(relevant=relevant, score=score, topics=topics, entities=entities, reasons=_explain(evidence, relevant, scoring["max_reasons"]))
