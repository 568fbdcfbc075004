"""Thin tasks: take ids, call one service that opens and commits its own unit of work, record metrics.

Every task is declared with ``cnai_task``: an explicit name ``cnai.<domain>.<verb>`` and a queue
from ``workers.celeryconfig.QUEUES``. Follow-up work is queued only after the transaction that
created it has committed; if queueing fails (broker down) nothing is lost, because the periodic
sweep finds the committed work in the database.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any, TypeVar

from celery import Task, shared_task
from kombu.exceptions import OperationalError

from services.alerts.deliver import deliver_due
from services.alerts.subscriptions import ensure_default_subscription
from services.database import unit_of_work
from services.ingest.stories import prune_story_bands
from services.observability.logs import bind_log_context
from services.observability.metrics import record_deliveries, record_feed_poll
from services.ingest.leases import due_feed_ids
from services.poll import poll_one_in_own_transaction
from services.settings import get_settings
from workers.celeryconfig import QUEUES, ROUTES

log = logging.getLogger(__name__)

F = TypeVar("F", bound=Callable[..., Any])


def cnai_task(name: str, *, queue: str, **options: Any) -> Callable[[F], Task]:
    """Declare a task with its explicit name and its queue.

    Celery routes by name (``task_routes``; the ``queue`` task attribute is deprecated), so the
    declared queue must be the one the name routes to; it is kept as ``declared_queue`` for tests.
    """
    routed = next((q for prefix, q in ROUTES.items() if name.startswith(prefix)), None)
    if queue not in QUEUES or routed != queue:
        raise ValueError(f"task {name!r}: queue {queue!r} is not declared or does not match its route {routed!r}")
    return shared_task(name=name, declared_queue=queue, ignore_result=True, **options)  # type: ignore[no-any-return]


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _enqueue_sweep() -> None:
    try:
        sweep_deliveries.delay()
    except OperationalError as exc:
        log.warning("could not queue a delivery sweep (%s); the periodic sweep will send the alerts", exc)


@cnai_task("cnai.poll.dispatch", queue="poll")
def dispatch_due_feeds() -> int:
    """Queue one poll per due feed. A poll message older than it is useful expires unrun."""
    settings = get_settings()
    now = _now()
    with unit_of_work() as session:
        ensure_default_subscription(session, settings)
        prune_story_bands(session, now)
        feed_ids = due_feed_ids(session, now)
    expires = max(2 * settings.dispatch_interval_s, settings.task_time_limit_s)
    for feed_id in feed_ids:
        poll_feed.apply_async((feed_id,), expires=expires)
    return len(feed_ids)


@cnai_task("cnai.poll.feed", queue="poll")
def poll_feed(feed_id: int) -> str:
    """Claim the feed's lease, poll it and commit; then ask for the new alerts to be delivered."""
    with bind_log_context(feed_id=feed_id):
        report = poll_one_in_own_transaction(feed_id, get_settings(), _now())
        if report is None:
            log.info("feed %s is not due or is being polled elsewhere", feed_id)
            return "skipped"
        record_feed_poll(report.status, new_articles=report.new_articles, relevant=report.relevant, alerts=report.alerts)
        if report.alerts:
            _enqueue_sweep()
        return report.status


@cnai_task("cnai.alerts.sweep", queue="deliver")
def sweep_deliveries() -> int:
    """Send every delivery that is due. Each message is claimed in the database before it is sent,
    so concurrent or redelivered sweeps never send one twice (services.alerts.deliver)."""
    report = deliver_due(get_settings())
    record_deliveries(report.sent_by_channel, failed=report.failed, retrying=report.retrying)
    return report.sent
