"""Lexicon scoring: find entities and terms in title, summary and link, weigh them.

Evidence of three kinds is combined like independent clues (noisy-OR, see
``config/lexicon/scoring.yaml``): *ai* (the story is about AI/LLMs/AI compute),
*china* (it is tied to the PRC) and *joint* (entities that are both at once, such as
DeepSeek or the generative-AI measures). The beat is the conjunction:
``score = 1 - (1 - joint)(1 - ai·china)``, lowered for peripheral subjects.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import unquote

from services.classify.article import ArticleText
from services.classify.calibration import calibrated
from services.classify.lexicon import Automata, Clue, Entity, Lexicon, as_bytes, default_lexicon
from services.classify.normalise import FIELD_SEPARATOR, fold, lower_same_length
from services.classify.priority import Priority
from services.classify.triage import Decision, Signals, add_signal, builtin_signals, decide, fires, money_signal

FIELDS = ("title", "summary", "link")
_WORD = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
_LETTERS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
_SUFFIXES = ("s", "es", "ed", "d", "ing")
_LINK_WORDS = re.compile(r"[^0-9A-Za-z\u3400-\u9fff]+")
_LINK_AI = re.compile(r"(?<![0-9A-Za-z])ai(?![0-9A-Za-z])")
_HANT_HINTS = ("zh-hant", "zh-tw", "zh-hk", "zh-mo")
_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://([^/?#\s]*)([^?#\s]*)")
_HOST_NOISE = frozenset({"www", "m", "com", "net", "org", "cn", "co", "io", "html", "htm", "php", "news", "blog", "en"})
_HUB_SECTIONS = frozenset({"models", "datasets", "spaces", "organization", "orgs", "collections"})
_VERSION = re.compile(r" ?(?:v|k|r|x|m)?\d", re.IGNORECASE)


@dataclass(frozen=True)
class Verdict:
    """Relevance of an article: score in 0..1, topic ids from the taxonomy, canonical entity
    names in order of appearance, the full evidence list (``reasons``, strongest first),
    the triage ``priority`` ("high", "normal", "low"; None when not relevant) and
    ``reader_reasons``: at most three short English sentences for readers, decisive
    evidence first."""

    relevant: bool
    score: float
    topics: list[str]
    entities: list[str]
    reasons: list[str]
    priority: str | None = None
    reader_reasons: list[str] = field(default_factory=list)


@dataclass(slots=True)
class _Found:
    clue: Clue
    factor: float
    part: int  # index into FIELDS: where the best mention was found
    count: int
    first: int
    versioned: bool = False  # a weak alias followed by a version number ("Kimi K3", "MiMo-V2")
    channel: bool = False  # the link is the entity's own site or hub account


def _as_text(value: object) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else str(value)


def _split_link(link: str) -> tuple[str, str] | None:
    """(lower-case host, path) of an absolute URL."""
    match = _URL.match(link[:2000]) if link else None
    if match is None:
        return None
    return match.group(1).rpartition("@")[2].partition(":")[0].lower().rstrip("."), match.group(2)


def _words_of_link(host: str, path: str, ignore_hosts: frozenset[str]) -> str:
    labels = [label for label in host.split(".") if label not in _HOST_NOISE and label not in ignore_hosts]
    if "%" in path:
        path = unquote(path)
    words = _LINK_WORDS.sub(" ", " ".join(labels) + " " + path).strip()
    return _LINK_AI.sub("AI", words)[:300]


def link_words(link: str, ignore_hosts: frozenset[str] = frozenset()) -> str:
    """The words of a link's host and path.

    "https://platform.moonshot.ai/blog/china-ai-rules.html" → "platform moonshot AI blog china AI rules".
    """
    parts = _split_link(link)
    return _words_of_link(*parts, ignore_hosts) if parts is not None else ""


def _channel(lexicon: Lexicon, host: str, path: str) -> tuple[Entity, str] | None:
    """The lab whose own site ("api-docs.deepseek.com") or hub account ("huggingface.co/MiniMaxAI/…")
    published the item, with the host or handle that says so."""
    if host.startswith("www."):
        host = host[4:]
    dot = -1
    while True:  # the host and each parent domain: "platform.minimax.io", "minimax.io"
        entity = lexicon.hosts.get(host[dot + 1 :])
        if entity is not None:
            return entity, host[dot + 1 :]
        dot = host.find(".", dot + 1)
        if dot < 0:
            break
    if host in lexicon.account_hosts:
        account, _, rest = path.lstrip("/").partition("/")
        if account in _HUB_SECTIONS:  # "modelscope.cn/models/Qwen/…", "huggingface.co/spaces/Qwen/…"
            account = rest.partition("/")[0]
        entity = lexicon.accounts.get(account.lower())
        if entity is not None:
            return entity, f"{host}/{account}"
    return None


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


def _matches(
    automata: Automata, cased: str, lowered: str, chinese: bool
) -> list[tuple[int, int, int, tuple[Clue, ...]]]:
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
        for end, (length, left, right, ends_with_digit, clues, forms) in automaton.iter(text):
            start = end - length + 1
            if left and start and text[start - 1] in word:
                continue
            end += 1
            if right and end < size and text[end] in word and not _right_edge_ok(text, end, ends_with_digit):
                continue
            if forms:  # case-sensitive spellings: only where the original text has them ("US", not "USING")
                edge_ok = (
                    not right or end >= size or cased[end] not in word or _right_edge_ok(cased, end, ends_with_digit)
                )
                for form, form_clues in forms:
                    if edge_ok and cased.startswith(form, start):
                        clues = clues + form_clues
                if not clues:
                    continue
            append((start, -end, n, clues))
            n += 1
    found.sort()
    return found


def _note(found: dict[str, _Found], clue: Clue, factor: float, part: int, start: int, versioned: bool) -> None:
    seen = found.get(clue.key)
    if seen is None:
        found[clue.key] = _Found(clue, factor, part, 1, start, versioned)
        return
    seen.count += 1
    seen.versioned = seen.versioned or versioned
    better = factor > seen.factor
    if (seen.clue.weak and not clue.weak) or (better and clue.weak == seen.clue.weak):
        seen.clue = clue
    if better:
        seen.factor, seen.part = factor, part


def _collect(
    hits: list[tuple[int, int, int, tuple[Clue, ...]]],
    text: str,
    bounds: tuple[int, int, int],
    factors: tuple[float, ...],
    window: int = 0,
) -> dict[str, _Found]:
    """Distinct clues of the outermost matches, with their best field factor.

    A match inside a longer one is dropped ("北京" inside "北京时间"). ``bounds``: byte
    offsets of the end of the title, of the lede and of the summary. A contextual alias
    counts only when an AI term, AI entity or company-news word starts within ``window``
    bytes of it.
    """
    found: dict[str, _Found] = {}
    title_end, lede_end, summary_end = bounds
    reach, last_start, last_end = -1, -1, -1
    contextual: list[tuple[Clue, float, int, int]] = []
    for start, negative_end, _, clues in hits:
        end = -negative_end
        if end <= reach and (start != last_start or end != last_end):
            continue
        last_start, last_end = start, end
        if end > reach:
            reach = end
        part = 0 if start < title_end else (1 if start < summary_end else 2)
        factor = factors[3] if part == 1 and start >= lede_end else factors[part]
        for clue in clues:
            if clue.contextual:
                contextual.append((clue, factor, part, start))
                continue
            versioned = clue.weak and _VERSION.match(text, end) is not None
            _note(found, clue, factor, part, start, versioned)
    if contextual:  # rare: look for context only then
        context_starts = [start for start, _, _, clues in hits if any(clue.context for clue in clues)]
        for clue, factor, part, start in contextual:
            if any(abs(position - start) <= window for position in context_starts):
                _note(found, clue, factor, part, start, False)
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
    roundup: bool = False  # the title strings several headlines together ("A；B；C｜早报")


def _prepare(lexicon: Lexicon, title: str, summary: str, lang: str, link: tuple[str, str] | None) -> _Text:
    scoring = lexicon.scoring
    if FIELD_SEPARATOR in title or FIELD_SEPARATOR in summary:
        title, summary = title.replace(FIELD_SEPARATOR, " "), summary.replace(FIELD_SEPARATOR, " ")
    folded, hant = fold(f"{title}{FIELD_SEPARATOR}{summary}")  # one pass over both fields
    folded_title, _, folded_summary = folded.partition(FIELD_SEPARATOR)
    folded_title, folded_summary = folded_title.rstrip(), folded_summary.lstrip()
    words = _words_of_link(*link, lexicon.publisher_hosts) if link is not None else ""
    joined = "\n".join((folded_title, folded_summary, words))
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
    roundup = folded_title.count(";") + folded_title.count("；") >= 2
    return _Text(cased, lowered, (title_end, lede_end, summary_end), is_zh, is_hant, cjk > 0, roundup)


_TEMPLATES = {
    "ai": 'AI term "{}" in {}',
    "china": 'China term "{}" in {}',
    "domestic": 'China term "{}" in {}',
    "taiwan": 'Taiwan term "{}" in {} (Taiwan story: peripheral)',
    "peripheral": 'peripheral subject "{}" in {}',
    "foreign": 'non-Chinese context "{}" in {}',
}
_CHANNEL = 'official channel of "{}" ({}): {}'
_ENTITY = 'entity "{}" ({}) in {}'
_PRIOR = "Chinese-language text, no foreign focus (weak China link)"


@dataclass(slots=True)
class _Evidence:
    """Noisy-OR accumulators (the probability that no clue of the kind holds) and what was seen."""

    no_ai: float = 1.0
    no_china: float = 1.0
    no_joint: float = 1.0
    no_taiwan: float = 1.0
    no_peripheral: float = 1.0
    foreign: bool = False  # non-Chinese players or places in the title or lede
    titled: bool = False  # the title or link holds AI, China or entity evidence
    entities: list[str] = field(default_factory=list)
    topics: dict[str, float] = field(default_factory=dict)
    reasons: list[tuple[float, int, str, tuple[str, ...]]] = field(default_factory=list)


def _anchored(found: dict[str, _Found]) -> bool:
    """Whether weak aliases ("Kimi", "Ernie", "Ascend", "Moonshot") may count: the text has a China
    tie, or it talks about AI and its title names no foreign place ("Singapore launches Project Moonshot")."""
    ai = china = foreign = False
    for f in found.values():
        clue = f.clue
        if clue.weak:
            continue
        entity = clue.entity
        if entity is not None:
            if entity.kind.china >= 0.8 or f.channel:
                return True
            ai = ai or entity.kind.ai >= 0.5
        elif clue.role == "ai":
            ai = ai or clue.weight >= 0.5
        elif clue.role in ("china", "domestic"):
            china = True
        elif clue.role == "foreign" and f.part == 0:
            foreign = True
    return ai and (china or not foreign)


@dataclass(slots=True)
class _Weighing:
    """What the evidence handlers accumulate beyond the noisy-OR products of :class:`_Evidence`."""

    evidence: _Evidence
    scoring: dict
    summary_factor: float  # scoring constants, looked up once per article
    strong_ai_weight: float
    core_ai_weight: float
    strong_ai: int = 0  # distinct strong AI clues: terms ("人工智能", "AI") and AI entities that are not foreign
    strong_ai_title: bool = False
    core_ai: bool = False  # a core generative-AI term in the title or lede
    business: bool = False  # policy or company-news vocabulary
    china_title: bool = False  # the title has China evidence ("印度推出本土大模型": 本土 is India's otherwise)
    foreign_place_title: bool = False
    domestic: list[tuple[_Found, float]] = field(default_factory=list)


def _weigh_entity(w: _Weighing, item: _Found, factor: float) -> None:
    """A catalogue entity: its kind's China, AI, joint and peripheral strengths, its topics."""
    evidence, clue = w.evidence, item.clue
    entity = clue.entity
    assert entity is not None
    kind = entity.kind
    if item.part == 0 and kind.china >= 0.8:
        w.china_title = True
    evidence.no_ai *= 1 - kind.ai * factor
    evidence.no_china *= 1 - kind.china * factor
    evidence.no_joint *= 1 - kind.joint * factor
    evidence.no_peripheral *= 1 - kind.peripheral * factor
    if kind.foreign and item.factor >= w.summary_factor:
        evidence.foreign = True
    if kind.ai >= w.strong_ai_weight and not kind.foreign:
        w.strong_ai += 1
    evidence.entities.append(entity.name)
    for topic, weight in entity.topics:
        evidence.topics[topic] = evidence.topics.get(topic, 1.0) * (1 - weight * factor)
    strength = max(kind.joint, kind.ai * kind.china, kind.china, kind.ai, 0.05) * factor
    if item.channel:
        evidence.reasons.append((strength, -1, _CHANNEL, (entity.name, kind.label, clue.label)))
        return
    name = entity.name if clue.label == entity.name else f"{entity.name}: {clue.label}"
    evidence.reasons.append((strength, item.first, _ENTITY, (name, kind.label, FIELDS[item.part])))


