"""Write alerts in the same transaction as the classification that causes them (the outbox)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from db.models import Alert, Article, Delivery, Subscription
from services.classify import Verdict


def subscription_matches(subscription: Subscription, article: Article, verdict: Verdict) -> bool:
    if not subscription.enabled or not verdict.relevant or verdict.score < subscription.min_score:
        return False
    if subscription.topics and not set(subscription.topics) & set(verdict.topics):
        return False
    if subscription.entities and not {e.casefold() for e in subscription.entities} & {e.casefold() for e in verdict.entities}:
        return False
    if subscription.languages and (article.language or "") not in subscription.languages and not any(
        (article.language or "").startswith(lang) for lang in subscription.languages
    ):
        return False
    if subscription.sources:
        source = (article.feed.url if article.feed else "") + " " + (article.url or "")
        if not any(s in source for s in subscription.sources):
            return False
    return True


def queue_alerts(session: Session, article: Article, verdict: Verdict, now: datetime) -> list[Alert]:
    """One alert per (story, matching subscription), with one pending delivery per channel.

    A story already alerted for a subscription gets no second alert: later outlets join the story instead.
    """
    if article.story_id is None:
        session.flush()
    created: list[Alert] = []
    subscriptions = session.execute(select(Subscription).where(Subscription.enabled.is_(True))).scalars()
    for subscription in subscriptions:
        if not subscription_matches(subscription, article, verdict):
            continue
        exists = session.execute(
            select(Alert.id).where(Alert.story_id == article.story_id, Alert.subscription_id == subscription.id)
        ).first()
        if exists:
            continue
        alert = Alert(story_id=article.story_id, article_id=article.id, subscription_id=subscription.id, created_at=now)
        session.add(alert)
        for channel in subscription.channels:
            alert.deliveries.append(Delivery(channel=channel, status="pending", next_attempt_at=now))
        created.append(alert)
    session.flush()
    return created
