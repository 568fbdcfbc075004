"""Write alerts in the same transaction as the classification that causes them (the outbox).

One alert per (story, subscription): the unique key makes a second alert for a story impossible,
even when two workers classify two outlets of the same story at once (``ON CONFLICT DO NOTHING``).
Later outlets join the story and are listed when the alert is sent, never re-alerted.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from db.enums import AlertStatus, DeliveryStatus
from db.models import Alert, Article, Delivery, Subscription
from services.alerts.content import PRIORITIES, DeliveryMode
from services.alerts.schedule import release_at
from services.classify.priority import Priority
from services.feedback import muted

log = logging.getLogger(__name__)


class VerdictLike(Protocol):
    """A classifier verdict or a stored Classification: what subscriptions filter on (read-only)."""

    @property
    def relevant(self) -> bool: ...
    @property
    def score(self) -> float: ...
    @property
    def topics(self) -> Sequence[str]: ...
    @property
    def entities(self) -> Sequence[str]: ...


def verdict_priority(verdict: object) -> str:
    """The verdict's priority; ``normal`` when it has none (a classifier or stored verdict without triage)."""
    priority = getattr(verdict, "priority", None)
    return priority if priority in PRIORITIES else Priority.NORMAL.value


def delivery_mode_for(subscription: Subscription, priority: str) -> DeliveryMode | None:
    """How ``subscription`` wants alerts of ``priority``: ``instant``, ``digest``, or None (not wanted).

    Low is never instant unless the subscription lists it in ``instant_priorities``.
    """
    if priority in (subscription.instant_priorities or []):
        return DeliveryMode.INSTANT
    if priority in (subscription.digest_priorities or []):
        return DeliveryMode.DIGEST
    return None


def language_matches(language: str | None, wanted: Sequence[str]) -> bool:
    """``zh`` matches ``zh-Hans`` and ``zh-Hant``; ``zh-Hant`` matches only itself."""
    language = (language or "").lower()
    return any(language == w.lower() or language.startswith(w.lower() + "-") for w in wanted)


def source_matches(article: Article, wanted: Sequence[str]) -> bool:
    """A feed URL, a host or any part of one, matched against the feed's and the article's URLs."""
    haystack = " ".join(filter(None, [article.feed.url if article.feed else None, article.url])).lower()
    return any(w.lower() in haystack for w in wanted if w)


def subscription_matches(subscription: Subscription, article: Article, verdict: VerdictLike) -> bool:
    if not subscription.enabled or not verdict.relevant or verdict.score < subscription.min_score:
        return False
    if subscription.topics and not set(subscription.topics) & set(verdict.topics):
        return False
    if subscription.entities and not {e.casefold() for e in subscription.entities} & {
        e.casefold() for e in verdict.entities
    }:
        return False
    if subscription.languages and not language_matches(article.language, subscription.languages):
        return False
    if subscription.sources and not source_matches(article, subscription.sources):
        return False
    return True


def _insert_alert(
    session: Session,
    article: Article,
    subscription: Subscription,
    now: datetime,
    priority: str | None,
    mode: DeliveryMode,
) -> int | None:
    """Insert the alert unless the story already has one for this subscription; its id, or None."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    elif dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert  # type: ignore[assignment]  # same call as PostgreSQL's insert
    else:  # pragma: no cover - PostgreSQL and SQLite are the supported databases
        raise RuntimeError(f"unsupported database {dialect}")
    statement = (
        insert(Alert)
        .values(
            story_id=article.story_id,
            article_id=article.id,
            subscription_id=subscription.id,
            status=AlertStatus.PENDING,
            created_at=now,
            priority=priority,
            delivery_mode=mode.value,
        )
        .on_conflict_do_nothing(index_elements=["story_id", "subscription_id"])
        .returning(Alert.id)
    )
    return session.execute(statement).scalar_one_or_none()


def queue_alerts(session: Session, article: Article, verdict: VerdictLike, now: datetime) -> list[Alert]:
    """One alert per (story, matching subscription), with one pending delivery per channel.

    The article's priority decides, per subscription, whether it goes out instantly, in the subscription's
    digest, or not at all (``instant_priorities`` / ``digest_priorities``). Each delivery is due at once, or at
    the subscription's next digest slot, or when its quiet hours end.
    """
    if not verdict.relevant:
        return []
    if article.story_id is None:
        session.flush()
    if article.story_id is None:
        log.warning("article %s has no story; no alert", article.id)
        return []
    created: list[Alert] = []
    priority = verdict_priority(verdict)
    stated = priority if getattr(verdict, "priority", None) else None  # stored as given; NULL is routed as normal
    subscriptions = session.execute(
        select(Subscription)
        .where(Subscription.enabled.is_(True))
        .options(selectinload(Subscription.channels))
        .order_by(Subscription.id)
    ).scalars()
    for subscription in subscriptions:
        if not subscription_matches(subscription, article, verdict):
            continue
        if muted(session, subscription.id, article.feed.url if article.feed else None, list(verdict.entities)):
            continue  # a reader muted this source or entity for the subscription (services/feedback)
        mode = delivery_mode_for(subscription, priority)
        if mode is None:
            continue
        alert_id = _insert_alert(session, article, subscription, now, stated, mode)
        if alert_id is None:
            continue
        due = release_at(subscription, now, mode)
        for channel in subscription.channels:
            session.add(
                Delivery(
                    alert_id=alert_id,
                    channel_id=channel.id,
                    status=DeliveryStatus.PENDING,
                    attempts=0,
                    next_attempt_at=due,
                )
            )
        alert = session.get(Alert, alert_id)
        assert alert is not None
        created.append(alert)
    session.flush()
    return created
