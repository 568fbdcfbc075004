"""Dispatch: lease due feeds in batches, never more than the workers can poll before the messages expire.

The dispatcher takes each feed's lease itself (``lease_until`` = the dispatch's token) and hands
the poll tasks the token; a task polls only the feeds still carrying it (``poll_leased_feeds``).
So a feed waiting in the queue is not dispatched again by the next tick, and a message that
expired or was lost costs only that its feeds wait for the lease to run out.

How much to lease: the workers' recent rate (fetch_log rows of the last minute) times half the
message lifetime, at least DISPATCH_MIN_FEEDS, minus the feeds already leased. A message lives
POLL_LEASE_SECONDS minus TASK_TIME_LIMIT_SECONDS, so a task that starts before it expires ends
before the lease does.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from db.models import FetchLog
from services.ingest.leases import claim_feeds, due_feed_ids, leased_feed_count
from services.settings import Settings

RATE_WINDOW = timedelta(seconds=60)


@dataclass
class Dispatch:
    token: datetime | None = None
    batches: list[list[int]] = field(default_factory=list)
    budget: int = 0
    expires_s: float = 0.0

    @property
    def feeds(self) -> int:
        return sum(len(batch) for batch in self.batches)


def message_lifetime_s(settings: Settings) -> float:
    """How long a poll message may wait in the queue: a task starting before then ends before its lease."""
    return float(max(1, settings.poll_lease_s - settings.task_time_limit_s))


def recent_poll_rate(session: Session, now: datetime) -> float:
    """Polls per second over the last minute, from fetch_log (indexed on started_at)."""
    since = now - RATE_WINDOW
    count = session.execute(select(func.count()).select_from(FetchLog).where(FetchLog.started_at >= since)).scalar_one()
    return float(count) / RATE_WINDOW.total_seconds()


def dispatch_budget(session: Session, now: datetime, settings: Settings) -> int:
    """How many more feeds may be leased now without queueing more than the workers take in time."""
    target = max(settings.dispatch_min_feeds, int(recent_poll_rate(session, now) * message_lifetime_s(settings) / 2))
    return max(0, target - leased_feed_count(session, now))


def lease_due_feeds(session: Session, now: datetime, settings: Settings) -> Dispatch:
    """Lease the oldest-due feeds, within the budget, in batches of POLL_BATCH_SIZE. The caller commits, then queues."""
    dispatch = Dispatch(budget=dispatch_budget(session, now, settings), expires_s=message_lifetime_s(settings))
    if dispatch.budget == 0:
        return dispatch
    lease = timedelta(seconds=settings.poll_lease_s)
    candidates = due_feed_ids(session, now, limit=dispatch.budget)
    claimed = [state.id for state in claim_feeds(session, candidates, now, due_only=True, lease=lease)]
    size = settings.poll_batch_size
    dispatch.token = now + lease
    dispatch.batches = [claimed[i : i + size] for i in range(0, len(claimed), size)]
    return dispatch
