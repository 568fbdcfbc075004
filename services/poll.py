"""Polling: fetch → parse → dedupe → classify → persist → alert, for one feed or a whole cycle.

A poll has two halves. ``fetch_and_parse`` touches no database: in a Celery task it runs
outside any transaction; in ``run_cycle`` the fetches run in CYCLE_FETCH_THREADS threads
(per-host limits apply) and this thread parses. ``record_poll`` then writes the outcome in
one transaction, sequentially, in a few bulk statements. A feed is *claimed* first with a conditional UPDATE
that sets its lease; the lease value is the claim's token, and ``record_poll`` writes
only if the feed still carries that token, so a poll that overran its lease (and was
claimed again by another worker) writes nothing. A poll only writes alert rows (the
outbox); delivery happens after the poll's transaction has committed.
"""
from __future__ import annotations

import logging
import time
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone
from typing import Any

import httpx
from sqlalchemy import bindparam, insert, or_, select, update
from sqlalchemy.orm import Session

from db.enums import PollStatus
from db.models import Article, Classification, Feed, FetchLog
from db.results import affected_rows
from services.ingest.entries import ParsedFeed
from services.ingest.fetch import FetchError, FetchResult, build_client, fetch_feed
from services.ingest.parse import ParseError, parse_feed
from services.ingest.politeness import HostLimiter, host_limiter
from services.ingest.schedule import disable_feed, record_failure, record_not_modified, record_success
from services.ingest.store import NewArticle, store_entries
from services.settings import Settings

log = logging.getLogger(__name__)

LEASE = timedelta(minutes=5)  # default; callers with settings use POLL_LEASE_SECONDS
CYCLE_FETCH_THREADS = 8


@dataclass
class FeedPollReport:
    feed_id: int
    status: PollStatus = PollStatus.OK
    entries: int = 0
    new_articles: int = 0
    relevant: int = 0
    alerts: int = 0
    backfilled: int = 0
    """New articles stored and classified without alerts: older than ALERT_BACKFILL_HOURS on a first poll."""
    error: str | None = None


@dataclass
class CycleReport:
    feeds_polled: int = 0
    feeds_failed: int = 0
    new_articles: int = 0
    relevant: int = 0
    alerts_queued: int = 0
    backfilled: int = 0
    feeds: list[FeedPollReport] = field(default_factory=list)

    def add(self, report: FeedPollReport) -> None:
        self.feeds.append(report)
        self.feeds_polled += 1
        self.feeds_failed += report.status == PollStatus.ERROR
        self.new_articles += report.new_articles
        self.relevant += report.relevant
        self.alerts_queued += report.alerts
        self.backfilled += report.backfilled


@dataclass
class FeedState:
    """A claimed feed's row as read at claim time; the poll updates it and writes it back in one UPDATE."""

    id: int
    url: str
    etag: str | None
    last_modified: str | None
    lease_until: datetime | None
    title: str | None = None
    site_url: str | None = None
    poll_interval_s: int = 900
    entries_per_day: float | None = None
    consecutive_failures: int = 0
    last_success_at: datetime | None = None
    next_poll_at: datetime | None = None
    last_error: str | None = None
    disabled_at: datetime | None = None
    disabled_reason: str | None = None
    backfill_pending: bool = False


STATE_COLUMNS = [Feed.id, Feed.url, Feed.etag, Feed.last_modified, Feed.lease_until, Feed.title, Feed.site_url,
                 Feed.poll_interval_s, Feed.entries_per_day, Feed.consecutive_failures, Feed.last_success_at,
                 Feed.next_poll_at, Feed.last_error, Feed.disabled_at, Feed.disabled_reason, Feed.backfill_pending]
WRITTEN = ("url", "etag", "last_modified", "title", "site_url", "poll_interval_s", "entries_per_day",
           "consecutive_failures", "last_success_at", "next_poll_at", "last_error", "disabled_at", "disabled_reason",
           "backfill_pending")


@dataclass
class FetchOutcome:
    started_at: datetime
    duration_s: float = 0.0
    result: FetchResult | None = None
    parsed: ParsedFeed | None = None
    error: FetchError | ParseError | None = None
    crash: str | None = None


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


def due_feed_ids(session: Session, now: datetime, *, include_not_due: bool = False) -> list[int]:
    """Active feeds due at ``now`` (all active feeds with ``include_not_due``) and not leased, oldest due first."""
    query = select(Feed.id).where(Feed.disabled_at.is_(None)).order_by(Feed.next_poll_at, Feed.id)
    if not include_not_due:
        query = query.where(Feed.next_poll_at <= now, or_(Feed.lease_until.is_(None), Feed.lease_until < now))
    return list(session.execute(query).scalars())


