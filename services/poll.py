"""The per-feed poll pipeline: fetch → parse → dedupe → classify → persist → queue alerts.

A poll has two halves. ``fetch_and_parse`` touches no database, so it runs outside any
transaction. ``record_poll`` then writes the outcome in one transaction in a few bulk
statements, only while the feed still carries the lease its claim took
(``services.ingest.leases``). A poll only writes alert rows (the outbox); delivery happens
after the poll's transaction has committed. The in-process cycle of ``cnai poll`` is
``services.cycle``; Celery tasks call ``poll_leased_feeds`` with the feeds a dispatch leased
(``services.dispatch``).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import httpx
from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from db.enums import FullTextMode, PollStatus
from db.models import Article, Feed, FeedEntry, FetchLog
from services.alerts.outbox import queue_alerts
from services.classify import ArticleText, classifier_version, score_articles
from services.classify.records import record_verdicts
from services.database import unit_of_work
from services.ingest.entries import ParsedFeed
from services.ingest.fetch import FetchError, FetchResult, fetch_feed
from services.ingest.fulltext import fetch_full_text, is_thin, one_sided, wants_full_text
from services.ingest.leases import (
    FeedState,
    adopt_leases,
    claim_feeds,
    release_lease,
    write_feed_state,
)
from services.ingest.parse import ParseError, parse_feed
from services.ingest.politeness import HostLimiter
from services.ingest.schedule import (
    disable_feed,
    record_failure,
    record_not_modified,
    record_success,
)
from services.ingest.store import NewArticle, store_entries
from services.observability.metrics import record_full_text
from services.settings import Settings

log = logging.getLogger(__name__)


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
class FetchOutcome:
    started_at: datetime
    duration_s: float = 0.0
    result: FetchResult | None = None
    parsed: ParsedFeed | None = None
    error: FetchError | ParseError | None = None
    crash: str | None = None
    #: Full-text fetches that failed or were skipped ("full text <host>: <reason>"), for the fetch log.
    full_text_notes: list[str] = field(default_factory=list)


def _utcnow() -> datetime:
    return datetime.now(UTC)


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
            snapshot.url,
            settings,
            etag=snapshot.etag,
            last_modified=snapshot.last_modified,
            client=client,
            limiter=limiter,
        )
    except FetchError as exc:
        outcome.error = exc
    except Exception as exc:  # a bug on one feed's input must not stop the cycle
        log.exception("fetching feed %s (%s) crashed", snapshot.id, snapshot.url)
        outcome.crash = f"internal error: {type(exc).__name__}: {exc}"[:500]
    queued = (
        outcome.result.queued_s
        if outcome.result
        else outcome.error.queued_s
        if isinstance(outcome.error, FetchError)
        else 0.0
    )
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
    """Fetch and parse one feed, then fetch full text for its thin new entries (one short read, no transaction)."""
    outcome = parse_outcome(snapshot, fetch_only(snapshot, settings, client=client, limiter=limiter))
    return fetch_full_texts(snapshot, outcome, settings, limiter=limiter)


def load_knowledge() -> None:
    """Compile the lexicon and the story name catalogue now (a few seconds of CPU), so that a worker's
    pool processes inherit them from the parent instead of each compiling them in its first polls."""
    from services.classify.lexicon import default_lexicon
    from services.ingest.story_keys import name_catalogue

    default_lexicon()
    name_catalogue()


def _feed_mode(snapshot: FeedState) -> FullTextMode:
    try:
        return FullTextMode(snapshot.full_text)
    except ValueError:
        return FullTextMode.AUTO


def _unseen_entries(settings: Settings, feed_id: int, keys: list[str]) -> set[str]:
    with unit_of_work(settings.database_url) as session:
        seen = set(
            session.execute(
                select(FeedEntry.entry_key).where(FeedEntry.feed_id == feed_id, FeedEntry.entry_key.in_(keys))
            ).scalars()
        )
    return set(keys) - seen


def may_want_full_text(snapshot: FeedState, outcome: FetchOutcome) -> bool:
    """Cheap first check (no database, no scoring): could ``fetch_full_texts`` fetch anything for this poll?"""
    parsed = outcome.parsed
    return (
        parsed is not None
        and outcome.error is None
        and outcome.crash is None
        and _feed_mode(snapshot) is not FullTextMode.NEVER
        and any(e.link and urlsplit(e.link).scheme.lower() in {"http", "https"} for e in parsed.entries)
    )


def fetch_full_texts(
    snapshot: FeedState, outcome: FetchOutcome, settings: Settings, *, limiter: HostLimiter | None = None
) -> FetchOutcome:
    """Attach the main text of the article page to new entries that need it, before they are stored and scored.

    A page is fetched (``services.ingest.fulltext``: guarded fetcher, robots.txt, size and time limits) for
    every new entry of an ``always`` feed, and in ``auto`` feeds only for thin feed text whose verdict is
    uncertain; never in ``never`` feeds. All of one poll's page fetches share FULL_TEXT_POLL_BUDGET_SECONDS,
    so an alert waits no longer than that; entries left over, or whose page failed, keep their feed text.
    """
    parsed = outcome.parsed
    if parsed is None or not may_want_full_text(snapshot, outcome):
        return outcome
    mode = _feed_mode(snapshot)
    linked = [e for e in parsed.entries if e.link and urlsplit(e.link).scheme.lower() in {"http", "https"}]
    if mode is FullTextMode.AUTO:  # auto fetches only for thin feed text: no lookup or scoring for the rest
        linked = [e for e in linked if is_thin(e.summary)]
        if not linked:
            return outcome
    started = time.monotonic()
    try:
        unseen = _unseen_entries(settings, snapshot.id, [e.key for e in linked][:500])
        fresh = [e for e in linked if e.key in unseen]
        verdicts = score_articles([(e.title, e.summary, e.language, e.link) for e in fresh]) if fresh else []
    except Exception:  # full text is an extra: never lose the poll over it
        log.exception("feed %s: choosing entries for full text failed", snapshot.id)
        return outcome
    wanted = [
        e
        for e, v in zip(fresh, verdicts)
        if wants_full_text(mode, e.summary, v.score, half_evidence=one_sided(v.reasons, v.relevant))
    ]
    deadline = started + settings.full_text_poll_budget_s
    for done, entry in enumerate(wanted):
        remaining = deadline - time.monotonic()
        if remaining <= 0.1:
            outcome.full_text_notes.append(f"full text: poll budget spent, {len(wanted) - done} page(s) not fetched")
            break
        url = entry.link or ""
        host = urlsplit(url).hostname or "?"
        got = fetch_full_text(url, settings, max_wait_s=min(settings.full_text_max_wait_s, remaining), limiter=limiter)
        record_full_text(host, ok=got.ok)
        if got.ok:
            entry.full_text = got.text
        else:
            outcome.full_text_notes.append(f"full text {host}: {got.error}")
    outcome.duration_s += time.monotonic() - started
    return outcome


_INSERT_FETCH_LOG = insert(FetchLog.__table__)
_LOG_DEFAULTS: dict[str, Any] = {"status_code": None, "bytes": 0, "entries": 0, "new_entries": 0, "error": None}


def _follow_permanent_redirect(session: Session, state: FeedState, result: FetchResult) -> None:
    target = result.permanent_redirect_to
    if target and target != state.url:
        if session.execute(select(Feed.id).where(Feed.url == target)).first() is None:
            log.info("feed %s moved permanently: %s -> %s", state.id, state.url, target)
            state.url = target


def record_poll(
    session: Session,
    snapshot: FeedState,
    outcome: FetchOutcome,
    settings: Settings,
    *,
    fetch_logs: list[dict[str, Any]] | None = None,
) -> FeedPollReport:
    """Write one poll's outcome: entries, articles, stories, classifications, alerts, schedule, fetch log.

    Nothing is written when the lease was lost (another worker claimed the feed) or the feed was disabled.
    With ``fetch_logs`` the fetch-log row is appended there for the caller to insert with others in one statement.
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
        if not release_lease(session, snapshot):
            return _lost(report, outcome)
        parsed = outcome.parsed
        state.title = state.title or parsed.title
        state.site_url = state.site_url or parsed.site_url
        stored = store_entries(session, state.id, parsed, now)
        report.entries = log_row["entries"] = stored.entries_seen
        log_row["new_entries"] = stored.new_entries
        notes = [parsed.warning, *stored.errors, *outcome.full_text_notes]
        log_row["error"] = "; ".join(w for w in notes if w)[:2000] or None
        report.new_articles = len(stored.new_articles)
        if stored.new_articles:
            alert_after = backfill_cutoff(state, now, settings)
            report.relevant, report.alerts, report.backfilled = classify_and_alert(
                session, stored.new_articles, now, alert_after=alert_after
            )
            if report.backfilled:
                log.info(
                    "feed %s: first poll, %d older item(s) stored without alerts (ALERT_BACKFILL_HOURS=%g)",
                    state.id,
                    report.backfilled,
                    settings.alert_backfill_hours,
                )
        state.backfill_pending = False
        state.etag, state.last_modified = result.etag, result.last_modified
        record_success(state, now, stored.new_entries, settings, parsed.entries_per_day)
        write_feed_state(session, state, None, now)
    else:
        if outcome.error is not None or outcome.crash is not None:
            _record_error(state, outcome, log_row, report, settings)
        else:
            report.status = PollStatus.NOT_MODIFIED
            if result is not None and result.etag:
                state.etag = result.etag
            record_not_modified(state, now, settings)
        if not write_feed_state(session, state, snapshot.lease_until, now):
            return _lost(report, outcome)
    log_row["duration_ms"] = int((outcome.duration_s + time.monotonic() - started) * 1000)
    if fetch_logs is None:
        session.execute(_INSERT_FETCH_LOG, log_row)
    else:
        fetch_logs.append(log_row)
    return report