def _weigh_ai(w: _Weighing, item: _Found, factor: float) -> None:
    clue = item.clue
    weight = clue.weight * factor
    w.evidence.no_ai *= 1 - weight
    if clue.weight >= w.strong_ai_weight:
        w.strong_ai += 1
        w.strong_ai_title = w.strong_ai_title or item.part == 0
        w.core_ai = w.core_ai or (clue.weight >= w.core_ai_weight and item.factor >= w.summary_factor)
    _reason(w, item, weight, "ai")


def _weigh_china(w: _Weighing, item: _Found, factor: float) -> None:
    weight = item.clue.weight * factor
    w.evidence.no_china *= 1 - weight
    w.china_title = w.china_title or item.part == 0
    _reason(w, item, weight, "china")


def _weigh_domestic(w: _Weighing, item: _Found, factor: float) -> None:
    w.domestic.append((item, item.clue.weight * factor))  # decided once the whole text is seen


def _weigh_taiwan(w: _Weighing, item: _Found, factor: float) -> None:
    weight = item.clue.weight * factor
    w.evidence.no_taiwan *= 1 - weight
    _reason(w, item, weight, "taiwan")


def _weigh_peripheral(w: _Weighing, item: _Found, factor: float) -> None:
    weight = item.clue.weight * factor
    w.evidence.no_peripheral *= 1 - weight
    _reason(w, item, weight, "peripheral")


