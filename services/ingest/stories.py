"""Group articles that tell the same story (rewritten headlines, syndicated copies) into one story.

Each article gets *features*: the words of its title and summary lead (English stop words
dropped, quantities like "40m" folded to "40") and Chinese character bigrams, minus the
feed's own boilerplate (tokens in more than 30% of that feed's entries, e.g. "Comments",
"Read more"), hashed to 32 bits. A 80-value MinHash signature of the features is cut into
40 bands of 2 rows; each band value is a row of ``story_bands``, so finding candidate
stories is one indexed ``IN`` query per feed, however many stories exist. Candidates are
then verified exactly on the stored features.

Thresholds, tuned on the shared en/zh feed samples and eval items (cross-feed pairs): an
article joins a story when the Jaccard similarity of the features is at least 0.5, or at
least 0.22 with 8 or more shared tokens. Real rewrites across outlets score 0.26-0.66 with
dozens of shared tokens; the unrelated pairs that come closest are short titles sharing a
few words ("Introducing Claude 2.1" / "Introducing Claude 4"), which the token minimum,
the rule that differing numbers in both titles mean different stories, and the rule that
one feed never clusters with itself keep apart.
"""

from __future__ import annotations

import json
import re
import unicodedata
import zlib
from array import array
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import bindparam, delete, insert, select, text, union_all, update
from sqlalchemy.orm import Session

from db.models import Article, Feed, Story, StoryBand
from db.results import affected_rows
from services.ingest.entries import Entry
from services.ingest.story_keys import EventKeys, name_catalogue

STORY_WINDOW = timedelta(days=3)
BANDS = 40
ROWS = 2
MIN_JACCARD = 0.22
MIN_SHARED = 8
SURE_JACCARD = 0.5
SUMMARY_LEAD_CHARS = 200
BOILERPLATE_SHARE = 0.3

_WORD = re.compile(r"[a-z0-9]+(?:[._][a-z0-9]+)*")
_THOUSANDS = re.compile(r"(?<=\d),(?=\d{3}\b)")
_QUANTITY = re.compile(r"^(\d+(?:\.\d+)?)(?:k|m|mn|b|bn|million|billion|trillion|percent|pct)?$")
_HAN = re.compile("[\u3400-\u4dbf\u4e00-\u9fff]+")

_rng = np.random.default_rng(20261122)
_MULTIPLIERS = (_rng.integers(1, 2**63, size=BANDS * ROWS, dtype=np.uint64) * np.uint64(2) + np.uint64(1)).reshape(
    -1, 1
)
_OFFSETS = _rng.integers(0, 2**63, size=BANDS * ROWS, dtype=np.uint64).reshape(-1, 1)
_BAND_SALTS = _rng.integers(0, 2**63, size=BANDS, dtype=np.uint64)


@lru_cache(maxsize=1)
def stop_words() -> frozenset[str]:
    lines = Path(__file__).with_name("stopwords_en.txt").read_text(encoding="utf-8").splitlines()
    return frozenset(w.strip() for w in lines if w.strip() and not w.startswith("#"))


def tokens(text: str) -> set[str]:
    """Content words (quantities folded, plurals trimmed) and Chinese character bigrams of ``text``."""
    text = _THOUSANDS.sub("", unicodedata.normalize("NFKC", text).casefold())
    stops = stop_words()
    found: set[str] = set()
    for word in _WORD.findall(text):
        quantity = _QUANTITY.match(word)
        if quantity:
            word = quantity.group(1)
        elif len(word) < 2 or word in stops:
            continue
        elif len(word) > 4 and word.endswith("s") and not word.endswith("ss"):
            word = word[:-1]
        found.add(word)
    for run in _HAN.findall(text):
        found.update(run[i : i + 2] for i in range(len(run) - 1))
    return found


def _hash(token: str) -> int:
    return zlib.crc32(token.encode("utf-8")) & 0xFFFFFFFE