def _lost(report: FeedPollReport, outcome: FetchOutcome) -> FeedPollReport:
    log.warning(
        "feed %s: lease lost or feed disabled while polling (poll took %.0f s); results dropped",
        report.feed_id,
        outcome.duration_s,
    )
    report.status = PollStatus.SKIPPED
    return report


def _record_error(
    state: FeedState, outcome: FetchOutcome, log_row: dict[str, Any], report: FeedPollReport, settings: Settings
) -> None:
    now = outcome.started_at
    exc = outcome.error
    reason = outcome.crash or (getattr(exc, "reason", None) or str(exc))
    report.status, report.error = PollStatus.ERROR, reason
    log_row["error"] = reason
    if isinstance(exc, FetchError):
        log_row["status_code"] = exc.status
    if isinstance(exc, FetchError) and exc.status == 410:
        state.last_error = reason
        disable_feed(state, "HTTP 410 Gone: the publisher removed the feed", now)
    else:
        record_failure(
            state,
            reason,
            now,
            settings,
            exc.retry_after if isinstance(exc, FetchError) else None,
            can_disable=outcome.crash is None,
        )
    log.warning("feed %s (%s) failed: %s", state.id, state.url, reason)


def _scored_text(article: NewArticle) -> str:
    """The text scored with the title: the page's main text when it was fetched and says more than the feed."""
    full = article.entry.full_text
    return full if full and len(full) > len(article.entry.summary) else article.entry.summary


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
    verdicts = score_articles(
        [ArticleText(a.entry.title, _scored_text(a), a.entry.link, a.entry.language) for a in articles]
    )
    record_verdicts(session, [a.id for a in articles], verdicts, classifier_version(), now)
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