def _weigh_foreign(w: _Weighing, item: _Found, factor: float) -> None:
    w.evidence.foreign = w.evidence.foreign or item.factor >= w.summary_factor
    w.foreign_place_title = w.foreign_place_title or item.part == 0
    _reason(w, item, 0.01, "foreign")


def _weigh_flag(w: _Weighing, item: _Found, factor: float) -> None:
    """Policy and company-news words: no weight, a flag for the Chinese-language prior."""
    w.business = True


def _weigh_nothing(w: _Weighing, item: _Found, factor: float) -> None:
    """Neutral phrases only hide shorter matches inside them."""


def _reason(w: _Weighing, item: _Found, weight: float, role: str) -> None:
    w.evidence.reasons.append((weight, item.first, _TEMPLATES[role], (item.clue.label, FIELDS[item.part])))


_HANDLERS = {
    "entity": _weigh_entity,
    "ai": _weigh_ai,
    "china": _weigh_china,
    "domestic": _weigh_domestic,
    "taiwan": _weigh_taiwan,
    "peripheral": _weigh_peripheral,
    "foreign": _weigh_foreign,
    "policy": _weigh_flag,
    "company": _weigh_flag,
    "neutral": _weigh_nothing,
}


def _weigh(found: dict[str, _Found], text: _Text, scoring: dict) -> _Evidence:
    """Weigh every clue with the handler of its role, then the evidence that depends on the
    whole text: "domestic" words and the Chinese-language prior."""
    title_factor, bonus = scoring["field_factor"]["title"], scoring["repeat_bonus"]
    w = _Weighing(
        _Evidence(), scoring, scoring["field_factor"]["summary"], scoring["strong_ai_weight"], scoring["core_ai_weight"]
    )
    evidence = w.evidence
    anchored: bool | None = None  # computed at the first weak alias: most texts have none
    for item in found.values():  # in order of first appearance (hits are sorted by start)
        clue = item.clue
        if clue.weak and not item.versioned:
            if clue.needs_version:
                continue
            if anchored is None:
                anchored = _anchored(found)
            if not (anchored or (text.is_zh and clue.ascii)):
                continue
        factor = item.factor + bonus * (item.count - 1) if item.count > 1 else item.factor
        if factor > title_factor:
            factor = title_factor
        if text.roundup and item.part != 0:  # a round-up's summary lists its other stories
            factor *= scoring["roundup_body_factor"]
        if item.part != 1 and (clue.entity is not None or clue.role in ("ai", "china", "domestic")):
            evidence.titled = True
        _HANDLERS[clue.role](w, item, factor)
    _weigh_mainland(w, text)
    return evidence


