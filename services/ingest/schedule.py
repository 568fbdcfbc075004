"""When each feed is polled next: adaptive intervals, backoff after failures, auto-disable."""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Protocol

from services.settings import Settings

MAX_BACKOFF = timedelta(hours=24)
BASE_BACKOFF_S = 60.0
RATE_WINDOW = timedelta(days=30)
RATE_SAMPLE = 50
NOT_MODIFIED_DECAY = 0.9


class PollState(Protocol):
    """The polling fields of a feed the schedule functions read and update (``services.ingest.leases.FeedState``)."""

    poll_interval_s: int
    entries_per_day: float | None
    consecutive_failures: int
    last_success_at: datetime | None
    next_poll_at: datetime | None
    last_error: str | None
    lease_until: datetime | None
    disabled_at: datetime | None
    disabled_reason: str | None


def publishing_rate(published: Sequence[datetime | None], now: datetime) -> float | None:
    """Entries per day, from the entries' own timestamps; None when they cannot tell (missing or all equal).

    Uses the newest entries of the last 30 days: k entries since the oldest of them means k per that many days.
    A feed whose newest entry is older than the window publishes at most once per its age.
    """
    times = sorted({t for t in published if t is not None and t <= now}, reverse=True)[:RATE_SAMPLE]
    if len(times) < 2:
        return None
    recent = [t for t in times if now - t <= RATE_WINDOW]
    if len(recent) >= 2:
        span_days = max((now - recent[-1]).total_seconds() / 86400, 1 / 24)
        return len(recent) / span_days
    return 1 / max((now - times[0]).total_seconds() / 86400, 1.0)


def adaptive_interval(feed: PollState, new_entries: int, settings: Settings, observed_rate: float | None = None) -> int:
    """Follow the feed's publishing rate: aim for about one new entry per poll, within the configured bounds.

    The rate comes from entry timestamps when the feed has usable ones, else from new entries per poll;
    it is smoothed with the previous estimate so one burst does not swing the interval.
    """
    interval = feed.poll_interval_s or settings.poll_interval_s
    if observed_rate is None:
        if feed.last_success_at is None:  # first poll: every entry is "new", which says nothing about the rate
            return int(min(settings.poll_max_interval_s, max(settings.poll_min_interval_s, settings.poll_interval_s)))
        observed_rate = new_entries * 86400 / max(interval, 1)
    previous = feed.entries_per_day
    rate = observed_rate if previous is None else 0.5 * previous + 0.5 * observed_rate
    feed.entries_per_day = rate
    target = 86400 / rate if rate > 0 else settings.poll_max_interval_s
    return int(min(settings.poll_max_interval_s, max(settings.poll_min_interval_s, target)))


def _jittered(seconds: float) -> timedelta:
    return timedelta(seconds=seconds * random.uniform(0.9, 1.1))


def record_success(
    feed: PollState, now: datetime, new_entries: int, settings: Settings, observed_rate: float | None = None
) -> None:
    feed.poll_interval_s = adaptive_interval(feed, new_entries, settings, observed_rate)
    feed.consecutive_failures = 0
    feed.last_error = None
    feed.last_success_at = now
    feed.next_poll_at = now + _jittered(feed.poll_interval_s)
    feed.lease_until = None


def record_not_modified(feed: PollState, now: datetime, settings: Settings) -> None:
    """304: nothing new since the last poll; the rate estimate decays so quiet feeds drift to the maximum interval."""
    feed.consecutive_failures = 0
    feed.last_error = None
    feed.last_success_at = now
    if feed.entries_per_day is not None:
        feed.entries_per_day *= NOT_MODIFIED_DECAY
        target = 86400 / feed.entries_per_day if feed.entries_per_day > 0 else settings.poll_max_interval_s
        feed.poll_interval_s = int(min(settings.poll_max_interval_s, max(settings.poll_min_interval_s, target)))
    feed.next_poll_at = now + _jittered(feed.poll_interval_s or settings.poll_interval_s)
    feed.lease_until = None


def backoff_delay(failures: int, retry_after: float | None = None) -> timedelta:
    """60 s doubled per failure in a row, with ±25% jitter, at most 24 h; never sooner than Retry-After."""
    seconds = min(MAX_BACKOFF.total_seconds(), BASE_BACKOFF_S * 2 ** min(failures, 20))
    seconds *= random.uniform(0.75, 1.25)
    if retry_after is not None:
        seconds = max(seconds if failures > 1 else 0.0, retry_after)
    return timedelta(seconds=min(seconds, MAX_BACKOFF.total_seconds()))


def record_failure(
    feed: PollState,
    reason: str,
    now: datetime,
    settings: Settings,
    retry_after: float | None = None,
    *,
    can_disable: bool = True,
) -> None:
    """Back off exponentially with jitter (bounded at 24 h); disable after FEED_MAX_FAILURES failures in a row.

    ``can_disable=False`` for our own faults (a crash, a broken classifier): they back off but never disable a feed.
    """
    feed.consecutive_failures = (feed.consecutive_failures or 0) + 1
    feed.last_error = reason[:1000]
    feed.lease_until = None
    if can_disable and feed.consecutive_failures >= settings.feed_max_failures:
        disable_feed(feed, f"{feed.consecutive_failures} failures in a row; last: {reason}"[:1000], now)
        return
    feed.next_poll_at = now + backoff_delay(feed.consecutive_failures, retry_after)


def disable_feed(feed: PollState, reason: str, now: datetime) -> None:
    feed.disabled_at = now
    feed.disabled_reason = reason
    feed.lease_until = None