def _record_in_own_transaction(snapshot: FeedState, outcome: FetchOutcome, settings: Settings) -> FeedPollReport:
    """Write the outcome; if writing crashes, roll back and record the failure (and the lease release) instead."""
    try:
        with unit_of_work(settings.database_url) as session:
            return record_poll(session, snapshot, outcome, settings)
    except Exception as exc:
        log.exception("recording the poll of feed %s crashed", snapshot.id)
        reason = f"internal error: {type(exc).__name__}: {exc}"[:500]
        crashed = FetchOutcome(started_at=outcome.started_at, duration_s=outcome.duration_s, crash=reason)
        with unit_of_work(settings.database_url) as session:
            return record_poll(session, snapshot, crashed, settings)


def record_polls(items: Sequence[tuple[FeedState, FetchOutcome]], settings: Settings) -> list[FeedPollReport]:
    """Write several outcomes in one transaction (fewer commits, one fetch-log insert); if that fails, each in its own."""
    if len(items) > 1:
        try:
            with unit_of_work(settings.database_url) as session:
                logs: list[dict[str, Any]] = []
                reports = [
                    record_poll(session, snapshot, outcome, settings, fetch_logs=logs) for snapshot, outcome in items
                ]
                if logs:
                    session.execute(_INSERT_FETCH_LOG, logs)
                return reports
        except Exception:
            log.warning("writing %d polls together failed; writing them one by one", len(items), exc_info=True)
    return [_record_in_own_transaction(snapshot, outcome, settings) for snapshot, outcome in items]