def _weigh_mainland(w: _Weighing, text: _Text) -> None:
    """ "Domestic" words (国内, 我国) and the prior of Chinese-language text speak of the
    mainland only in Simplified text that is not about Taiwan, nor about another country.

    When the language is the only China evidence, one generic AI word is not enough
    ("人工智能时代，我们需要怎样的教育"): the prior then needs a core generative-AI term in
    the title or lede ("大模型价格战打响"), a second strong AI clue, or an AI term in the
    title next to policy or company-news vocabulary ("人工智能立法应守住三条线"). A round-up
    of several headlines is not one mainland story: no prior there."""
    evidence, scoring = w.evidence, w.scoring
    mainland = not text.is_hant and evidence.no_taiwan == 1.0
    if mainland and (w.china_title or not w.foreign_place_title):
        for item, weight in w.domestic:
            evidence.no_china *= 1 - weight
            _reason(w, item, weight, "domestic")
    prior = scoring["zh_china_prior"]
    if text.is_zh and mainland and not evidence.foreign and prior > 0 and not text.roundup:
        only_evidence = evidence.no_china == 1.0 and evidence.no_joint == 1.0
        licensed = w.core_ai or w.strong_ai >= scoring["prior_only_min_strong_ai"] or (w.strong_ai_title and w.business)
        if not only_evidence or licensed:
            evidence.no_china *= 1 - prior
            evidence.reasons.append((prior, 10**9, _PRIOR, ()))


