"""Send due deliveries, retrying failures with exponential backoff."""
from __future__ import annotations

import logging
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from db.models import Alert, Delivery
from services.alerts.channels import DeliveryError, send
from services.alerts.content import alert_content
from services.settings import Settings

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
BASE_BACKOFF_S = 30.0
MAX_BACKOFF_S = 3600.0


@dataclass
class DeliveryReport:
    sent: int = 0
    failed: int = 0
    retrying: int = 0
    sent_by_channel: dict[str, int] = field(default_factory=dict)


def backoff_seconds(attempts: int) -> float:
    return min(MAX_BACKOFF_S, BASE_BACKOFF_S * 2 ** max(0, attempts - 1)) * random.uniform(0.8, 1.2)


def refresh_alert_status(alert: Alert) -> None:
    statuses = {d.status for d in alert.deliveries}
    if statuses <= {"sent"}:
        alert.status = "sent"
    elif "sent" in statuses and statuses & {"failed"}:
        alert.status = "partial"
    elif statuses <= {"failed"}:
        alert.status = "failed"
    else:
        alert.status = "pending"


def deliver_one(session: Session, delivery: Delivery, settings: Settings, now: datetime, report: DeliveryReport) -> None:
    content = alert_content(session, delivery.alert)
    delivery.attempts += 1
    try:
        delivery.message_ref = send(delivery.channel, content, settings)
    except DeliveryError as exc:
        delivery.last_error = str(exc)
        if exc.permanent or delivery.attempts >= MAX_ATTEMPTS:
            delivery.status = "failed"
            report.failed += 1
            log.error("delivery %s to %s failed for good: %s", delivery.id, delivery.channel.name, exc)
        else:
            delay = exc.retry_after if exc.retry_after is not None else backoff_seconds(delivery.attempts)
            delivery.next_attempt_at = now + timedelta(seconds=delay)
            report.retrying += 1
            log.warning("delivery %s to %s will be retried in %.0fs: %s", delivery.id, delivery.channel.name, delay, exc)
    else:
        delivery.status = "sent"
        delivery.sent_at = now
        delivery.last_error = None
        report.sent += 1
        report.sent_by_channel[delivery.channel.name] = report.sent_by_channel.get(delivery.channel.name, 0) + 1
    refresh_alert_status(delivery.alert)


def deliver_pending(session: Session, settings: Settings, now: datetime, limit: int = 500) -> DeliveryReport:
    """Send every pending delivery that is due, oldest first."""
    report = DeliveryReport()
    due = session.execute(
        select(Delivery)
        .where(Delivery.status == "pending", Delivery.next_attempt_at <= now)
        .order_by(Delivery.id)
        .limit(limit)
    ).scalars().all()
    for delivery in due:
        deliver_one(session, delivery, settings, now, report)
        session.flush()
    return report