def _claimable(now: datetime, due_only: bool) -> list[Any]:
    conditions = [Feed.disabled_at.is_(None), or_(Feed.lease_until.is_(None), Feed.lease_until < now)]
    if due_only:
        conditions.append(Feed.next_poll_at <= now)
    return conditions


def claim_feed(
    session: Session, feed_id: int, now: datetime, *, due_only: bool = False, lease: timedelta = LEASE
) -> bool:
    """Take the feed's lease (until ``now`` + ``lease``, POLL_LEASE_SECONDS) so no other worker polls it at the same time.

    One conditional UPDATE: of two workers claiming at once, the database lets exactly one
    match the row (PostgreSQL re-checks the condition after the first commits; SQLite
    serialises writers). ``due_only`` also requires the feed to still be due, so a duplicate
    task for a feed polled a moment ago does nothing.
    """
    claimed = session.execute(
        update(Feed).where(Feed.id == feed_id, *_claimable(now, due_only)).values(lease_until=now + lease, last_polled_at=now),
        execution_options={"synchronize_session": False},
    )
    return affected_rows(claimed) == 1


def claim_feeds(
    session: Session, feed_ids: list[int], now: datetime, *, due_only: bool = False, lease: timedelta = LEASE
) -> list[FeedState]:
    """claim_feed for many feeds in one statement; the snapshots of the feeds this caller now holds."""
    if not feed_ids:
        return []
    rows = session.execute(
        update(Feed)
        .where(Feed.id.in_(feed_ids), *_claimable(now, due_only))
        .values(lease_until=now + lease, last_polled_at=now)
        .returning(*STATE_COLUMNS),
        execution_options={"synchronize_session": False},
    ).all()
    order = {feed_id: i for i, feed_id in enumerate(feed_ids)}
    return sorted((FeedState(*row) for row in rows), key=lambda s: order[s.id])  # type: ignore[arg-type]  # rows of STATE_COLUMNS, in FeedState's field order


def _snapshot(session: Session, feed_id: int) -> FeedState | None:
    row = session.execute(select(*STATE_COLUMNS).where(Feed.id == feed_id, Feed.disabled_at.is_(None))).first()
    return FeedState(*row) if row else None  # type: ignore[arg-type]  # a row of STATE_COLUMNS, in FeedState's field order


def fetch_only(
    snapshot: FeedState,
    settings: Settings,
    *,
    client: httpx.Client | None = None,
    limiter: HostLimiter | None = None,
) -> FetchOutcome:
    """Fetch one feed, touching no database (safe in worker threads); ``parse_outcome`` parses it."""
    outcome = FetchOutcome(started_at=_utcnow())
    started = time.monotonic()
    try:
        outcome.result = fetch_feed(
            snapshot.url, settings, etag=snapshot.etag, last_modified=snapshot.last_modified, client=client, limiter=limiter
        )
    except FetchError as exc:
        outcome.error = exc
    except Exception as exc:  # a bug on one feed's input must not stop the cycle
        log.exception("fetching feed %s (%s) crashed", snapshot.id, snapshot.url)
        outcome.crash = f"internal error: {type(exc).__name__}: {exc}"[:500]
    queued = getattr(outcome.result or outcome.error, "queued_s", 0.0)
    outcome.duration_s = time.monotonic() - started - queued
    return outcome


def parse_outcome(snapshot: FeedState, outcome: FetchOutcome) -> FetchOutcome:
    """Parse a fetched body into normalised entries (CPU only, no database)."""
    result = outcome.result
    if result is None or result.not_modified or outcome.parsed is not None:
        return outcome
    started = time.monotonic()
    try:
        outcome.parsed = parse_feed(result.body, result.url, content_type=result.content_type, now=outcome.started_at)
    except ParseError as exc:
        outcome.error = exc
    except Exception as exc:  # a bug on one feed's input must not stop the cycle
        log.exception("parsing feed %s (%s) crashed", snapshot.id, snapshot.url)
        outcome.crash = f"internal error: {type(exc).__name__}: {exc}"[:500]
    result.body = b""
    outcome.duration_s += time.monotonic() - started
    return outcome