def claim_for_poll(settings: Settings, feed_ids: list[int], now: datetime, *, due_only: bool = True) -> list[FeedState]:
    """Take the leases of those of ``feed_ids`` that are free (and due), in one statement and one transaction."""
    with unit_of_work(settings.database_url) as session:
        return claim_feeds(session, feed_ids, now, due_only=due_only, lease=timedelta(seconds=settings.poll_lease_s))


def poll_one_in_own_transaction(
    feed_id: int, settings: Settings, now: datetime, *, due_only: bool = True, limiter: HostLimiter | None = None
) -> FeedPollReport | None:
    """Claim, fetch (outside any transaction), then record in one transaction.

    None when another worker holds the feed's lease or has just polled it (it is no longer due).
    """
    claimed = claim_for_poll(settings, [feed_id], now, due_only=due_only)
    if not claimed:
        return None
    outcome = fetch_and_parse(claimed[0], settings, limiter=limiter)
    return _record_in_own_transaction(claimed[0], outcome, settings)


_pools: dict[int, ThreadPoolExecutor] = {}
_pools_lock = threading.Lock()


def _forget_pools() -> None:
    """A forked child has none of its parent's threads: start with no pool."""
    global _pools_lock
    _pools.clear()
    _pools_lock = threading.Lock()


os.register_at_fork(after_in_child=_forget_pools)


def fetch_pool(threads: int) -> ThreadPoolExecutor:
    """This process's fetch threads (POLL_BATCH_THREADS), started once and reused by every batch."""
    with _pools_lock:
        pool = _pools.get(threads)
        if pool is None:
            pool = _pools[threads] = ThreadPoolExecutor(threads, thread_name_prefix="cnai-fetch")
        return pool


def poll_states(
    states: Sequence[FeedState], settings: Settings, *, limiter: HostLimiter | None = None
) -> list[FeedPollReport]:
    """Fetch claimed feeds on the process's fetch threads, parse each here as it arrives, write them all.

    The process's shared client (``worker_client``) and per-host limiter are used; the outcomes are
    written in one transaction (``record_polls``), each feed only while it still holds its lease.
    """
    if not states:
        return []
    if len(states) == 1:
        return record_polls([(states[0], fetch_and_parse(states[0], settings, limiter=limiter))], settings)
    pool = fetch_pool(settings.poll_batch_threads)
    running = {pool.submit(fetch_only, state, settings, limiter=limiter): state for state in states}
    ready: list[tuple[FeedState, FetchOutcome]] = []
    enriching: dict[Future[FetchOutcome], FeedState] = {}
    for future in as_completed(running):
        state = running[future]
        outcome = parse_outcome(state, future.result())
        if may_want_full_text(state, outcome):  # page fetches (within their own budget) back on the fetch threads
            enriching[pool.submit(fetch_full_texts, state, outcome, settings, limiter=limiter)] = state
        else:
            ready.append((state, outcome))
    ready.extend((enriching[future], future.result()) for future in as_completed(enriching))
    order = {state.id: i for i, state in enumerate(states)}
    ready.sort(key=lambda item: order[item[0].id])
    return record_polls(ready, settings)


def poll_leased_feeds(
    feed_ids: list[int], token: datetime, settings: Settings, now: datetime, *, limiter: HostLimiter | None = None
) -> list[FeedPollReport]:
    """Poll feeds a dispatcher leased with ``token``: renew the leases still ours, fetch, write.

    Feeds whose lease is no longer ``token`` (it ran out and a later dispatch took it, or the feed was
    disabled) are skipped: a late or redelivered message polls nothing twice.
    """
    with unit_of_work(settings.database_url) as session:
        states = adopt_leases(session, feed_ids, token, now, lease=timedelta(seconds=settings.poll_lease_s))
    return poll_states(states, settings, limiter=limiter)
