"""What an alert says: the article, its score and reasons, and the other outlets of its story."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from db.models import Alert, Article, Classification, Feed, FeedEntry
from services.ingest.stories import story_coverage

_UNSAFE_IN_URL = re.compile(r'[\x00-\x20\x7f<>"|`{}\\^]')


@dataclass
class Outlet:
    name: str
    url: str | None


@dataclass
class AlertContent:
    alert_id: int
    title: str
    url: str | None
    source: str
    published_at: datetime
    language: str | None
    score: float
    topics: list[str]
    entities: list[str]
    reasons: list[str]
    summary: str
    other_outlets: list[Outlet] = field(default_factory=list)
    coverage: str | None = None  # "reported by 3 outlets (first: Example News, 09:12)"

    def __post_init__(self) -> None:
        self.url = safe_link(self.url)
        self.other_outlets = [Outlet(o.name, safe_link(o.url)) for o in self.other_outlets]


@dataclass
class Digest:
    """Several alerts in one message: a scheduled digest, or a burst folded so a channel is not flooded."""

    heading: str
    note: str
    items: list[AlertContent]

    def by_topic(self) -> list[tuple[str, list[AlertContent]]]:
        """Items grouped under their first topic, best score first; largest group first, "Other" last."""
        groups: dict[str, list[AlertContent]] = {}
        for item in sorted(self.items, key=lambda i: -i.score):
            groups.setdefault(topic_label(item.topics[0]) if item.topics else "Other", []).append(item)
        return sorted(groups.items(), key=lambda g: (g[0] == "Other", -len(g[1])))


Message = AlertContent | Digest


def topic_label(topic: str) -> str:
    """``chips_and_export_controls`` -> ``Chips and export controls``."""
    text = topic.replace("_", " ").strip()
    return text[:1].upper() + text[1:]


def safe_link(url: str | None) -> str | None:
    """Only http(s) links with a host reach a message; spaces, quotes and mrkdwn/HTML delimiters are percent-encoded."""
    if not url:
        return None
    url = _UNSAFE_IN_URL.sub(lambda m: f"%{ord(m.group()):02X}", url.strip())
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    return url if parts.scheme.lower() in {"http", "https"} and parts.hostname else None


def feed_name(feed: Feed | None) -> str:
    if feed is None:
        return "unknown source"
    return feed.title or urlsplit(feed.url).hostname or feed.url


def alert_content(session: Session, alert: Alert) -> AlertContent:
    article = session.get(Article, alert.article_id)
    assert article is not None
    verdict = session.execute(
        select(Classification).where(Classification.article_id == article.id).order_by(Classification.id.desc())
    ).scalars().first()
    outlets: list[Outlet] = []
    if article.story_id is not None:
        rows = session.execute(
            select(Article, Feed)
            .join(FeedEntry, FeedEntry.article_id == Article.id)
            .join(Feed, Feed.id == FeedEntry.feed_id)
            .where(Article.story_id == article.story_id)
            .order_by(FeedEntry.first_seen_at)
        ).all()
        seen = {feed_name(article.feed)}
        for other, feed in rows:
            name = feed_name(feed)
            if name not in seen:
                seen.add(name)
                outlets.append(Outlet(name, safe_link(other.url)))
    coverage = story_coverage(session, article.story_id) if article.story_id is not None else None
    return AlertContent(
        coverage=coverage.line() if coverage is not None else None,
        alert_id=alert.id,
        title=article.title,
        url=safe_link(article.url),
        source=feed_name(article.feed),
        published_at=article.published_at,
        language=article.language,
        score=verdict.score if verdict else 0.0,
        topics=list(verdict.topics) if verdict else [],
        entities=list(verdict.entities) if verdict else [],
        reasons=list(verdict.reasons) if verdict else [],
        summary=article.summary,
        other_outlets=outlets,
    )