def fetch_and_parse(
    snapshot: FeedState,
    settings: Settings,
    *,
    client: httpx.Client | None = None,
    limiter: HostLimiter | None = None,
) -> FetchOutcome:
    """Fetch and parse one feed, touching no database."""
    return parse_outcome(snapshot, fetch_only(snapshot, settings, client=client, limiter=limiter))


def _release_lease(session: Session, state: FeedState) -> bool:
    """Clear our lease if the feed still carries it (and is active); False when another worker claimed it since."""
    if state.lease_until is None:
        return True
    released = session.execute(
        update(Feed)
        .where(Feed.id == state.id, Feed.lease_until == state.lease_until, Feed.disabled_at.is_(None))
        .values(lease_until=None),
        execution_options={"synchronize_session": False},
    )
    return affected_rows(released) == 1


_FEEDS = Feed.__table__
_WRITE_FEED = (
    update(_FEEDS)
    .where(_FEEDS.c.id == bindparam("w_id"), _FEEDS.c.disabled_at.is_(None))
    .values(lease_until=None, last_polled_at=bindparam("w_polled"), **{name: bindparam("w_" + name) for name in WRITTEN})
)
_WRITE_LEASED_FEED = _WRITE_FEED.where(_FEEDS.c.lease_until == bindparam("w_lease"))
_INSERT_FETCH_LOG = insert(FetchLog.__table__)
_LOG_DEFAULTS = {"status_code": None, "bytes": 0, "entries": 0, "new_entries": 0, "error": None}


def _write_feed(session: Session, state: FeedState, lease: datetime | None, polled_at: datetime) -> bool:
    """Write the feed's new state and release the lease in one UPDATE; False if ``lease`` is no longer ours.

    The statement is built once with bind parameters (a poll cycle runs it for every feed)."""
    params = {"w_" + name: getattr(state, name) for name in WRITTEN}
    params.update(w_id=state.id, w_polled=polled_at)
    if lease is None:
        return affected_rows(session.execute(_WRITE_FEED, params)) == 1
    params["w_lease"] = lease
    return affected_rows(session.execute(_WRITE_LEASED_FEED, params)) == 1


def _follow_permanent_redirect(session: Session, state: FeedState, result: FetchResult) -> None:
    target = result.permanent_redirect_to
    if target and target != state.url:
        if session.execute(select(Feed.id).where(Feed.url == target)).first() is None:
            log.info("feed %s moved permanently: %s -> %s", state.id, state.url, target)
            state.url = target


def record_poll(session: Session, snapshot: FeedState, outcome: FetchOutcome, settings: Settings) -> FeedPollReport:
    """Write one poll's outcome: entries, articles, stories, classifications, alerts, schedule, fetch log.

    Nothing is written when the lease was lost (another worker claimed the feed) or the feed was disabled.
    """
    report = FeedPollReport(snapshot.id)
    state = replace(snapshot)
    now = outcome.started_at
    started = time.monotonic()
    log_row: dict[str, Any] = {**_LOG_DEFAULTS, "feed_id": state.id, "started_at": now}
    result = outcome.result
    if result is not None:
        log_row.update(status_code=result.status, bytes=result.wire_bytes)
        _follow_permanent_redirect(session, state, result)
    if outcome.parsed is not None and result is not None and outcome.error is None and outcome.crash is None:
        if not _release_lease(session, snapshot):
            return _lost(report, outcome)
        parsed = outcome.parsed
        state.title = state.title or parsed.title
        state.site_url = state.site_url or parsed.site_url
        stored = store_entries(session, state.id, parsed, now)
        report.entries = log_row["entries"] = stored.entries_seen
        log_row["new_entries"] = stored.new_entries
        log_row["error"] = "; ".join(w for w in [parsed.warning, *stored.errors] if w)[:2000] or None
        report.new_articles = len(stored.new_articles)
        if stored.new_articles:
            alert_after = backfill_cutoff(state, now, settings)
            report.relevant, report.alerts, report.backfilled = classify_and_alert(
                session, stored.new_articles, now, alert_after=alert_after
            )
            if report.backfilled:
                log.info("feed %s: first poll, %d older item(s) stored without alerts (ALERT_BACKFILL_HOURS=%g)",
                         state.id, report.backfilled, settings.alert_backfill_hours)
        state.backfill_pending = False
        state.etag, state.last_modified = result.etag, result.last_modified
        record_success(state, now, stored.new_entries, settings, parsed.entries_per_day)  # type: ignore[arg-type]  # FeedState carries every Feed column record_success reads and writes
        _write_feed(session, state, None, now)
    else:
        if outcome.error is not None or outcome.crash is not None:
            _record_error(state, outcome, log_row, report, settings)
        else:
            report.status = PollStatus.NOT_MODIFIED
            if result is not None and result.etag:
                state.etag = result.etag
            record_not_modified(state, now, settings)  # type: ignore[arg-type]  # FeedState carries every Feed column record_not_modified reads and writes
        if not _write_feed(session, state, snapshot.lease_until, now):
            return _lost(report, outcome)
    log_row["duration_ms"] = int((outcome.duration_s + time.monotonic() - started) * 1000)
    session.execute(_INSERT_FETCH_LOG, log_row)
    return report


