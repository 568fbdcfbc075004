"""Small builders for alert tests: a feed, a story with its article and classification, a subscription."""

from __future__ import annotations

import hashlib
import itertools
from datetime import datetime, timezone

from sqlalchemy import select
from sqlalchemy.orm import Session

from db.models import Alert, Article, Channel, Classification, Feed, FeedEntry, Story, Subscription
from services.alerts.outbox import queue_alerts

NOW = datetime(2026, 11, 20, 9, 0, tzinfo=timezone.utc)
_serial = itertools.count(1)


def feed(session: Session, url: str = "https://news.example.com/rss", title: str | None = "Example News") -> Feed:
    found = session.execute(select(Feed).where(Feed.url == url)).scalar_one_or_none()
    if found is None:
        found = Feed(url=url, title=title)
        session.add(found)
        session.flush()
    return found


def article(
    session: Session,
    title: str = "China issues draft rules for generative AI services",
    *,
    source: Feed | None = None,
    story: Story | None = None,
    url: str | None = None,
    summary: str = "The Cyberspace Administration of China published draft measures.",
    language: str = "en",
    relevant: bool = True,
    score: float = 0.8,
    topics: list[str] | None = None,
    entities: list[str] | None = None,
    reasons: list[str] | None = None,
    priority: str | None = None,
    reader_reasons: list[str] | None = None,
    now: datetime = NOW,
) -> tuple[Article, Classification]:
    """An article (a new story unless ``story`` is given), seen in ``source``, with its classification."""
    n = next(_serial)
    source = source or feed(session)
    if story is None:
        story = Story(title=title, first_seen_at=now, last_seen_at=now)
        session.add(story)
        session.flush()
    else:
        story.article_count += 1
    item = Article(
        feed_id=source.id,
        story_id=story.id,
        url=url if url is not None else f"https://news.example.com/story/{n}",
        fingerprint=hashlib.sha256(f"{title}{n}".encode()).hexdigest(),
        title=title,
        summary=summary,
        language=language,
        published_at=now,
        fetched_at=now,
    )
    session.add(item)
    session.flush()
    session.add(FeedEntry(feed_id=source.id, entry_key=f"guid:{n}", article_id=item.id, first_seen_at=now))
    verdict = Classification(
        article_id=item.id,
        classifier_version="test",
        relevant=relevant,
        score=score,
        topics=topics if topics is not None else ["regulation"],
        entities=entities if entities is not None else ["Cyberspace Administration of China"],
        reasons=reasons if reasons is not None else ["policy term: draft measures", "entity: CAC"],
        priority=priority if relevant else None,
        reader_reasons=reader_reasons,
        created_at=now,
    )
    session.add(verdict)
    session.flush()
    return item, verdict


def channel(session: Session, name: str, kind: str, target: str) -> Channel:
    found = session.execute(select(Channel).where(Channel.name == name)).scalar_one_or_none()
    if found is None:
        found = Channel(name=name, kind=kind, target=target)
        session.add(found)
        session.flush()
    return found


def subscription(session: Session, name: str, channels: list[Channel], **rules: object) -> Subscription:
    sub = Subscription(name=name, channels=channels, **rules)
    session.add(sub)
    session.flush()
    return sub


def alerted(session: Session, now: datetime = NOW, **kwargs: object) -> list[Alert]:
    """A new relevant story, classified and queued: the alerts it produced."""
    item, verdict = article(session, now=now, **kwargs)  # type: ignore[arg-type]
    return queue_alerts(session, item, verdict, now)
