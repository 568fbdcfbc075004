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

from celery import Task, current_app, shared_task
from kombu.exceptions import OperationalError

from db.enums import PollStatus, Queue
from services.alerts.deliver import deliver_due
from services.alerts.subscriptions import ensure_default_subscription
from services.classify import learned
from services.database import unit_of_work
from services.dispatch import lease_due_feeds
from services.ingest.politeness import HostLimiter, host_limiter, shared_host_limiter
from services.ingest.stories import prune_story_bands
from services.learning import serve_database_model
from services.observability.logs import bind_log_context
from services.observability.metrics import record_deliveries, record_feed_poll
from services.poll import FeedPollReport, poll_leased_feeds, poll_one_in_own_transaction
from services.retention import prune_logs
from services.settings import get_settings
from workers.celeryconfig import QUEUES, ROUTES

log = logging.getLogger(__name__)
learned.model_source = serve_database_model  # every worker serves the model active in the database

F = TypeVar("F", bound=Callable[..., Any])


def cnai_task(name: str, *, queue: str, **options: Any) -> Callable[[F], Task]:
    """Declare a task with its explicit name and its queue.

    Celery routes by name (``task_routes``; the ``queue`` task attribute is deprecated), so the
    declared queue must be the one the name routes to; it is kept as ``declared_queue`` for tests.
    """
    routed = next((q for prefix, q in ROUTES.items() if name.startswith(prefix)), None)
    if queue not in QUEUES or routed != queue:
        raise ValueError(f"task {name!r}: queue {queue!r} is not declared or does not match its route {routed!r}")
    return shared_task(name=name, declared_queue=queue, ignore_result=True, **options)


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _enqueue_sweep() -> None:
    try:
        sweep_deliveries.delay()
    except OperationalError as exc:
        log.warning("could not queue a delivery sweep (%s); the periodic sweep will send the alerts", exc)


@cnai_task("cnai.poll.dispatch", queue=Queue.DISPATCH)
def dispatch_due_feeds() -> int:
    """Lease due feeds (as many as the workers can poll before the messages expire) and queue them in
    batches of POLL_BATCH_SIZE; a batch message expires before its leases do (services.dispatch)."""
    settings = get_settings()
    now = _now()
    with unit_of_work() as session:
        ensure_default_subscription(session, settings)
        prune_story_bands(session, now)
        dispatch = lease_due_feeds(session, now, settings)
    if dispatch.token is None:
        return 0
    token = dispatch.token.isoformat()
    for batch in dispatch.batches:
        poll_feeds.apply_async((batch, token), expires=dispatch.expires_s)
    return dispatch.feeds


def worker_limiter() -> HostLimiter:
    """Per-host politeness for poll tasks: shared through Redis across workers (FETCH_PER_HOST_SHARED)."""
    settings = get_settings()
    if settings.fetch_per_host_shared:
        return shared_host_limiter(
            settings.redis_url, settings.fetch_per_host_concurrency, settings.fetch_per_host_gap_s
        )
    return host_limiter(settings.fetch_per_host_concurrency, settings.fetch_per_host_gap_s)


def _poll_queue_is_empty() -> bool:
    """Whether no poll message waits in the broker (a worker that finds it so asks for a dispatch)."""
    try:
        with current_app.connection_for_read() as connection:
            declared = connection.default_channel.queue_declare(queue=Queue.POLL, passive=False)
            return int(declared.message_count) == 0
    except Exception as exc:  # the broker is away: the beat's next dispatch refills the queue
        log.debug("could not size the poll queue: %s", exc)
        return False


def _record_reports(reports: list[FeedPollReport]) -> None:
    alerts = 0
    for report in reports:
        if report.status == PollStatus.SKIPPED:
            continue
        record_feed_poll(
            report.status, new_articles=report.new_articles, relevant=report.relevant, alerts=report.alerts
        )
        alerts += report.alerts
    if alerts:
        _enqueue_sweep()


@cnai_task("cnai.poll.feeds", queue=Queue.POLL)
def poll_feeds(feed_ids: list[int], token: str) -> int:
    """Poll the feeds a dispatch leased with ``token`` (those still holding it), write them in one
    transaction, then ask for the new alerts to be delivered; refill the queue when it ran dry."""
    with bind_log_context(feed_id=feed_ids[0] if len(feed_ids) == 1 else None):
        reports = poll_leased_feeds(
            list(feed_ids), datetime.fromisoformat(token), get_settings(), _now(), limiter=worker_limiter()
        )
        _record_reports(reports)
    if _poll_queue_is_empty():
        try:
            dispatch_due_feeds.delay()
        except OperationalError as exc:
            log.warning("could not queue a dispatch (%s); the beat's next one will", exc)
    return sum(report.status != PollStatus.SKIPPED for report in reports)


@cnai_task("cnai.poll.feed", queue=Queue.POLL)
def poll_feed(feed_id: int) -> str:
    """Claim the feed's lease, poll it and commit; then ask for the new alerts to be delivered."""
    with bind_log_context(feed_id=feed_id):
        report = poll_one_in_own_transaction(feed_id, get_settings(), _now(), limiter=worker_limiter())
        if report is None:
            log.info("feed %s is not due or is being polled elsewhere", feed_id)
            return PollStatus.SKIPPED
        record_feed_poll(
            report.status, new_articles=report.new_articles, relevant=report.relevant, alerts=report.alerts
        )
        if report.alerts:
            _enqueue_sweep()
        return report.status


@cnai_task("cnai.poll.prune", queue=Queue.POLL)
def prune_logs_task() -> int:
    """Delete fetch_log and feed_entries rows past their retention, in bounded batches (services.retention)."""
    settings = get_settings()
    report = prune_logs(settings, _now(), budget_s=settings.task_soft_time_limit_s / 2)
    log.info("retention: deleted %s%s", report.deleted, "" if report.finished else " (more next run)")
    return sum(report.deleted.values())


@cnai_task("cnai.alerts.sweep", queue=Queue.DELIVER)
def sweep_deliveries() -> int:
    """Send every delivery that is due. Each message is claimed in the database before it is sent,
    so concurrent or redelivered sweeps never send one twice (services.alerts.deliver)."""
    report = deliver_due(get_settings())
    record_deliveries(report.sent_by_channel, failed=report.failed, retrying=report.retrying)
    return report.sent


@cnai_task("cnai.classify.retrain", queue="classify")
def retrain_model() -> str:
    """Retrain the learned layer on readers' labels; promote the new model only if P and R do not drop."""
    from services.learning import retrain

    settings = get_settings()
    with unit_of_work() as session:
        outcome = retrain(session, settings.model_eval_file, min_new_labels=settings.model_retrain_min_labels)
    log.info("retrain: %s", outcome.reason)
    return outcome.reason