def story_features(entries: Sequence[Entry]) -> None:
    """Set ``entry.features`` for every entry of one feed document, without that feed's boilerplate."""
    token_sets = [tokens(f"{e.title} {e.summary[:SUMMARY_LEAD_CHARS]}") for e in entries]
    boiler: set[str] = set()
    if len(token_sets) >= 4:
        counts = Counter(t for s in token_sets for t in s)
        boiler = {t for t, n in counts.items() if n > BOILERPLATE_SHARE * len(token_sets)}
    for entry, found in zip(entries, token_sets):
        hashes = {_hash(t) for t in found - boiler}
        # Numbers in the title also go in with the low bit set: differing title numbers mean different stories.
        hashes.update(_hash(t) | 1 for t in tokens(entry.title) if any(c.isdigit() for c in t))
        entry.features = sorted(hashes)


def pack_features(features: Sequence[int]) -> bytes:
    return array("I", features).tobytes()


def unpack_features(data: bytes | None) -> set[int]:
    if not data:
        return set()
    values = array("I")
    values.frombytes(data)
    return set(values)


def band_keys(features: Sequence[int]) -> list[int]:
    """The LSH band values (signed 64-bit) of a feature set; empty when it has too few features to compare."""
    if len(features) < 3:
        return []
    x = np.asarray(features, dtype=np.uint64)
    with np.errstate(over="ignore"):
        signature = ((x * _MULTIPLIERS + _OFFSETS) >> np.uint64(32)).min(axis=1)
        rows = signature.reshape(BANDS, ROWS)
        keys = (rows[:, 0] << np.uint64(32)) | rows[:, 1]
        keys = (keys ^ _BAND_SALTS) * np.uint64(0x9E3779B97F4A7C15)
        keys ^= keys >> np.uint64(29)
    return keys.view(np.int64).tolist()


@dataclass
class Similarity:
    jaccard: float
    shared: int


def similarity(a: set[int], b: set[int]) -> Similarity | None:
    """Jaccard similarity and shared tokens, or None when both titles carry numbers and none agree."""
    numbers_a = {h for h in a if h & 1}
    numbers_b = {h for h in b if h & 1}
    if numbers_a and numbers_b and not numbers_a & numbers_b:
        return None
    shared = len(a & b)
    union = len(a) + len(b) - shared
    return Similarity(shared / union if union else 0.0, shared)


def same_story(sim: Similarity | None) -> bool:
    return sim is not None and (
        sim.jaccard >= SURE_JACCARD or (sim.jaccard >= MIN_JACCARD and sim.shared >= MIN_SHARED)
    )


# Event matching (see services/ingest/story_keys.py): weights of shared evidence, tuned on half of
# the stories of the shared dev set (a hash of the story id) and checked on the other half.
EVENT_DAYS = 3.0  # articles published further apart are never one story
EVENT_THRESHOLD = 2.0
JACCARD_WEIGHT = 4.0
NAME_WEIGHTS = (1.0, 0.6, 0.3)  # a shared name in both titles, in one title, in neither
GROUP_FACTOR = 0.3
MISSING_TITLE_NAME = 0.75  # a name in one title that the other article never mentions
MISSING_CAP = 0.75  # per side: a title listing many names is not that much less likely the same event
AMOUNT_TOLERANCE = 0.02  # large amounts within 2% agree (rounding: "$112.5 bn" and "$112B")
ROUNDED_TOLERANCE = 0.1  # an amount said to be rounded ("近1000亿", "nearly $100 billion") agrees within 10%
SUBJECT_WEIGHT = 0.3
SUBJECT_MISMATCH = 0.5
NAMED_SUBJECT_WEIGHT = 0.5  # both titles share a subject and a name, and neither names anyone the other never mentions
VERSION_WEIGHT = 1.5
MISSING_VERSION = 0.75  # a version in one title, none in the other article
NUMBER_WEIGHT = 1.5
SMALL_NUMBER_WEIGHT = 0.5
DATE_WEIGHT = 1.0
DAY_PENALTY = 1.0  # per day between the two publication times
QUOTED_WEIGHT = 1.0
LATIN_WEIGHT = 0.75
LATIN_CAP = 1.5
CROSS_LANGUAGE_BONUS = 1.0
SINGLE_NAME_CROSS_BONUS = 0.5  # the bonus when the two articles share one name and nothing else
TITLE_GRAM_WEIGHT = 2.0  # Dice overlap of two Chinese titles' character bigrams
STORY_AGREEMENT = 1.0  # the story's members must score this share of the threshold on average
CONSENSUS_MISSING = 1.0  # off the average when the article never mentions a name most of the story's titles carry
KEY_LIMIT = 32  # index rows read per key: the newest; bounds the work per article
MIN_HITS = 2  # index hits a candidate needs before it is compared
STORY_MEMBERS = 12  # members of a candidate story compared (the newest)
CANDIDATE_STORIES = 3  # stories compared per article: those of its best-scoring candidates


