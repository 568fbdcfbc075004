"""What was alerted, to whom, when and why: queries behind `cnai alerts list` and `cnai alerts show`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from db.enums import DeliveryStatus
from db.models import Alert, Article, Channel, Delivery, Subscription, SubscriptionChannel
from services.alerts.channels import describe_target, resolve_target
from services.alerts.content import AlertContent, DeliveryMode, alert_content, local_time
from services.alerts.email import recipients
from services.alerts.translate import cached_english


@dataclass
class AlertRow:
    id: int
    created_at: datetime
    status: str
    subscription: str
    channels: list[str]
    title: str
    article_id: int | None = None
    story_id: int | None = None
    priority: str | None = None
    created_local: str = ""
    """Creation time in the subscription's time zone, the zone named."""
    why: list[str] | None = None
    """At most three reader sentences."""
    english: str | None = None
    """``English gloss: ...`` or ``English (machine translation): ...`` for Chinese items."""


@dataclass
class DeliveryDetail:
    id: int
    channel: str
    kind: str
    to: str
    status: str
    attempts: int
    next_attempt_at: datetime | None
    sent_at: datetime | None
    message_ref: str | None
    last_error: str | None
    carried_by: str | None


@dataclass
class AlertDetail:
    id: int
    created_at: datetime
    status: str
    subscription: str
    mode: str
    content: AlertContent
    deliveries: list[DeliveryDetail]
    article_id: int | None = None
    story_id: int | None = None


def recent_alerts(
    session: Session, *, status: str | None = None, since: datetime | None = None, limit: int = 50
) -> list[AlertRow]:
    query = (
        select(Alert, Subscription.name, Article.title, Subscription.timezone)
        .join(Subscription, Subscription.id == Alert.subscription_id)
        .join(Article, Article.id == Alert.article_id)
        .options(selectinload(Alert.deliveries).joinedload(Delivery.channel))
        .order_by(Alert.created_at.desc(), Alert.id.desc())
        .limit(limit)
    )
    if status:
        query = query.where(Alert.status == status)
    if since:
        query = query.where(Alert.created_at >= since)
    rows = []
    for alert, name, title, zone_name in session.execute(query).all():
        content = with_cached_translation(session, alert_content(session, alert, zone_name or "UTC"))
        english = f"{content.english.label}: {content.english.text}" if content.english else None
        rows.append(
            AlertRow(
                id=alert.id,
                created_at=alert.created_at,
                status=alert.status,
                subscription=name,
                channels=[f"{d.channel.name}:{d.status}" for d in sorted(alert.deliveries, key=lambda d: d.id)],
                title=title,
                priority=content.priority,
                created_local=local_time(alert.created_at, zone_name),
                why=content.why,
                english=english,
                article_id=alert.article_id,
                story_id=alert.story_id,
            )
        )
    return rows


def with_cached_translation(session: Session, content: AlertContent) -> AlertContent:
    """The content with the LLM's cached English, if any (never calls the LLM: listing must be fast and offline)."""
    english = cached_english(session, content)
    if english is not None:
        content.english = english
    return content


def held_for_digest(session: Session, since: datetime) -> int:
    """Alerts created since ``since`` that wait for their subscription's digest (low priority, by default)."""
    return int(
        session.execute(
            select(func.count())
            .select_from(Alert)
            .where(Alert.created_at >= since, Alert.delivery_mode == DeliveryMode.DIGEST.value)
        ).scalar_one()
    )


def alert_detail(session: Session, alert_id: int) -> AlertDetail | None:
    alert = session.execute(
        select(Alert).where(Alert.id == alert_id).options(selectinload(Alert.deliveries).joinedload(Delivery.channel))
    ).scalar_one_or_none()
    if alert is None:
        return None
    subscription = session.get(Subscription, alert.subscription_id)
    assert subscription is not None
    mode = (f"{subscription.digest_schedule} digest" if subscription.mode == "digest" else "instant") + (
        f", quiet {subscription.quiet_start}-{subscription.quiet_end} {subscription.timezone}"
        if subscription.quiet_start
        else ""
    )
    deliveries = []
    for d in sorted(alert.deliveries, key=lambda d: d.id):
        deliveries.append(
            DeliveryDetail(
                id=d.id,
                channel=d.channel.name,
                kind=d.channel.kind,
                to=describe_target(d.channel.kind, d.channel.target),
                status=d.status,
                attempts=d.attempts,
                next_attempt_at=d.next_attempt_at if d.status == DeliveryStatus.PENDING else None,
                sent_at=d.sent_at,
                message_ref=d.message_ref,
                last_error=d.last_error,
                carried_by=f"digest {d.claim_token}"
                if d.status == DeliveryStatus.DIGESTED or alert.delivery_mode == DeliveryMode.DIGEST
                else None,
            )
        )
    return AlertDetail(
        id=alert.id,
        created_at=alert.created_at,
        status=alert.status,
        subscription=subscription.name,
        mode=mode,
        content=with_cached_translation(session, alert_content(session, alert)),
        deliveries=deliveries,
        article_id=alert.article_id,
        story_id=alert.story_id,
    )


def alert_email_recipients(session: Session, alert_id: int) -> str:
    """Who an email link answer is credited to: the email addresses of the alert's subscription."""
    rows = session.execute(
        select(Channel)
        .join(SubscriptionChannel, SubscriptionChannel.channel_id == Channel.id)
        .join(Alert, Alert.subscription_id == SubscriptionChannel.subscription_id)
        .where(Alert.id == alert_id, Channel.kind == "email")
    ).scalars()
    addresses: list[str] = []
    for channel in rows:
        try:
            addresses += recipients(resolve_target(channel))
        except Exception:  # noqa: BLE001 - an unresolvable target still credits "email"
            continue
    return ", ".join(dict.fromkeys(addresses)) or "email reader"
