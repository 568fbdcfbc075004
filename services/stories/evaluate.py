"""Measure story grouping on a labelled file by ingesting it exactly as the poll would.

Each item becomes an entry of an RSS document for its outlet's feed; documents go through
``parse_feed`` and ``store_entries`` (the functions ``record_poll`` calls) over a temporary,
migrated SQLite database, and the stories the articles end up in are compared with the labels.

Two orders:

- ``stream`` (default): items one by one in published order, each stored a few minutes after it
  was published, as live polling of the outlets would see them;
- ``outlets``: one document per outlet holding all its items, stored one feed after another at
  one moment (the newest item an hour old), as a first poll of many feeds sees them.

Figures are pairwise: precision and recall of "same story" over item pairs, recall over pairs in
one language (Chinese and Traditional Chinese count as one) and over English–Chinese pairs. A
``part`` of the stories (a hash of the story id) can be reported apart, to tune on one part
and check on the other.
"""

from __future__ import annotations

import hashlib
import json
import random
import tempfile
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from enum import StrEnum
from itertools import combinations
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from sqlalchemy import select

INGEST_DELAY = timedelta(minutes=5)
NEWEST_AGE = timedelta(hours=1)
NAIVE_OFFSET = timedelta(hours=8)  # published times without a zone are taken as UTC+8 (the archives' local time)


class EvalOrder(StrEnum):
    STREAM = "stream"
    OUTLETS = "outlets"


class StoryEvalError(ValueError):
    """The labelled file cannot be read."""


@dataclass
class LabelledItem:
    id: str
    story: str
    lang: str
    outlet: str
    title: str
    summary: str
    link: str
    published: datetime


@dataclass
class PairScores:
    items: int = 0
    predicted_pairs: int = 0
    true_pairs: int = 0
    correct_pairs: int = 0
    precision: float = 1.0
    recall: float = 1.0
    same_language_pairs: int = 0
    same_language_recall: float = 1.0
    cross_language_pairs: int = 0
    cross_language_recall: float = 1.0