@dataclass
class StoryArticle:
    """What matching knows of an article: its features, event keys, feed, time and story."""

    features: set[int]
    keys: EventKeys
    feed_id: int | None
    published: datetime
    story_id: int | None = None
    language: str | None = None


def _amount(text: str) -> float | None:
    try:
        return float(text.lstrip("~"))
    except ValueError:
        return None


def _same_amounts(mine: set[str], theirs: set[str]) -> set[str]:
    """Amounts of ``mine`` also in ``theirs``, allowing rounding ("$112.5 bn" and "$112B"; "近1000亿"
    and "$97.4 billion" when one of them is marked rounded)."""
    found = mine & theirs
    for x in mine - found:
        value = _amount(x)
        if value is None:
            continue
        for y in theirs:
            v = _amount(y)
            if v is None:
                continue
            if x.startswith("~") or y.startswith("~"):
                tolerance = ROUNDED_TOLERANCE
            elif value >= 1e6:  # below a million numbers are written exactly (versions, counts, percentages)
                tolerance = AMOUNT_TOLERANCE
            else:
                continue
            if abs(v - value) <= tolerance * max(v, value):
                found.add(x)
                break
    return found


def _script(language: str | None) -> str:
    return "zh" if (language or "").startswith("zh") else (language or "")


def _number_weight(number: str) -> float:
    if not number.endswith("%"):
        try:
            value = float(number.lstrip("~"))
        except ValueError:
            return NUMBER_WEIGHT
        if value < 10 and value == int(value):
            return SMALL_NUMBER_WEIGHT
    return NUMBER_WEIGHT


def _conflict(a: EventKeys, b: EventKeys) -> bool:
    """Different versions, different amounts or different dates in the titles: different developments."""
    # a version of either title that the other article names is agreement ("o3" cancelled for "GPT-5"
    # and "GPT-4.5 next, then GPT-5"): a roadmap names several
    if not (a.title_versions & b.versions or b.title_versions & a.versions) and (
        (a.title_versions and b.versions) or (b.title_versions and a.versions)
    ):
        return True
    numbers_a = {n for n in a.title_numbers if not n.endswith("%")}  # percentages (a share price move) vary by the hour
    numbers_b = {n for n in b.title_numbers if not n.endswith("%")}
    if numbers_a and numbers_b and not (_same_amounts(numbers_a, b.numbers) or _same_amounts(numbers_b, a.numbers)):
        return True
    days_a = {d for d in a.title_dates if d.startswith("md:")}
    days_b = {d for d in b.title_dates if d.startswith("md:")}
    return bool(days_a and days_b and not days_a & days_b)


def _absent(marks: set[str], other: StoryArticle) -> set[str]:
    """Unknown names of one title (``EventKeys.marks``) the other article's title and lead never mention."""
    if not other.features:
        return set()
    return {f"mark:{m}" for m in marks if _hash(m) not in other.features}


def _aside(missing: set[str], lead_only: set[str]) -> set[str]:
    """``lead_only`` (the other title's names this article mentions only in its lead) when one of
    them is of the same lexicon kind as a name of this title the other article never mentions
    (Alibaba for Baidu); else nothing."""
    if not missing or not lead_only:
        return set()
    from services.classify.lexicon import default_lexicon

    entities = default_lexicon().entities
    kinds = {entities[n].kind.name for n in missing if n in entities}
    return lead_only if any(n in entities and entities[n].kind.name in kinds for n in lead_only) else set()


