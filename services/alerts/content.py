"""What an alert says: the article, its score and reasons, and the other outlets of its story."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from db.models import Alert, Article, Classification, Feed, FeedEntry


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


def safe_link(url: str | None) -> str | None:
    """Only http(s) links reach a message."""
    if not url:
        return None
    try:
        scheme = urlsplit(url.strip()).scheme.lower()
    except ValueError:
        return None
    return url.strip() if scheme in {"http", "https"} else None


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
    return AlertContent(
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
