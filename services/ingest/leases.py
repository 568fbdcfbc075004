"""Feed leases and the feed state a poll carries: claim due feeds, snapshot them, write them back.

A feed is *claimed* with a conditional UPDATE that sets its lease; the lease value is the
claim's token, and the write-back matches only while the feed still carries that token, so a
poll that overran its lease (and was claimed again by another worker) writes nothing.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, bindparam, func, or_, select, update
from sqlalchemy.orm import Session

from db.models import Feed
from db.results import affected_rows

log = logging.getLogger(__name__)

LEASE = timedelta(minutes=5)  # default; callers with settings use POLL_LEASE_SECONDS


@dataclass
class FeedState:
    """A claimed feed's row as read at claim time; the poll updates it and writes it back in one UPDATE.

    It satisfies ``services.ingest.schedule.PollState``, the protocol the schedule functions accept.
    """

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
    full_text: str = "auto"  # FullTextMode: when the poll fetches article pages for their main text


STATE_COLUMNS = [
    Feed.id,
    Feed.url,
    Feed.etag,
    Feed.last_modified,
    Feed.lease_until,
    Feed.title,
    Feed.site_url,
    Feed.poll_interval_s,
    Feed.entries_per_day,
    Feed.consecutive_failures,
    Feed.last_success_at,
    Feed.next_poll_at,
    Feed.last_error,
    Feed.disabled_at,
    Feed.disabled_reason,
    Feed.full_text,
    Feed.backfill_pending,
]
WRITTEN = (
    "url",
    "etag",
    "last_modified",
    "title",
    "site_url",
    "poll_interval_s",
    "entries_per_day",
    "consecutive_failures",
    "last_success_at",
    "next_poll_at",
    "last_error",
    "disabled_at",
    "disabled_reason",
    "backfill_pending",
)


def due_feed_ids(
    session: Session, now: datetime, *, include_not_due: bool = False, limit: int | None = None
) -> list[int]:
    """Active feeds due at ``now`` (all active feeds with ``include_not_due``) and not leased, oldest due first."""
    query = select(Feed.id).where(Feed.disabled_at.is_(None)).order_by(Feed.next_poll_at, Feed.id)
    if not include_not_due:
        query = query.where(Feed.next_poll_at <= now, or_(Feed.lease_until.is_(None), Feed.lease_until < now))
    if limit is not None:
        query = query.limit(limit)
    return list(session.execute(query).scalars())


def _claimable(now: datetime, due_only: bool) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = [
        Feed.disabled_at.is_(None),
        or_(Feed.lease_until.is_(None), Feed.lease_until < now),
    ]
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
        update(Feed)
        .where(Feed.id == feed_id, *_claimable(now, due_only))
        .values(lease_until=now + lease, last_polled_at=now),
        execution_options={"synchronize_session": False},
    )
    return affected_rows(claimed) == 1


def claim_feeds(
    session: Session, feed_ids: list[int], now: datetime, *, due_only: bool = False, lease: timedelta = LEASE
) -> list[FeedState]:
    """claim_feed for many feeds in one statement; the snapshots of the feeds this caller now holds, in ``feed_ids`` order."""
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
    return sorted((FeedState(**row._asdict()) for row in rows), key=lambda s: order[s.id])


def adopt_leases(
    session: Session, feed_ids: list[int], token: datetime, now: datetime, *, lease: timedelta = LEASE
) -> list[FeedState]:
    """Take over leases a dispatcher took (``lease_until == token``) and renew them to ``now`` + ``lease``.

    One UPDATE ... RETURNING: feeds whose lease ran out and was taken by a later dispatch (another
    token), or that were disabled meanwhile, are not returned and must not be polled.
    """
    if not feed_ids:
        return []
    rows = session.execute(
        update(Feed)
        .where(Feed.id.in_(feed_ids), Feed.lease_until == token, Feed.disabled_at.is_(None))
        .values(lease_until=now + lease, last_polled_at=now)
        .returning(*STATE_COLUMNS),
        execution_options={"synchronize_session": False},
    ).all()
    order = {feed_id: i for i, feed_id in enumerate(feed_ids)}
    return sorted((FeedState(**row._asdict()) for row in rows), key=lambda s: order[s.id])


def leased_feed_count(session: Session, now: datetime) -> int:
    """Feeds currently held by a lease: dispatched and waiting in the queue, or being polled."""
    return int(
        session.execute(
            select(func.count()).select_from(Feed).where(Feed.lease_until > now, Feed.disabled_at.is_(None))
        ).scalar_one()
    )


def feed_snapshot(session: Session, feed_id: int) -> FeedState | None:
    row = session.execute(select(*STATE_COLUMNS).where(Feed.id == feed_id, Feed.disabled_at.is_(None))).first()
    return FeedState(**row._asdict()) if row else None


def release_lease(session: Session, state: FeedState) -> bool:
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


def release_leases(session: Session, states: list[FeedState]) -> None:
    """Give back leases taken but never polled (a batch task stopping early); only those still ours."""
    held = [{"r_id": s.id, "r_lease": s.lease_until} for s in states if s.lease_until is not None]
    if held:
        session.execute(_RELEASE, held)


_FEEDS = Feed.__table__
_RELEASE = (
    update(_FEEDS)
    .where(_FEEDS.c.id == bindparam("r_id"), _FEEDS.c.lease_until == bindparam("r_lease"))
    .values(lease_until=None)
)
_WRITE_FEED = (
    update(_FEEDS)
    .where(_FEEDS.c.id == bindparam("w_id"), _FEEDS.c.disabled_at.is_(None))
    .values(
        lease_until=None, last_polled_at=bindparam("w_polled"), **{name: bindparam("w_" + name) for name in WRITTEN}
    )
)
_WRITE_LEASED_FEED = _WRITE_FEED.where(_FEEDS.c.lease_until == bindparam("w_lease"))


def write_feed_state(session: Session, state: FeedState, lease: datetime | None, polled_at: datetime) -> bool:
    """Write the feed's new state and release the lease in one UPDATE; False if ``lease`` is no longer ours.

    The statement is built once with bind parameters (a poll cycle runs it for every feed)."""
    params: dict[str, Any] = {"w_" + name: getattr(state, name) for name in WRITTEN}
    params.update(w_id=state.id, w_polled=polled_at)
    if lease is None:
        return affected_rows(session.execute(_WRITE_FEED, params)) == 1
    params["w_lease"] = lease
    return affected_rows(session.execute(_WRITE_LEASED_FEED, params)) == 1