def event_score(a: StoryArticle, b: StoryArticle) -> float | None:
    """How strongly two articles report one development; None when they cannot (too far apart, conflicting)."""
    gap_days = abs((a.published - b.published).total_seconds()) / 86400
    if gap_days > EVENT_DAYS or _conflict(a.keys, b.keys):
        return None
    groups = name_catalogue().groups
    ka, kb = a.keys, b.keys
    score = 0.0
    missing = (
        ka.title_names - kb.names - groups | _absent(ka.marks, b),
        kb.title_names - ka.names - groups | _absent(kb.marks, a),
    )
    # A title naming a rival (same lexicon kind) of the other title's names, which the other article
    # never mentions, makes those names, found only in this article's lead, a side remark ("Apple
    # still works with Baidu" after "Alibaba's Tsai confirms the Apple deal"): they count as in
    # neither title, and as missing.
    aside = (
        _aside(missing[0], (kb.title_names & ka.names) - ka.title_names - groups),
        _aside(missing[1], (ka.title_names & kb.names) - kb.title_names - groups),
    )
    for name in ka.names & kb.names:
        in_titles = (name in ka.title_names) + (name in kb.title_names)
        if name in aside[0] or name in aside[1]:
            in_titles = 0
        score += NAME_WEIGHTS[2 - in_titles] * (GROUP_FACTOR if name in groups else 1.0)
    missing = (missing[0] | aside[1], missing[1] | aside[0])
    score -= sum(min(MISSING_CAP, MISSING_TITLE_NAME * len(m)) for m in missing)
    score += SUBJECT_WEIGHT * len(ka.subjects & kb.subjects)
    places = name_catalogue().places
    if (
        (ka.title_subjects & kb.title_subjects) - places
        and (ka.title_names & kb.title_names) - groups
        and not ka.title_names - kb.names - groups
        and not kb.title_names - ka.names - groups
    ):  # "OpenAI ... in-house chip" in both titles: the subject of that name, told in other words
        score += NAMED_SUBJECT_WEIGHT
    score -= SUBJECT_MISMATCH * len(((ka.title_subjects - kb.subjects) | (kb.title_subjects - ka.subjects)) - places)
    score += VERSION_WEIGHT * len(ka.versions & kb.versions)
    if (ka.title_versions and not kb.versions) or (kb.title_versions and not ka.versions):
        score -= MISSING_VERSION  # "next-gen Ernie 5.0" and "Ernie free for all": a version only one side names
    score += sum(_number_weight(n) for n in _same_amounts(ka.numbers, kb.numbers))
    score += DATE_WEIGHT * len({d for d in ka.dates & kb.dates if d.startswith("md:")})
    score += QUOTED_WEIGHT * len(ka.quoted & kb.quoted)
    if "zh" in (_script(a.language), _script(b.language)):  # Latin product names in a Chinese title ("ECARX AutoGPT")
        shared_names = {n.casefold() for n in ka.names & kb.names}
        shared_words = {w for w in ka.title_words & kb.title_words if w not in shared_names and w not in stop_words()}
        score += min(LATIN_CAP, LATIN_WEIGHT * len(shared_words))
    if ka.title_grams and kb.title_grams:  # Chinese titles telling one development share characters beyond names
        score += (
            TITLE_GRAM_WEIGHT * 2 * len(ka.title_grams & kb.title_grams) / (len(ka.title_grams) + len(kb.title_grams))
        )
    sim = similarity(a.features, b.features)
    if not (ka.names & kb.names) - groups and not ka.versions & kb.versions and not same_story(sim):
        return None  # amounts and subjects alone do not make one story: a shared name or version must
    jaccard = sim.jaccard if sim is not None else 0.0
    score += JACCARD_WEIGHT * jaccard - DAY_PENALTY * gap_days
    if _script(a.language) != _script(b.language):
        # stands in for the text similarity two languages cannot show; one shared name alone is weak evidence
        named = len((ka.names & kb.names) - groups)
        other = (
            ka.versions & kb.versions
            or _same_amounts(ka.numbers, kb.numbers)
            or ka.dates & kb.dates
            or ka.quoted & kb.quoted
            or ka.subjects & kb.subjects - places
        )
        score += CROSS_LANGUAGE_BONUS if named >= 2 or other else SINGLE_NAME_CROSS_BONUS
    if same_story(sim):
        score = max(score, EVENT_THRESHOLD)
    return score