def _score(evidence: _Evidence, scoring: dict) -> float:
    joint = 1 - evidence.no_joint
    score = 1 - evidence.no_joint * (1 - (1 - evidence.no_ai) * (1 - evidence.no_china))
    peripheral = 1 - evidence.no_peripheral * (1 - 0.5 * (1 - evidence.no_taiwan))
    if peripheral > 0 and joint < scoring["core_joint"]:
        score *= 1 - scoring["peripheral_max_penalty"] * peripheral
    if not evidence.titled:
        score *= scoring["untitled_factor"]
    return round(min(1.0, max(0.0, score)), 4)


def _topics(
    lexicon: Lexicon,
    text: _Text,
    evidence: _Evidence,
    factors: tuple[float, ...],
    relevant: bool,
    extra: list[tuple[str, float]] | None = None,
) -> list[str]:
    scoring = lexicon.scoring
    no = dict(evidence.topics)
    tail = scoring["topic_summary_tail_factor"]  # past the lede, side subjects
    factors = factors[:3] + (tail,)
    cased, lowered, bounds = text.cased, text.lowered, text.bounds
    if tail == 0.0:  # not read at all: scan the title, the lede and the link words only
        title_end, lede_end, summary_end = bounds
        cased, lowered, bounds = (
            cased[:lede_end] + cased[summary_end:],
            lowered[:lede_end] + lowered[summary_end:],
            (title_end, lede_end, lede_end),
        )
    for item in _collect(_matches(lexicon.topics, cased, lowered, text.has_cjk), lowered, bounds, factors).values():
        factor = min(factors[0], item.factor + scoring["repeat_bonus"] * (item.count - 1))
        topic = item.clue.topic or ""
        no[topic] = no.get(topic, 1.0) * (1 - item.clue.weight * factor)
    for topic, weight in extra or ():  # from the triage signals: events, signal topics
        no[topic] = no.get(topic, 1.0) * (1 - weight)
    ranked = sorted(((1 - v, t) for t, v in no.items()), key=lambda p: (-p[0], p[1]))
    if not ranked:
        return []
    floor = max(scoring["topic_threshold"], ranked[0][0] * scoring["topic_secondary_ratio"])
    topics = [t for n, (s, t) in enumerate(ranked) if s >= (scoring["topic_threshold"] if n == 0 else floor)][
        : scoring["max_topics"]
    ]
    if not topics and relevant and ranked[0][0] >= scoring["topic_fallback_threshold"]:
        topics = [ranked[0][1]]
    return topics