@dataclass
class StoryEvalReport:
    file: str
    order: str
    all: PairScores
    parts: dict[str, PairScores] = field(default_factory=dict)
    false_joins: list[tuple[str, str]] = field(default_factory=list)
    missed: list[tuple[str, str]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _published(value: str) -> datetime:
    text = value.strip()
    if len(text) == 10:
        when = datetime.fromisoformat(text).replace(tzinfo=timezone.utc)
    else:
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
        if when.tzinfo is None:
            when = (when - NAIVE_OFFSET).replace(tzinfo=timezone.utc)
    return when.astimezone(timezone.utc)


def read_labelled(path: Path) -> list[LabelledItem]:
    """Items of a stories JSONL file (id, story, lang, outlet, title, summary, link, published)."""
    items: list[LabelledItem] = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise StoryEvalError(f"cannot read {path}: {exc}") from exc
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            items.append(
                LabelledItem(
                    id=str(row["id"]),
                    story=str(row["story"]),
                    lang=str(row.get("lang") or ""),
                    outlet=str(row["outlet"]),
                    title=str(row.get("title") or ""),
                    summary=str(row.get("summary") or ""),
                    link=str(row["link"]),
                    published=_published(str(row["published"])),
                )
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise StoryEvalError(f"{path}:{number}: not a labelled story item ({type(exc).__name__}: {exc})") from exc
    if not items:
        raise StoryEvalError(f"{path}: no items")
    return items


def part_of(story: str, parts: int = 2) -> int:
    """A stable split of stories: tune on part 0, check on part 1."""
    return int(hashlib.sha1(story.encode()).hexdigest(), 16) % parts


def _rss(outlet: str, items: list[LabelledItem]) -> bytes:
    body = "".join(
        f'<item><guid isPermaLink="false">{escape(i.id)}</guid><link>{escape(i.link)}</link><title>{escape(i.title)}</title>'
        f"<description>{escape(i.summary)}</description><pubDate>{format_datetime(i.published)}</pubDate></item>"
        for i in items
    )
    return f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>{escape(outlet)}</title>{body}</channel></rss>'.encode()


def _language(lang: str) -> str:
    return "zh" if lang.startswith("zh") else lang


def score_pairs(items: list[LabelledItem], predicted: dict[str, int | None]) -> PairScores:
    scores = PairScores(items=len(items))
    same = cross = same_ok = cross_ok = 0
    for a, b in combinations(items, 2):
        truth = a.story == b.story
        guess = predicted.get(a.id) is not None and predicted.get(a.id) == predicted.get(b.id)
        scores.predicted_pairs += guess
        scores.true_pairs += truth
        scores.correct_pairs += truth and guess
        if truth:
            if _language(a.lang) == _language(b.lang):
                same += 1
                same_ok += guess
            else:
                cross += 1
                cross_ok += guess
    scores.precision = scores.correct_pairs / scores.predicted_pairs if scores.predicted_pairs else 1.0
    scores.recall = scores.correct_pairs / scores.true_pairs if scores.true_pairs else 1.0
    scores.same_language_pairs, scores.cross_language_pairs = same, cross
    scores.same_language_recall = same_ok / same if same else 1.0
    scores.cross_language_recall = cross_ok / cross if cross else 1.0
    return scores


def group_labelled(
    items: list[LabelledItem],
    order: EvalOrder = EvalOrder.STREAM,
    database_url: str | None = None,
    seed: int | None = None,
) -> dict[str, int | None]:
    """Ingest the items through parse_feed + store_entries; the story id each item's article ended up in.

    ``seed``: with ``outlets``, store the outlets' documents in a shuffled order (a poll writes
    feeds in completion order) instead of by name."""
    from db.models import Article, FeedEntry
    from services.database import dispose_engines, unit_of_work
    from services.feeds.registry import FeedSpec, add_feed
    from services.ingest.parse import parse_feed
    from services.ingest.store import store_entries
    from services.migrations import upgrade_database

    newest = max(i.published for i in items)
    shift = datetime.now(timezone.utc) - NEWEST_AGE - newest
    shifted = [LabelledItem(**{**asdict(i), "published": i.published + shift}) for i in items]
    with tempfile.TemporaryDirectory(prefix="cnai-eval-stories-") as tmp:
        url = database_url or f"sqlite:///{Path(tmp) / 'stories.db'}"
        upgrade_database(url)
        try:
            feed_of: dict[str, int] = {}
            with unit_of_work(url) as session:
                for n, outlet in enumerate(sorted({i.outlet for i in shifted})):
                    feed, _ = add_feed(session, FeedSpec(url=f"https://outlet-{n}.example/feed.xml", title=outlet))
                    feed_of[outlet] = feed.id
            if order is EvalOrder.STREAM:
                for item in sorted(shifted, key=lambda i: (i.published, i.id)):
                    now = item.published + INGEST_DELAY
                    with unit_of_work(url) as session:
                        store_entries(
                            session, feed_of[item.outlet], parse_feed(_rss(item.outlet, [item]), now=now), now
                        )
            else:
                now = datetime.now(timezone.utc)
                by_outlet: dict[str, list[LabelledItem]] = defaultdict(list)
                for item in shifted:
                    by_outlet[item.outlet].append(item)
                outlets = sorted(by_outlet)
                if seed is not None:
                    random.Random(seed).shuffle(outlets)
                for outlet in outlets:
                    batch = sorted(by_outlet[outlet], key=lambda i: i.published, reverse=True)
                    with unit_of_work(url) as session:
                        store_entries(session, feed_of[outlet], parse_feed(_rss(outlet, batch), now=now), now)
            with unit_of_work(url) as session:
                rows = session.execute(
                    select(FeedEntry.feed_id, Article.guid, Article.url, Article.story_id).join(
                        Article, Article.id == FeedEntry.article_id
                    )
                ).all()
        finally:
            dispose_engines()
    by_guid = {guid: story for _, guid, _, story in rows}
    by_link = {link: story for _, _, link, story in rows}
    return {i.id: by_guid.get(i.id, by_link.get(i.link)) for i in items}


def evaluate_stories(
    path: Path, order: EvalOrder = EvalOrder.STREAM, parts: int = 2, seed: int | None = None
) -> StoryEvalReport:
    items = read_labelled(path)
    predicted = group_labelled(items, order, seed=seed)
    report = StoryEvalReport(
        file=str(path), order=str(order) if seed is None else f"{order}, seed {seed}", all=score_pairs(items, predicted)
    )
    if parts > 1:
        for p in range(parts):
            subset = [i for i in items if part_of(i.story, parts) == p]
            report.parts[f"part{p}"] = score_pairs(subset, predicted)
    for a, b in combinations(items, 2):
        guess = predicted.get(a.id) is not None and predicted.get(a.id) == predicted.get(b.id)
        if guess and a.story != b.story:
            report.false_joins.append((a.title, b.title))
        elif a.story == b.story and not guess:
            report.missed.append((a.title, b.title))
    return report