def _lost(report: FeedPollReport, outcome: FetchOutcome) -> FeedPollReport:
    log.warning("feed %s: lease lost or feed disabled while polling (poll took %.0f s); results dropped",
                report.feed_id, outcome.duration_s)
    report.status = PollStatus.SKIPPED
    return report


def _record_error(state: FeedState, outcome: FetchOutcome, log_row: dict[str, Any], report: FeedPollReport, settings: Settings) -> None:
    now = outcome.started_at
    exc = outcome.error
    reason = outcome.crash or (getattr(exc, "reason", None) or str(exc))
    report.status, report.error = PollStatus.ERROR, reason
    log_row["error"] = reason
    if isinstance(exc, FetchError):
        log_row["status_code"] = exc.status
    if isinstance(exc, FetchError) and exc.status == 410:
        state.last_error = reason
        disable_feed(state, "HTTP 410 Gone: the publisher removed the feed", now)  # type: ignore[arg-type]  # FeedState carries every Feed column disable_feed writes
    else:
        record_failure(
            state,  # type: ignore[arg-type]  # FeedState carries every Feed column record_failure reads and writes
            reason, now, settings, getattr(exc, "retry_after", None), can_disable=outcome.crash is None
        )
    log.warning("feed %s (%s) failed: %s", state.id, state.url, reason)


def backfill_cutoff(state: FeedState, now: datetime, settings: Settings) -> datetime | None:
    """On a feed's first successful poll (new or re-enabled feed), items published before this are not alerted."""
    if not state.backfill_pending:
        return None
    return now - timedelta(hours=settings.alert_backfill_hours)


def classify_and_alert(
    session: Session, articles: list[NewArticle], now: datetime, *, alert_after: datetime | None = None
) -> tuple[int, int, int]:
    """Classify new articles in one batch, store the verdicts, queue alerts for relevant ones.

    Relevant articles published before ``alert_after`` (a feed's back catalogue) are stored and classified
    but not alerted. Returns (relevant, alerts, relevant articles not alerted as back catalogue).
    """
    from services.alerts.outbox import queue_alerts
    from services.classify import CLASSIFIER_VERSION, ArticleText, score_articles

    verdicts = score_articles([ArticleText(a.entry.title, a.entry.summary, a.entry.link, a.entry.language) for a in articles])
    version = CLASSIFIER_VERSION
    session.execute(insert(Classification.__table__), [
        {"article_id": a.id, "classifier_version": version, "relevant": v.relevant, "score": v.score,
         "topics": list(v.topics), "entities": list(v.entities), "reasons": list(v.reasons),
         "priority": v.priority, "reader_reasons": list(v.reader_reasons), "created_at": now}
        for a, v in zip(articles, verdicts)
    ])
    relevant = alerts = backfilled = 0
    for article, verdict in zip(articles, verdicts):
        if verdict.relevant:
            relevant += 1
            published = article.entry.published
            if alert_after is not None and published is not None and published < alert_after:
                backfilled += 1
                continue
            row = session.get(Article, article.id)
            if row is not None:
                alerts += len(queue_alerts(session, row, verdict, now))
    return relevant, alerts, backfilled


def poll_feed(session: Session, feed_id: int, settings: Settings, now: datetime | None = None) -> FeedPollReport:
    """Fetch, parse, store, classify and queue alerts for one feed inside the caller's transaction."""
    snapshot = _snapshot(session, feed_id)
    if snapshot is None:
        return FeedPollReport(feed_id, status=PollStatus.SKIPPED)
    snapshot = replace(snapshot, lease_until=None)  # the caller's transaction is the lock here
    outcome = fetch_and_parse(snapshot, settings)
    if now is not None:
        outcome.started_at = now
    return record_poll(session, snapshot, outcome, settings)