def _explain(evidence: _Evidence, relevant: bool, limit: int) -> list[str]:
    reasons = sorted(evidence.reasons, key=lambda r: (-r[0], r[1]))[:limit]
    texts = [template.format(*args) for _, _, template, args in reasons]
    if not relevant:
        ai, china, joint = 1 - evidence.no_ai, 1 - evidence.no_china, 1 - evidence.no_joint
        if max(china, joint) < 0.5:
            texts.insert(0, "no China link found" if china == 0 and joint == 0 else "weak China link")
        if max(ai, joint) < 0.5:
            texts.insert(0, "no AI term found" if ai == 0 and joint == 0 else "weak AI link")
    return texts


def lexicon_verdict(
    title: str,
    summary: str = "",
    lang: str | None = None,
    link: str | None = None,
    lexicon: Lexicon | None = None,
    assume_relevant: bool = False,
) -> Verdict:
    """The lexicon's verdict on one article (no learned layer); see :func:`article_verdict`."""
    return article_verdict(ArticleText.coerce((title, summary, lang, link)), lexicon, assume_relevant)


def article_verdict(article: ArticleText, lexicon: Lexicon | None = None, assume_relevant: bool = False) -> Verdict:
    """The lexicon's verdict on one article (no learned layer). ``assume_relevant``: give
    the priority and reader reasons the article would have if it were relevant (used when
    the learned layer overturns the lexicon)."""
    lexicon = lexicon or default_lexicon()
    scoring = lexicon.scoring
    title = _as_text(article.title)[: scoring["max_title_chars"]]
    parts = _split_link(_as_text(article.link))
    text = _prepare(
        lexicon,
        title,
        _as_text(article.summary)[: scoring["max_summary_chars"]],
        _as_text(article.lang).strip().lower(),
        parts,
    )
    field_factor = scoring["field_factor"]
    factors = (field_factor["title"], field_factor["summary"], field_factor["link"], scoring["summary_tail_factor"])
    window = scoring["context_window_chars"] * 3  # bytes: the aliases that need it are Chinese
    found = _collect(
        _matches(lexicon.context, text.cased, text.lowered, text.has_cjk), text.lowered, text.bounds, factors, window
    )
    channel = _channel(lexicon, *parts) if parts is not None else None
    if channel is not None:
        entity, label = channel
        key = f"entity:{entity.name}"
        clue = Clue(key=key, label=label, role="entity", entity=entity)
        seen = found.pop(key, None)
        count = seen.count + 1 if seen is not None else 1
        factor = max(scoring["channel_factor"], seen.factor if seen is not None else 0.0)
        found[key] = _Found(clue, factor, seen.part if seen is not None else 2, count, -1, channel=True)
    if not found and not text.is_zh:
        return Verdict(
            relevant=False, score=0.0, topics=[], entities=[], reasons=["no AI term found", "no China link found"]
        )
    evidence = _weigh(found, text, scoring)
    raw = _score(evidence, scoring)
    relevant = raw >= scoring["threshold"]
    score = calibrated(raw, scoring["threshold"], scoring["calibration_slope"])
    entities = list(dict.fromkeys(evidence.entities))
    reasons = _explain(evidence, relevant, scoring["max_reasons"])
    if not (relevant or assume_relevant):
        topics = _topics(lexicon, text, evidence, factors, relevant) if raw >= scoring["topic_min_score"] else []
        return Verdict(relevant=relevant, score=score, topics=topics, entities=entities, reasons=reasons)
    decision, extra_topics = _triage(lexicon, text, found, evidence, factors, title)
    if decision.kind is not None and decision.kind.topic is not None and decision.priority is Priority.HIGH:
        extra_topics.append((decision.kind.topic, scoring["event_topic_weight"]))
    topics = _topics(lexicon, text, evidence, factors, True, extra_topics)
    return Verdict(
        relevant=relevant,
        score=score,
        topics=topics,
        entities=entities,
        reasons=reasons,
        priority=decision.priority.value,
        reader_reasons=_reader_reasons(evidence, decision),
    )


