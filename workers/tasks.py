"""Thin tasks: take ids, open a unit of work, call one service, let the unit of work commit."""
from __future__ import annotations

from datetime import datetime, timezone

from celery import shared_task

from services.alerts.deliver import deliver_pending
from services.alerts.subscriptions import ensure_default_subscription
from services.database import unit_of_work
from services.poll import due_feed_ids, poll_one_in_own_transaction
from services.settings import get_settings


@shared_task(name="cnai.poll.dispatch", ignore_result=True)
def dispatch_due_feeds() -> int:
    """Enqueue one poll task per due feed."""
    now = datetime.now(timezone.utc)
    with unit_of_work() as session:
        ensure_default_subscription(session, get_settings())
        feed_ids = due_feed_ids(session, now)
    for feed_id in feed_ids:
        poll_feed_task.delay(feed_id)
    return len(feed_ids)


@shared_task(name="cnai.poll.feed", ignore_result=True)
def poll_feed_task(feed_id: int) -> None:
    report = poll_one_in_own_transaction(feed_id, get_settings(), datetime.now(timezone.utc))
    if report is not None and report.alerts:
        deliver_alerts_task.delay()


@shared_task(name="cnai.alerts.sweep", ignore_result=True)
def deliver_alerts_task() -> int:
    with unit_of_work() as session:
        return deliver_pending(session, get_settings(), datetime.now(timezone.utc)).sent
