"""The in-process poll cycle of `cnai poll`: every due feed now, fetched by a few threads in this process.

Due feeds are claimed in small batches and fetched by CYCLE_FETCH_THREADS threads (the
process-local per-host limiter applies); this thread parses each response and writes it as
it completes (``services.poll.record_polls``). Feeds with new thin items go back to the threads
first to fetch article pages for full text (``services.poll.fetch_full_texts``, within
FULL_TEXT_POLL_BUDGET_SECONDS per feed).
"""

from __future__ import annotations

from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import UTC, datetime

from db.enums import PollStatus
from services.alerts.subscriptions import ensure_default_subscription
from services.database import unit_of_work
from services.ingest.fetch import build_client
from services.ingest.leases import FeedState, due_feed_ids
from services.ingest.politeness import host_limiter
from services.poll import (
    FeedPollReport,
    FetchOutcome,
    claim_for_poll,
    fetch_full_texts,
    fetch_only,
    may_want_full_text,
    parse_outcome,
    record_polls,
)
from services.settings import Settings

CYCLE_FETCH_THREADS = 8


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


def run_cycle(settings: Settings, *, include_not_due: bool = False, now: datetime | None = None) -> CycleReport:
    """One full cycle in this process: due feeds are claimed in small batches and fetched by
    CYCLE_FETCH_THREADS threads; this thread parses each response and writes it as it completes.

    Parsing stays on this thread on purpose: it is pure-Python CPU work, so parsing in the fetch
    threads gains no parallelism under the GIL and starves the writer, which gives up the GIL on
    every SQL statement and then waits a whole switch interval to get it back.
    """
    now = now or datetime.now(UTC)
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
    with (
        build_client(settings, max_connections=2 * CYCLE_FETCH_THREADS) as client,
        ThreadPoolExecutor(CYCLE_FETCH_THREADS, thread_name_prefix="cnai-fetch") as pool,
    ):
        running: dict[Future[FetchOutcome], FeedState] = {}
        enriching: dict[Future[FetchOutcome], FeedState] = {}  # fetching article pages for full text
        while True:
            while len(running) + len(enriching) < window and (claimed or unclaimed):
                if not claimed:
                    batch = [unclaimed.pop() for _ in range(min(2 * window, len(unclaimed)))]
                    claimed = claim_for_poll(settings, batch, datetime.now(UTC), due_only=not include_not_due)[::-1]
                    continue
                snapshot = claimed.pop()
                running[pool.submit(fetch_only, snapshot, settings, client=client, limiter=limiter)] = snapshot
            if not running and not enriching:
                break
            done, _ = wait([*running, *enriching], return_when=FIRST_COMPLETED)
            ready = []
            for future in done:
                if future in enriching:
                    ready.append((enriching.pop(future), future.result()))
                    continue
                snapshot = running.pop(future)
                outcome = parse_outcome(snapshot, future.result())
                if may_want_full_text(snapshot, outcome):
                    enriching[pool.submit(fetch_full_texts, snapshot, outcome, settings, limiter=limiter)] = snapshot
                else:
                    ready.append((snapshot, outcome))
            for report in record_polls(ready, settings):
                cycle.add(report)
    return cycle
