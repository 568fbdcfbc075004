"""When each feed is polled next: adaptive intervals, backoff after failures, auto-disable."""
from __future__ import annotations

import random
from datetime import datetime, timedelta

from db.models import Feed
from services.settings import Settings

MAX_BACKOFF = timedelta(hours=24)


def adaptive_interval(feed: Feed, new_entries: int, settings: Settings) -> int:
    """Follow the feed's publishing rate: aim for about one new entry per poll, within the configured bounds."""
    interval = feed.poll_interval_s or settings.poll_interval_s
    observed_per_day = new_entries * 86400 / max(interval, 1)
    rate = observed_per_day if feed.entries_per_day is None else 0.7 * feed.entries_per_day + 0.3 * observed_per_day
    feed.entries_per_day = rate
    target = settings.poll_interval_s if rate <= 0 and feed.entries_per_day is None else 86400 / max(rate, 0.01)
    return int(min(settings.poll_max_interval_s, max(settings.poll_min_interval_s, target)))


def record_success(feed: Feed, now: datetime, new_entries: int, settings: Settings) -> None:
    feed.consecutive_failures = 0
    feed.last_error = None
    feed.last_success_at = now
    feed.poll_interval_s = adaptive_interval(feed, new_entries, settings)
    feed.next_poll_at = now + timedelta(seconds=feed.poll_interval_s * random.uniform(0.9, 1.1))
    feed.lease_until = None


def record_failure(feed: Feed, reason: str, now: datetime, settings: Settings, retry_after: float | None = None) -> None:
    """Back off exponentially with jitter (bounded at 24 h); disable after FEED_MAX_FAILURES failures in a row."""
    feed.consecutive_failures += 1
    feed.last_error = reason[:1000]
    feed.lease_until = None
    if feed.consecutive_failures >= settings.feed_max_failures:
        disable_feed(feed, f"{feed.consecutive_failures} failures in a row; last: {reason}"[:1000], now)
        return
    delay = timedelta(seconds=min(MAX_BACKOFF.total_seconds(), 60 * 2 ** feed.consecutive_failures))
    delay *= random.uniform(0.75, 1.25)
    if retry_after is not None:
        delay = max(delay, timedelta(seconds=min(retry_after, MAX_BACKOFF.total_seconds())))
    feed.next_poll_at = now + min(delay, MAX_BACKOFF)


def disable_feed(feed: Feed, reason: str, now: datetime) -> None:
    feed.disabled_at = now
    feed.disabled_reason = reason
    feed.lease_until = None