def article_index_keys(features: Sequence[int], keys: EventKeys) -> list[int]:
    """Index rows of an article: its MinHash bands and the hashed event keys (signed 64-bit)."""
    found = set(band_keys(features))
    for key in keys.index_keys():
        value = zlib.crc32(key.encode("utf-8")) | (zlib.adler32(key.encode("utf-8")) << 32)
        found.add(value - 2**64 if value >= 2**63 else value)
    return sorted(found)


_PG_HITS = text(
    "SELECT hit.article_id FROM unnest(CAST(:keys AS bigint[])) AS wanted(band) "
    "CROSS JOIN LATERAL (SELECT article_id FROM story_bands WHERE story_bands.band = wanted.band "
    "ORDER BY article_id DESC LIMIT :limit) AS hit"
)
_PG_INDEX = text(
    "INSERT INTO story_bands (band, article_id, seen_at) "
    "SELECT band, article_id, :seen_at FROM unnest(CAST(:bands AS bigint[]), CAST(:ids AS bigint[])) AS r(band, article_id)"
)


def _bigint_array(values: Iterable[int]) -> str:
    """A PostgreSQL array literal of integers: the driver dumps a list of 600 ints one by one (about
    2 ms of Python); the literal is one join, parsed by the server."""
    return "{" + ",".join(map(str, values)) + "}"


def _candidate_hits(session: Session, wanted: list[int]) -> dict[int, int]:
    """Index hits per article: the newest KEY_LIMIT rows of each key, read through the primary key only.

    On PostgreSQL one statement with the keys as an array (a lateral, bounded primary-key read per
    key); elsewhere a UNION ALL of bounded reads per chunk of keys."""
    hits: Counter[int] = Counter()
    if session.get_bind().dialect.name == "postgresql":
        hits.update(session.execute(_PG_HITS, {"keys": _bigint_array(wanted), "limit": KEY_LIMIT}).scalars())
        return hits
    for start in range(0, len(wanted), _KEYS_PER_STATEMENT):
        chunk = wanted[start : start + _KEYS_PER_STATEMENT]
        params = {f"k{i}": key for i, key in enumerate(chunk)}
        hits.update(session.execute(_hits_statement(len(chunk)), params).scalars())
    return hits


_KEYS_PER_STATEMENT = 200


@lru_cache(maxsize=_KEYS_PER_STATEMENT)
def _hits_statement(keys: int) -> Any:
    """One UNION ALL of ``keys`` bounded primary-key reads, built once per size: building the
    construct per call cost more than the database work (about 5 ms of Python per 200 keys)."""
    table = StoryBand.__table__
    parts = [
        select(table.c.article_id)
        .where(table.c.band == bindparam(f"k{i}"))
        .order_by(table.c.article_id.desc())
        .limit(KEY_LIMIT)
        .subquery()
        for i in range(keys)
    ]
    return union_all(*(select(part.c.article_id) for part in parts))


def _load(session: Session, condition: Any) -> dict[int, StoryArticle]:
    found: dict[int, StoryArticle] = {}
    for article_id, story_id, feed_id, packed, keys, published, language in session.execute(
        select(
            Article.id,
            Article.story_id,
            Article.feed_id,
            Article.story_features,
            Article.story_keys,
            Article.published_at,
            Article.language,
        ).where(condition)
    ):
        found[article_id] = StoryArticle(
            unpack_features(packed),
            EventKeys.from_json(json.loads(keys) if keys else None),
            feed_id,
            published,
            story_id,
            language,
        )
    return found