def _decoded(text: _Text, start: int, end: int) -> str:
    return text.cased[start:end].encode("latin-1").decode("utf-8", "replace")


def _triage(
    lexicon: Lexicon,
    text: _Text,
    found: dict[str, _Found],
    evidence: _Evidence,
    factors: tuple[float, ...],
    raw_title: str,
) -> tuple[Decision, list[tuple[str, float]]]:
    """Priority from the triage layer's signals, the entities' signals and the computed ones
    (``raw_title``: the title before folding, which keeps "GLM-4.5" whole)."""
    rules = lexicon.triage
    if rules is None:
        return Decision(Priority.NORMAL, None, None), []
    title_end, lede_end, summary_end = text.bounds
    chinese = text.has_cjk
    signals = Signals(
        lambda: money_signal(rules, _decoded(text, 0, title_end), _decoded(text, title_end + 1, lede_end), chinese)
    )
    # Only the title, the summary's lede and the link words: past the lede is in passing.
    cased, lowered = (
        text.cased[:lede_end] + text.cased[summary_end:],
        text.lowered[:lede_end] + text.lowered[summary_end:],
    )
    hits = _matches(rules.automata, cased, lowered, chinese)
    for item in _collect(hits, lowered, (title_end, lede_end, lede_end), factors).values():
        add_signal(signals, item.clue.signal or "", item.clue.label, item.part == 0)
    counted = set(evidence.entities)
    on_beat = title_ai = title_china = False
    for item in found.values():
        clue = item.clue
        entity = clue.entity
        if entity is None:
            if item.part == 0 and not clue.weak:
                title_ai = title_ai or (clue.role == "ai" and clue.weight >= 0.8)
                title_china = title_china or clue.role in ("china", "domestic")
            continue
        if entity.name not in counted:
            continue
        in_title = item.part == 0 or item.channel
        for name in rules.entity_signals.get(entity.name, ()):
            add_signal(signals, name, entity.name, in_title)
        kind = entity.kind
        if item.part == 0 and (kind.joint >= 0.35 or (kind.china >= 0.8 and kind.ai >= 0.5)):
            on_beat = True
    builtin_signals(signals, _decoded(text, 0, title_end), raw_title)
    topics = [(kind.topic, weight) for kind, weight in rules.signal_topics if kind.topic and fires(kind, signals)]
    return decide(rules, signals, on_beat or (title_ai and title_china)), topics