def _claim(settings: Settings, feed_id: int, now: datetime, due_only: bool) -> FeedState | None:
    from services.database import unit_of_work

    with unit_of_work(settings.database_url) as session:
        if not claim_feed(session, feed_id, now, due_only=due_only, lease=timedelta(seconds=settings.poll_lease_s)):
            return None
        return _snapshot(session, feed_id)


def _record_in_own_transaction(snapshot: FeedState, outcome: FetchOutcome, settings: Settings) -> FeedPollReport:
    """Write the outcome; if writing crashes, roll back and record the failure (and the lease release) instead."""
    from services.database import unit_of_work

    try:
        with unit_of_work(settings.database_url) as session:
            return record_poll(session, snapshot, outcome, settings)
    except Exception as exc:
        log.exception("recording the poll of feed %s crashed", snapshot.id)
        reason = f"internal error: {type(exc).__name__}: {exc}"[:500]
        crashed = FetchOutcome(started_at=outcome.started_at, duration_s=outcome.duration_s, crash=reason)
        with unit_of_work(settings.database_url) as session:
            return record_poll(session, snapshot, crashed, settings)


def poll_one_in_own_transaction(
    feed_id: int, settings: Settings, now: datetime, *, due_only: bool = True
) -> FeedPollReport | None:
    """Claim, fetch (outside any transaction), then record in one transaction.

    None when another worker holds the feed's lease or has just polled it (it is no longer due).
    """
    snapshot = _claim(settings, feed_id, now, due_only)
    if snapshot is None:
        return None
    outcome = fetch_and_parse(snapshot, settings)
    return _record_in_own_transaction(snapshot, outcome, settings)


def _record_batch(items: list[tuple[FeedState, FetchOutcome]], settings: Settings) -> list[FeedPollReport]:
    """Write several outcomes in one transaction (fewer commits); if that fails, each again in its own."""
    from services.database import unit_of_work

    if len(items) > 1:
        try:
            with unit_of_work(settings.database_url) as session:
                return [record_poll(session, snapshot, outcome, settings) for snapshot, outcome in items]
        except Exception:
            log.warning("writing %d polls together failed; writing them one by one", len(items), exc_info=True)
    return [_record_in_own_transaction(snapshot, outcome, settings) for snapshot, outcome in items]


def run_cycle(settings: Settings, *, include_not_due: bool = False, now: datetime | None = None) -> CycleReport:
    """One full cycle in this process: due feeds are claimed in small batches and fetched by
    CYCLE_FETCH_THREADS threads; this thread parses each response and writes it as it completes.

    Parsing stays on this thread on purpose: it is pure-Python CPU work, so parsing in the fetch
    threads gains no parallelism under the GIL and starves the writer, which gives up the GIL on
    every SQL statement and then waits a whole switch interval to get it back.
    """
    from services.alerts.subscriptions import ensure_default_subscription
    from services.database import unit_of_work

    now = now or _utcnow()
    cycle = CycleReport()
    with unit_of_work(settings.database_url) as session:
        ensure_default_subscription(session, settings)
        feed_ids = due_feed_ids(session, now, include_not_due=include_not_due)
    if not feed_ids:
        return cycle
    limiter = host_limiter(settings.fetch_per_host_concurrency, settings.fetch_per_host_gap_s)
    window = 3 * CYCLE_FETCH_THREADS  # fetched-but-unwritten responses held in memory at most
    unclaimed = list(reversed(feed_ids))
    claimed: list[FeedState] = []
    with build_client(settings, max_connections=2 * CYCLE_FETCH_THREADS) as client, ThreadPoolExecutor(
        CYCLE_FETCH_THREADS, thread_name_prefix="cnai-fetch"
    ) as pool:
        running: dict[Future[FetchOutcome], FeedState] = {}
        while True:
            while len(running) < window and (claimed or unclaimed):
                if not claimed:
                    batch = [unclaimed.pop() for _ in range(min(2 * window, len(unclaimed)))]
                    with unit_of_work(settings.database_url) as session:
                        claimed = claim_feeds(
                            session, batch, _utcnow(), due_only=not include_not_due, lease=timedelta(seconds=settings.poll_lease_s)
                        )[::-1]
                    continue
                snapshot = claimed.pop()
                running[pool.submit(fetch_only, snapshot, settings, client=client, limiter=limiter)] = snapshot
            if not running:
                break
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            ready = []
            for future in done:
                snapshot = running.pop(future)
                ready.append((snapshot, parse_outcome(snapshot, future.result())))
            for report in _record_batch(ready, settings):
                cycle.add(report)
    return cycle