def _story_agreement(article: StoryArticle, members: list[StoryArticle]) -> float | None:
    """The average score of ``article`` against a story's members, or None when they do not agree:
    a member conflicts or the average falls short of STORY_AGREEMENT times the threshold."""
    scores = [event_score(article, m) for m in members]
    agreed = [s for s in scores if s is not None]
    if not agreed or len(agreed) < len(scores):
        return None
    average = sum(agreed) / len(agreed)
    if _other_names(article, members):
        average -= CONSENSUS_MISSING
    return average if average >= STORY_AGREEMENT * EVENT_THRESHOLD else None


def _other_names(article: StoryArticle, members: list[StoryArticle]) -> bool:
    """Whether the article and the story each name someone the other does not: the story's names
    (in the titles of at least two members and half of them: "Apple, Baidu") include one the article
    never mentions, and the article's title has a name outside them ("Alibaba"). Another development
    of the same company, however much else it shares with single members."""
    catalogue = name_catalogue()
    ignored = catalogue.groups | catalogue.places
    counts = Counter(n for m in members for n in m.keys.title_names - ignored)
    consensus = {n for n, k in counts.items() if k >= 2 and 2 * k >= len(members)}
    return bool(consensus - article.keys.names and article.keys.title_names - ignored - consensus)


def match_stories(
    session: Session,
    feed_id: int,
    articles: list[StoryArticle],
    now: datetime,
    index_keys: list[list[int]] | None = None,
) -> list[int | None]:
    """For each new article, the recent story (from another feed) reporting the same development, or None.

    Candidates come from the index (``story_bands``: MinHash bands and event keys), at most
    KEY_LIMIT per key, and only articles with MIN_HITS hits are compared: the work per article
    is bounded whatever the number of stories, and the lookups use only the primary key, so they
    do not depend on planner statistics. The stories of the candidates scoring EVENT_THRESHOLD
    (at most CANDIDATE_STORIES, best first) are compared member by member, and the article joins
    the one its members agree with best on average, none conflicting: an article that one member
    of a story resembles, but the story as a whole does not, goes to the story it fits, or none
    (whichever outlet happened to be stored first).
    """
    keys_of = (
        index_keys if index_keys is not None else [article_index_keys(sorted(a.features), a.keys) for a in articles]
    )
    wanted = sorted({k for keys in keys_of for k in keys})
    if not wanted:
        return [None] * len(articles)
    hits = _candidate_hits(session, wanted)
    ids = sorted(a for a, n in hits.items() if n >= MIN_HITS)
    if not ids:
        return [None] * len(articles)
    cutoff = now - STORY_WINDOW
    known: dict[int, StoryArticle] = {}
    for start in range(0, len(ids), 500):
        known.update(_load(session, Article.id.in_(ids[start : start + 500]) & (Article.fetched_at >= cutoff)))
    members: dict[int, list[StoryArticle]] = {}

    def members_of(story_id: int) -> list[StoryArticle]:
        if story_id not in members:
            rows = (
                session.execute(
                    select(Article.id)
                    .where(Article.story_id == story_id)
                    .order_by(Article.id.desc())
                    .limit(STORY_MEMBERS)
                )
                .scalars()
                .all()
            )
            members[story_id] = list(_load(session, Article.id.in_(rows)).values()) if rows else []
        return members[story_id]

    matches: list[int | None] = []
    for article in articles:
        best_of: dict[int, float] = {}
        for candidate in known.values():
            if candidate.story_id is None or candidate.feed_id == feed_id:
                continue
            score = event_score(article, candidate)
            if score is None or score < EVENT_THRESHOLD:
                continue
            best_of[candidate.story_id] = max(score, best_of.get(candidate.story_id, score))
        chosen: tuple[float, int] | None = None
        for story_id in sorted(best_of, key=lambda s: (-best_of[s], s))[:CANDIDATE_STORIES]:
            agreement = _story_agreement(article, members_of(story_id))
            if agreement is not None and (chosen is None or agreement > chosen[0]):
                chosen = (agreement, story_id)
        matches.append(chosen[1] if chosen else None)
    return matches


