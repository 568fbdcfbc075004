"""Retention: logs and per-feed dedupe keys pruned by age, in bounded batches, oldest first.

- ``fetch_log``: one row per poll; rows older than FETCH_LOG_RETENTION_DAYS (30) are deleted.
- ``feed_entries``: one row per entry per feed, the key that makes a re-poll idempotent; rows
  older than FEED_ENTRY_RETENTION_DAYS (90) are deleted. An old item a feed still carries after its
  key was pruned is stored again as an entry of the existing article (matched by canonical URL or
  fingerprint), so it creates no article, no story and no alert: articles and alerts are kept.
- ``story_bands`` keep only the story-matching window (``services.ingest.stories.prune_story_bands``).

Each batch (RETENTION_BATCH_ROWS rows) is its own short transaction, so pruning a backlog never
holds long locks or a long transaction; a run stops after ``budget_s`` and the next run continues.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select

from db.models import FeedEntry, FetchLog
from services.database import unit_of_work
from services.settings import Settings


@dataclass
class RetentionReport:
    deleted: dict[str, int] = field(default_factory=dict)
    finished: bool = True


def _prune(url: str, model: Any, column: Any, cutoff: datetime, batch: int, deadline: float) -> tuple[int, bool]:
    """Delete rows of ``model`` with ``column`` < ``cutoff`` in batches; (rows deleted, all done)."""
    total = 0
    while True:
        with unit_of_work(url) as session:
            oldest = select(model.id).where(column < cutoff).order_by(column).limit(batch)
            ids = list(session.execute(oldest).scalars())
            if ids:
                session.execute(
                    delete(model).where(model.id.in_(ids)), execution_options={"synchronize_session": False}
                )
        total += len(ids)
        if len(ids) < batch:
            return total, True
        if time.monotonic() > deadline:
            return total, False


def prune_logs(settings: Settings, now: datetime, *, budget_s: float = 60.0) -> RetentionReport:
    """Delete fetch_log and feed_entries rows past their retention, oldest first, within ``budget_s``."""
    report = RetentionReport()
    deadline = time.monotonic() + budget_s
    plan = [
        ("fetch_log", FetchLog, FetchLog.started_at, settings.fetch_log_retention_days),
        ("feed_entries", FeedEntry, FeedEntry.first_seen_at, settings.feed_entry_retention_days),
    ]
    for name, model, column, days in plan:
        deleted, done = _prune(
            settings.database_url, model, column, now - timedelta(days=days), settings.retention_batch_rows, deadline
        )
        report.deleted[name] = deleted
        report.finished = report.finished and done
    return report
