"""Persist a feed's parsed entries in a few bulk statements: once per feed, once per article, one story per cluster.

Per feed document: one query for the entry keys already seen, one each for articles known
by canonical URL or fingerprint, the story candidates (stories.py), then bulk inserts.
Inserts of articles and feed entries skip rows another worker inserted a moment earlier
(ON CONFLICT DO NOTHING) and resolve them to the existing rows instead, so two workers
polling two feeds that carry the same article never fail and never duplicate it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Table, bindparam, delete, insert, select, update
from sqlalchemy.orm import Session

from db.models import Article, Feed, FeedEntry, Story
from services.ingest.entries import Entry, ParsedFeed
from services.ingest.stories import (
    StoryArticle,
    article_index_keys,
    index_story_bands,
    match_stories,
    outlet_name,
    pack_features,
    prune_story_bands,
    refresh_coverage,
)
from services.ingest.story_keys import EventKeys, event_keys

CHUNK = 500


@dataclass
class NewArticle:
    id: int
    story_id: int
    entry: Entry


@dataclass
class StoreResult:
    entries_seen: int = 0
    new_entries: int = 0
    new_articles: list[NewArticle] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def _chunks(values: Sequence[Any]) -> Iterable[Sequence[Any]]:
    for start in range(0, len(values), CHUNK):
        yield values[start : start + CHUNK]


def _insert_skipping_conflicts(session: Session, table: Table) -> Any:
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    elif dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as dialect_insert  # type: ignore[assignment]  # same call as PostgreSQL's
    else:
        return insert(table)
    return dialect_insert(table).on_conflict_do_nothing()


def _known_articles(
    session: Session, canonicals: list[str], fingerprints: list[str]
) -> tuple[dict[str, int], dict[str, int]]:
    by_url: dict[str, int] = {}
    by_fp: dict[str, int] = {}
    for chunk in _chunks(canonicals):
        by_url.update(
            (u, i)
            for u, i in session.execute(
                select(Article.canonical_url, Article.id).where(Article.canonical_url.in_(chunk))
            ).all()
            if u
        )
    for chunk in _chunks(fingerprints):
        by_fp.update(
            (f, i)
            for f, i in session.execute(
                select(Article.fingerprint, Article.id).where(Article.fingerprint.in_(chunk))
            ).all()
        )
    return by_url, by_fp


def _article_row(feed_id: int, entry: Entry, story_id: int, now: datetime, keys: EventKeys) -> dict[str, Any]:
    return {
        "story_keys": json.dumps(keys.to_json(), ensure_ascii=False, separators=(",", ":")),
        "feed_id": feed_id,
        "story_id": story_id,
        "guid": entry.guid,
        "url": entry.link,
        "canonical_url": entry.canonical_url,
        "fingerprint": entry.fingerprint,
        "story_features": pack_features(entry.features) if entry.features else None,
        "title": entry.title,
        "summary": entry.summary,
        "summary_html": entry.summary_html,
        "full_text": entry.full_text,
        "author": entry.author,
        "language": entry.language,
        "published_at": entry.published or now,
        "fetched_at": now,
    }


def store_entries(session: Session, feed_id: int, parsed: ParsedFeed, now: datetime) -> StoreResult:
    """Record every entry of ``parsed`` not yet seen in feed ``feed_id``; return the articles that are new everywhere."""
    result = StoreResult(entries_seen=len(parsed.entries))
    entries = parsed.entries
    if not entries:
        return result
    seen: set[str] = set()
    for chunk in _chunks([e.key for e in entries]):
        seen.update(
            session.execute(
                select(FeedEntry.entry_key).where(FeedEntry.feed_id == feed_id, FeedEntry.entry_key.in_(chunk))
            ).scalars()
        )
    fresh = [e for e in entries if e.key not in seen]
    if not fresh:
        return result

    by_url, by_fp = _known_articles(
        session, sorted({e.canonical_url for e in fresh if e.canonical_url}), sorted({e.fingerprint for e in fresh})
    )
    drafts: list[Entry] = []
    draft_of: dict[str, int] = {}  # canonical URL or fingerprint -> index in drafts (same article twice in one feed)
    targets: list[tuple[Entry, int | None, int | None]] = []  # (entry, existing article id, draft index)
    for entry in fresh:
        existing = (by_url.get(entry.canonical_url) if entry.canonical_url else None) or by_fp.get(entry.fingerprint)
        if existing is not None:
            targets.append((entry, existing, None))
            continue
        index = draft_of.get(entry.canonical_url) if entry.canonical_url else None
        index = index if index is not None else draft_of.get(entry.fingerprint)
        if index is None:
            index = len(drafts)
            drafts.append(entry)
            draft_of[entry.fingerprint] = index
            if entry.canonical_url:
                draft_of[entry.canonical_url] = index
        targets.append((entry, None, index))

    draft_ids = _insert_articles(session, feed_id, drafts, now, result, parsed.title) if drafts else []
    entry_rows = []
    for entry, existing, index in targets:
        article_id = existing if existing is not None else draft_ids[index]  # type: ignore[index]  # index is set whenever existing is None
        if article_id is not None:
            entry_rows.append(
                {"feed_id": feed_id, "entry_key": entry.key, "article_id": article_id, "first_seen_at": now}
            )
    if entry_rows:
        session.execute(_insert_skipping_conflicts(session, FeedEntry.__table__), entry_rows)
    result.new_entries = len(entry_rows)
    return result


def _insert_articles(
    session: Session,
    feed_id: int,
    drafts: list[Entry],
    now: datetime,
    result: StoreResult,
    feed_title: str | None = None,
) -> list[int | None]:
    """Insert new articles with their stories; returns each draft's article id (an existing one after a race)."""
    prune_story_bands(session, now)  # an indexed range delete, usually of nothing: keeps the index to the window
    keys = [event_keys(d.title, d.summary, d.language, d.link) for d in drafts]
    index_keys = [article_index_keys(d.features, k) for d, k in zip(drafts, keys)]
    matched = match_stories(
        session,
        feed_id,
        [StoryArticle(set(d.features), k, feed_id, d.published or now, None, d.language) for d, k in zip(drafts, keys)],
        now,
        index_keys,
    )
    opening = [i for i, story in enumerate(matched) if story is None]
    story_of: list[int] = [s or 0 for s in matched]
    if opening:
        outlet = _outlet_name(session, feed_id, feed_title)
        rows = [
            {
                "title": drafts[i].title,
                "first_seen_at": now,
                "last_seen_at": now,
                "article_count": 1,
                "outlet_count": 1,
                "languages": drafts[i].language or None,
                "first_outlet": outlet,
                "first_published_at": drafts[i].published or now,
            }
            for i in opening
        ]
        stories = Story.__table__
        new_ids = (
            session.execute(insert(stories).returning(stories.c.id, sort_by_parameter_order=True), rows).scalars().all()
        )
        for i, story_id in zip(opening, new_ids):
            story_of[i] = story_id
    joined: dict[int, int] = {}
    for story in matched:
        if story is not None:
            joined[story] = joined.get(story, 0) + 1

    table = Article.__table__
    rows = [_article_row(feed_id, d, story_of[i], now, keys[i]) for i, d in enumerate(drafts)]
    inserted: dict[str, int] = {}
    statement = _insert_skipping_conflicts(session, table).returning(table.c.id, table.c.fingerprint)
    for chunk in _chunks(rows):
        inserted.update((fp, article_id) for article_id, fp in session.execute(statement, list(chunk)))

    ids: list[int | None] = []
    raced: list[int] = []
    for i, draft in enumerate(drafts):
        article_id = inserted.get(draft.fingerprint)
        ids.append(article_id)
        if article_id is None:
            raced.append(i)
        else:
            result.new_articles.append(NewArticle(article_id, story_of[i], draft))
    if raced:
        _resolve_races(session, drafts, raced, ids, story_of, opening, joined, result)
    grown = [{"sid": sid, "n": n} for sid, n in joined.items() if n > 0]
    if grown:
        stories = Story.__table__
        session.execute(
            update(stories)
            .where(stories.c.id == bindparam("sid"))
            .values(article_count=stories.c.article_count + bindparam("n"), last_seen_at=now),
            grown,
        )
    if grown:
        refresh_coverage(session, sorted(joined), {feed_id: _outlet_name(session, feed_id, feed_title)})
    index_of = {id(d): i for i, d in enumerate(drafts)}
    index_story_bands(session, [(a.id, index_keys[index_of[id(a.entry)]]) for a in result.new_articles], now)
    return ids