_WHERE = {"title": "the title", "summary": "the summary", "link": "the link"}


def _entity_name(args: tuple[str, ...]) -> str:
    return args[0].partition(": ")[0]


def _reader_reasons(evidence: _Evidence, decision: Decision) -> list[str]:
    """At most three short English sentences for readers: the decisive evidence first, then
    the priority's reason, then supporting evidence. A weak clue never stands alone: the
    Chinese-language prior only ever supports a stronger clue, and link words are never shown."""
    ranked = sorted(evidence.reasons, key=lambda r: (-r[0], r[1]))
    sentences: list[str] = []
    used: set[int] = set()
    channel = next((n for n, r in enumerate(ranked) if r[2] == _CHANNEL), None)
    if channel is not None:
        name, label, where = ranked[channel][3]
        sentences.append(f"Published on {where}, an official channel of {name} ({label}).")
        used.add(channel)
    # Decisive: the entities in the title that tie the story to China (a foreign one only
    # next to them), else the AI and China words, wherever they are.
    titled = [n for n, r in enumerate(ranked) if r[2] == _ENTITY and r[3][2] == "title"]
    tied = [n for n in titled if "non-Chinese" not in ranked[n][3][1] and "international" not in ranked[n][3][1]]
    if tied:
        chosen = (tied + [n for n in titled if n not in tied])[:2]
        names = [f"{_entity_name(ranked[n][3])} ({ranked[n][3][1]})" for n in chosen]
        sentences.append(f"Names {' and '.join(names)} in the title.")
        used.update(chosen)
    elif channel is None:
        sentence = _terms_sentence(ranked, used)
        if sentence:
            sentences.append(sentence)
    if decision.kind is not None:
        what, trigger = decision.kind.label, decision.trigger
        if decision.priority is Priority.HIGH:
            sentences.append(f"High priority: reports {what} ({trigger}).")
        elif decision.priority is Priority.LOW:
            sentences.append(f"Low priority: reads as {what} ({trigger}).")
        else:
            sentences.append("A round-up whose own headline is on the beat.")
    for n, r in enumerate(ranked):
        if len(sentences) >= 3:
            break
        if n in used or r[0] < 0.5 or r[2] != _ENTITY or r[3][2] == "link" or "non-Chinese" in r[3][1]:
            continue
        sentences.append(f"Also names {_entity_name(r[3])} ({r[3][1]}) in {_WHERE.get(r[3][2], r[3][2])}.")
    return sentences[:3]


def _terms_sentence(ranked: list[tuple[float, int, str, tuple[str, ...]]], used: set[int]) -> str | None:
    """'Speaks of "大模型" (AI) in the title and ties it to China with "国产" in the summary.'"""
    ai = next((n for n, r in enumerate(ranked) if r[2] == _TEMPLATES["ai"] or (r[2] == _ENTITY and r[0] >= 0.5)), None)
    china = next(
        (n for n, r in enumerate(ranked) if r[2] in (_TEMPLATES["china"], _TEMPLATES["domestic"]) and n != ai), None
    )
    prior = next((n for n, r in enumerate(ranked) if r[2] == _PRIOR), None)
    if ai is None:
        return None
    r = ranked[ai]
    if r[2] == _ENTITY:
        first = f"Names {_entity_name(r[3])} ({r[3][1]}) in {_WHERE.get(r[3][2], r[3][2])}"
    else:
        first = f'Speaks of "{r[3][0]}" (AI) in {_WHERE.get(r[3][1], r[3][1])}'
    used.add(ai)
    if china is not None:
        c = ranked[china]
        used.add(china)
        return f'{first} and ties it to China with "{c[3][0]}" in {_WHERE.get(c[3][1], c[3][1])}.'
    if prior is not None:
        used.add(prior)
        return f"{first}, in mainland Chinese text with no foreign focus."
    return f"{first}."