def index_story_bands(session: Session, articles: list[tuple[int, list[int]]], now: datetime) -> None:
    """Make new articles findable by later ones: one ``story_bands`` row per band and event key.

    ``articles``: (article id, index keys from ``article_index_keys``)."""
    pairs = [(band, article_id) for article_id, keys in articles for band in set(keys)]
    if not pairs:
        return
    if session.get_bind().dialect.name == "postgresql":  # one statement, the rows as two arrays
        bands, ids = _bigint_array(b for b, _ in pairs), _bigint_array(a for _, a in pairs)
        session.execute(_PG_INDEX, {"bands": bands, "ids": ids, "seen_at": now})
        return
    session.execute(insert(StoryBand.__table__), [{"band": b, "article_id": a, "seen_at": now} for b, a in pairs])


def prune_story_bands(session: Session, now: datetime) -> int:
    """Drop band rows older than the story window; they can no longer match."""
    result = session.execute(delete(StoryBand).where(StoryBand.seen_at < now - STORY_WINDOW))
    return affected_rows(result)


def outlet_name(title: str | None, url: str | None) -> str | None:
    """What readers call a feed: its title, else its host."""
    from urllib.parse import urlsplit

    if title:
        return title
    if not url:
        return None
    return urlsplit(url).hostname or url


def refresh_coverage(session: Session, story_ids: Sequence[int], names: dict[int, str | None] | None = None) -> None:
    """Recompute outlet count, languages, first outlet and first publication time of stories that grew.

    ``names``: outlet names by feed id that the feeds table may not hold yet (a feed's first poll)."""
    if not story_ids:
        return
    rows = session.execute(
        select(Article.story_id, Article.feed_id, Article.language, Article.published_at, Feed.title, Feed.url)
        .outerjoin(Feed, Feed.id == Article.feed_id)
        .where(Article.story_id.in_(list(story_ids)))
    ).all()
    coverage: dict[int, dict[str, Any]] = {}
    for story_id, feed_id, language, published, title, url in rows:
        if story_id is None:
            continue
        entry = coverage.setdefault(story_id, {"feeds": set(), "languages": set(), "first": None})
        entry["feeds"].add(feed_id)
        if language:
            entry["languages"].add(language)
        if entry["first"] is None or published < entry["first"][0]:
            named = (names or {}).get(feed_id) if feed_id is not None else None
            entry["first"] = (published, named or outlet_name(title, url))
    updates = [
        {
            "sid": sid,
            "outlets": len(c["feeds"]),
            "langs": ",".join(sorted(c["languages"]))[:64] or None,
            "first_outlet": c["first"][1],
            "first_at": c["first"][0],
        }
        for sid, c in coverage.items()
    ]
    if updates:
        stories = Story.__table__
        session.execute(
            update(stories)
            .where(stories.c.id == bindparam("sid"))
            .values(
                outlet_count=bindparam("outlets"),
                languages=bindparam("langs"),
                first_outlet=bindparam("first_outlet"),
                first_published_at=bindparam("first_at"),
            ),
            updates,
        )


@dataclass
class StoryCoverage:
    """Who reported a story: how many outlets, which was first and when, in which languages."""

    outlet_count: int
    first_outlet: str | None
    first_published_at: datetime | None
    languages: list[str]

    def line(self) -> str:
        """``reported by 3 outlets (first: Example News, 09:12)``, or ``reported by 1 outlet`` (times in UTC)."""
        text = f"reported by {self.outlet_count} outlet{'s' if self.outlet_count != 1 else ''}"
        if self.outlet_count > 1 and self.first_outlet:
            when = f", {self.first_published_at:%H:%M}" if self.first_published_at else ""
            text += f" (first: {self.first_outlet}{when})"
        return text


def story_coverage(session: Session, story_id: int) -> StoryCoverage | None:
    """Outlet count, first outlet and first time of a story; None when there is no such story."""
    row = session.execute(
        select(
            Story.outlet_count, Story.first_outlet, Story.first_published_at, Story.first_seen_at, Story.languages
        ).where(Story.id == story_id)
    ).first()
    if row is None:
        return None
    count, first, published, seen, languages = row
    return StoryCoverage(count or 1, first, published or seen, [x for x in (languages or "").split(",") if x])