def _outlet_name(session: Session, feed_id: int, feed_title: str | None = None) -> str | None:
    row = session.execute(select(Feed.title, Feed.url).where(Feed.id == feed_id)).first()
    if row is None:
        return feed_title
    return outlet_name(row.title or feed_title, row.url)  # the feed's own title, else the document's, else its host


def _resolve_races(
    session: Session,
    drafts: list[Entry],
    raced: list[int],
    ids: list[int | None],
    story_of: list[int],
    opening: list[int],
    joined: dict[int, int],
    result: StoreResult,
) -> None:
    """Drafts another worker inserted first: point them at the existing article; drop the story opened for them."""
    by_url, by_fp = _known_articles(
        session,
        sorted({drafts[i].canonical_url for i in raced if drafts[i].canonical_url}),  # type: ignore[misc]  # the filter drops None URLs
        sorted({drafts[i].fingerprint for i in raced}),
    )
    orphan_stories = []
    opened = set(opening)
    for i in raced:
        draft = drafts[i]
        ids[i] = (by_url.get(draft.canonical_url) if draft.canonical_url else None) or by_fp.get(draft.fingerprint)
        if ids[i] is None:
            result.errors.append(f"entry {draft.key[:80]!r}: article could not be stored or found")
        if i in opened:
            orphan_stories.append(story_of[i])
        elif joined.get(story_of[i]):
            joined[story_of[i]] -= 1
    if orphan_stories:
        session.execute(delete(Story).where(Story.id.in_(orphan_stories)))
