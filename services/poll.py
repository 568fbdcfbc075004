"""One poll of one feed, and one full in-process cycle: fetch → parse → dedupe → classify → persist → alert.

The Celery tasks call the same functions; a poll only writes alert rows (the outbox), and
delivery happens after the poll's transaction has committed.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from db.models import Article, Classification, Feed, FetchLog
from services.alerts.outbox import queue_alerts
from services.classify import CLASSIFIER_VERSION, score_article
from services.ingest.fetch import FetchError, fetch_feed
from services.ingest.parse import ParseError, parse_feed
from services.ingest.schedule import disable_feed, record_failure, record_success
from services.ingest.store import store_entries
from services.settings import Settings

log = logging.getLogger(__name__)

LEASE = timedelta(minutes=5)


@dataclass
class FeedPollReport:
    feed_id: int
    status: str = "ok"
    entries: int = 0
    new_articles: int = 0
    relevant: int = 0
    alerts: int = 0
    error: str | None = None


@dataclass
class CycleReport:
    feeds_polled: int = 0
    feeds_failed: int = 0
    new_articles: int = 0
    relevant: int = 0
    alerts_queued: int = 0
    feeds: list[FeedPollReport] = field(default_factory=list)

    def add(self, report: FeedPollReport) -> None:
        self.feeds.append(report)
        self.feeds_polled += 1
        self.feeds_failed += report.status == "error"
        self.new_articles += report.new_articles
        self.relevant += report.relevant
        self.alerts_queued += report.alerts


def due_feed_ids(session: Session, now: datetime, *, include_not_due: bool = False) -> list[int]:
    query = select(Feed.id).where(Feed.disabled_at.is_(None)).order_by(Feed.next_poll_at)
    if not include_not_due:
        query = query.where(Feed.next_poll_at <= now)
    return list(session.execute(query).scalars())


def claim_feed(session: Session, feed_id: int, now: datetime) -> bool:
    """Take the feed's lease so that no other worker polls it at the same time."""
    claimed = session.execute(
        update(Feed)
        .where(Feed.id == feed_id, Feed.disabled_at.is_(None), or_(Feed.lease_until.is_(None), Feed.lease_until < now))
        .values(lease_until=now + LEASE)
    )
    return claimed.rowcount == 1


def classify_article(session: Session, article: Article, now: datetime) -> Classification:
    verdict = score_article(article.title, article.summary, article.language, article.url)
    classification = Classification(
        article_id=article.id,
        classifier_version=CLASSIFIER_VERSION,
        relevant=verdict.relevant,
        score=verdict.score,
        topics=list(verdict.topics),
        entities=list(verdict.entities),
        reasons=list(verdict.reasons),
        created_at=now,
    )
    session.add(classification)
    return classification


def poll_feed(session: Session, feed_id: int, settings: Settings, now: datetime | None = None) -> FeedPollReport:
    """Fetch, parse, store, classify and queue alerts for one feed. The caller commits."""
    now = now or datetime.now(timezone.utc)
    report = FeedPollReport(feed_id)
    feed = session.get(Feed, feed_id)
    if feed is None or feed.disabled_at is not None:
        report.status = "skipped"
        return report
    started = time.monotonic()
    feed.last_polled_at = now
    fetch_log = FetchLog(feed_id=feed.id, started_at=now)
    try:
        result = fetch_feed(feed.url, settings, etag=feed.etag, last_modified=feed.last_modified)
        fetch_log.status_code = result.status
        fetch_log.bytes = len(result.body)
        if result.permanent_redirect_to and result.permanent_redirect_to != feed.url:
            if session.execute(select(Feed.id).where(Feed.url == result.permanent_redirect_to)).first() is None:
                feed.url = result.permanent_redirect_to
        if result.not_modified:
            report.status = "not_modified"
            record_success(feed, now, 0, settings)
        else:
            parsed = parse_feed(result.body, feed.url)
            feed.title = feed.title or parsed.title
            feed.site_url = feed.site_url or parsed.site_url
            stored = store_entries(session, feed, parsed, now)
            report.entries = fetch_log.entries = stored.entries_seen
            fetch_log.new_entries = stored.new_entries
            report.new_articles = len(stored.new_articles)
            warnings = [w for w in [parsed.warning, *stored.errors] if w]
            fetch_log.error = "; ".join(warnings)[:2000] or None
            for article in stored.new_articles:
                verdict = classify_article(session, article, now)
                if verdict.relevant:
                    report.relevant += 1
                    report.alerts += len(queue_alerts(session, article, verdict, now))
            feed.etag, feed.last_modified = result.etag, result.last_modified
            record_success(feed, now, stored.new_entries, settings)
    except (FetchError, ParseError) as exc:
        reason = getattr(exc, "reason", None) or str(exc)
        report.status, report.error = "error", reason
        fetch_log.error = reason
        if isinstance(exc, FetchError):
            fetch_log.status_code = exc.status
        if isinstance(exc, FetchError) and exc.status == 410:
            disable_feed(feed, f"HTTP 410 Gone: the publisher removed the feed", now)
        else:
            record_failure(feed, reason, now, settings, getattr(exc, "retry_after", None))
        log.warning("feed %s (%s) failed: %s", feed.id, feed.url, reason)
    fetch_log.duration_ms = int((time.monotonic() - started) * 1000)
    session.add(fetch_log)
    session.flush()
    return report


def poll_one_in_own_transaction(feed_id: int, settings: Settings, now: datetime) -> FeedPollReport | None:
    """Claim, poll and commit one feed; None when another worker holds it. A crash rolls back this feed only."""
    from services.database import unit_of_work

    with unit_of_work(settings.database_url) as session:
        if not claim_feed(session, feed_id, now):
            return None
    try:
        with unit_of_work(settings.database_url) as session:
            return poll_feed(session, feed_id, settings, now)
    except Exception as exc:
        log.exception("poll of feed %s crashed", feed_id)
        with unit_of_work(settings.database_url) as session:
            feed = session.get(Feed, feed_id)
            if feed is not None:
                record_failure(feed, f"internal error: {type(exc).__name__}: {exc}"[:500], now, settings)
        return FeedPollReport(feed_id, status="error", error=f"internal error: {type(exc).__name__}")


def run_cycle(settings: Settings, *, include_not_due: bool = False, now: datetime | None = None) -> CycleReport:
    """One full cycle in this process: every due feed polled (each in its own transaction), then alerts delivered."""
    from services.alerts.subscriptions import ensure_default_subscription
    from services.database import unit_of_work

    now = now or datetime.now(timezone.utc)
    cycle = CycleReport()
    with unit_of_work(settings.database_url) as session:
        ensure_default_subscription(session, settings)
        feed_ids = due_feed_ids(session, now, include_not_due=include_not_due)
    for feed_id in feed_ids:
        report = poll_one_in_own_transaction(feed_id, settings, now)
        if report is not None:
            cycle.add(report)
    return cycle
