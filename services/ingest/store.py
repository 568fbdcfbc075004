"""Persist parsed entries: once per feed, once per article, one story per cluster."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import nh3
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from db.models import Article, Feed, FeedEntry
from services.ingest.normalise import canonical_url, detect_language, fingerprint
from services.ingest.parse import Entry, ParsedFeed
from services.ingest.stories import assign_story, simhash


@dataclass
class StoreResult:
    entries_seen: int = 0
    new_entries: int = 0
    new_articles: list[Article] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def entry_key(entry: Entry) -> str:
    """What identifies an entry within its feed: GUID, else canonical link, else content fingerprint."""
    if entry.guid:
        return "guid:" + entry.guid.strip()[:1500]
    link = canonical_url(entry.link)
    if link:
        return "url:" + link
    return "fp:" + fingerprint(entry.title, entry.summary)


def store_entries(session: Session, feed: Feed, parsed: ParsedFeed, now: datetime) -> StoreResult:
    """Record every entry of ``parsed`` not yet seen in ``feed``; return the articles that are new everywhere."""
    result = StoreResult(entries_seen=len(parsed.entries))
    keys = {entry_key(e): e for e in parsed.entries}
    if not keys:
        return result
    seen = set(
        session.execute(
            select(FeedEntry.entry_key).where(FeedEntry.feed_id == feed.id, FeedEntry.entry_key.in_(list(keys)))
        ).scalars()
    )
    for key, entry in keys.items():
        if key in seen:
            continue
        try:
            with session.begin_nested():
                article, created = _resolve_article(session, feed, entry, now)
                session.add(FeedEntry(feed_id=feed.id, entry_key=key, article_id=article.id, first_seen_at=now))
                session.flush()
        except Exception as exc:  # one bad entry never sinks the rest of its feed
            result.errors.append(f"entry {key[:80]!r}: {type(exc).__name__}: {exc}"[:300])
            continue
        result.new_entries += 1
        if created:
            result.new_articles.append(article)
    return result


def _resolve_article(session: Session, feed: Feed, entry: Entry, now: datetime) -> tuple[Article, bool]:
    if not entry.title and not entry.summary:
        raise ValueError("entry has neither title nor summary")
    canon = canonical_url(entry.link)
    fp = fingerprint(entry.title, entry.summary)
    existing = session.execute(
        select(Article).where(or_(Article.fingerprint == fp, Article.canonical_url == canon) if canon else Article.fingerprint == fp)
    ).scalars().first()
    if existing is not None:
        if existing.story is not None:
            existing.story.article_count += 1
            existing.story.last_seen_at = now
        return existing, False
    text = f"{entry.title} {entry.summary}"
    article = Article(
        feed_id=feed.id,
        guid=entry.guid,
        url=entry.link,
        canonical_url=canon,
        fingerprint=fp,
        simhash=simhash(text),
        title=entry.title or entry.summary[:200],
        summary=entry.summary,
        summary_html=nh3.clean(entry.summary_html) if entry.summary_html else None,
        author=entry.author,
        language=detect_language(text),
        published_at=entry.published or now,
        fetched_at=now,
    )
    session.add(article)
    assign_story(session, article, now)
    session.flush()
    return article, True
