"""Stories written straight through the models, for web and service tests (our own invented texts)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from sqlalchemy.orm import Session

from db.models import (
    Alert,
    Article,
    Channel,
    Classification,
    Delivery,
    Feed,
    Story,
    Subscription,
    SubscriptionChannel,
)

BASE_TIME = datetime(2026, 11, 2, 8, 0, tzinfo=timezone.utc)


@dataclass
class Seeded:
    story_id: int
    article_id: int
    feed_id: int
    alert_id: int | None


@dataclass
class StorySpec:
    title: str
    summary: str = ""
    language: str = "en"
    topics: list[str] = field(default_factory=lambda: ["regulation"])
    entities: list[str] = field(default_factory=list)
    relevant: bool = True
    score: float = 0.9
    hours: int = 0
    alerted: bool = True
    feed: str = "https://news.example.org/feed.xml"
    priority: str | None = None


def ensure_feed(session: Session, url: str) -> Feed:
    feed = session.query(Feed).filter_by(url=url).one_or_none()
    if feed is None:
        feed = Feed(url=url, title=url.split("/")[2])
        session.add(feed)
        session.flush()
    return feed


def ensure_subscription(
    session: Session, name: str = "default", channel_kind: str = "email", target: str = "desk@example.org"
) -> Subscription:
    subscription = session.query(Subscription).filter_by(name=name).one_or_none()
    if subscription is None:
        channel = Channel(name=f"{name}-{channel_kind}", kind=channel_kind, target=target)
        subscription = Subscription(name=name)
        session.add_all([channel, subscription])
        session.flush()
        session.add(SubscriptionChannel(subscription_id=subscription.id, channel_id=channel.id))
        session.flush()
    return subscription


def seed_story(session: Session, spec: StorySpec) -> Seeded:
    feed = ensure_feed(session, spec.feed)
    at = BASE_TIME + timedelta(hours=spec.hours)
    story = Story(title=spec.title, first_seen_at=at, last_seen_at=at, article_count=1)
    session.add(story)
    session.flush()
    article = Article(
        feed_id=feed.id,
        story_id=story.id,
        title=spec.title,
        summary=spec.summary,
        language=spec.language,
        published_at=at,
        fetched_at=at,
        url=f"https://news.example.org/{story.id}",
        canonical_url=f"https://news.example.org/{story.id}",
        fingerprint=hashlib.sha256(f"{spec.title}|{spec.summary}|{story.id}".encode()).hexdigest(),
    )
    session.add(article)
    session.flush()
    session.add(
        Classification(
            article_id=article.id,
            classifier_version="test",
            relevant=spec.relevant,
            score=spec.score,
            topics=spec.topics,
            entities=spec.entities,
            reasons=["invented for a test"],
            priority=spec.priority if spec.relevant else None,
            created_at=at,
        )
    )
    alert_id = None
    if spec.alerted:
        subscription = ensure_subscription(session)
        alert = Alert(
            story_id=story.id, article_id=article.id, subscription_id=subscription.id, status="sent", created_at=at
        )
        session.add(alert)
        session.flush()
        for link in session.query(SubscriptionChannel).filter_by(subscription_id=subscription.id):
            session.add(
                Delivery(
                    alert_id=alert.id,
                    channel_id=link.channel_id,
                    status="sent",
                    attempts=1,
                    next_attempt_at=at,
                    sent_at=at,
                )
            )
        alert_id = alert.id
    session.flush()
    return Seeded(story.id, article.id, feed.id, alert_id)
