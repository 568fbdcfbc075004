"""Health: heartbeat files for the Kubernetes probes, and the checks behind `cnai health`.

The worker and beat each run a heartbeat thread that rewrites a small JSON file (time, broker
connected, when the Celery loop last ran; ``services.heartbeat_state``), so the
probes (``python -m workers.probe``, and `cnai health worker|beat`) only read a file.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from db.enums import DeliveryStatus, Queue
from services.heartbeat_state import HeartbeatState, write_state

OK, WARN, FAIL = "ok", "warn", "fail"

#: A feed or a delivery waiting this long past its due time means nothing is working through the queue.
STALLED_AFTER = timedelta(minutes=30)


@dataclass(frozen=True)
class Check:
    name: str
    status: str
    detail: str


def write_heartbeat(path: Path, *, broker_connected: bool | None = None, loop_at: float | None = None) -> None:
    """Record that the process is alive now (the file's mtime is the heartbeat; the body is
    ``services.heartbeat_state.HeartbeatState`` as JSON)."""
    now = time.time()
    write_state(path, HeartbeatState(now, os.getpid(), broker_connected, now if loop_at is None else loop_at))


def heartbeat_age(path: Path, now: float | None = None) -> float | None:
    """Seconds since the last heartbeat, or None when there never was one."""
    try:
        mtime = path.stat().st_mtime
    except FileNotFoundError:
        return None
    return max(0.0, (time.time() if now is None else now) - mtime)


def heartbeat_check(name: str, path: Path, max_age: float, *, missing: str = FAIL) -> Check:
    age = heartbeat_age(path)
    if age is None:
        return Check(name, missing, f"no heartbeat at {path} (not running on this host?)")
    if age > max_age:
        return Check(name, FAIL, f"last heartbeat {age:.0f}s ago (limit {max_age:.0f}s), {path}")
    return Check(name, OK, f"last heartbeat {age:.0f}s ago")


def database_checks(database_url: str) -> list[Check]:
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory
    from sqlalchemy.exc import SQLAlchemyError

    from services.database import engine_for
    from services.migrations import alembic_config

    try:
        with engine_for(database_url).connect() as conn:
            current = MigrationContext.configure(conn).get_current_revision()
    except SQLAlchemyError as exc:
        cause = getattr(exc, "orig", None) or exc
        return [Check("database", FAIL, f"unreachable: {type(cause).__name__}: {_first_line(cause)}")]
    head = ScriptDirectory.from_config(alembic_config(database_url)).get_current_head()
    checks = [Check("database", OK, f"reachable ({engine_for(database_url).dialect.name})")]
    if current == head:
        checks.append(Check("migrations", OK, f"at head {head}"))
    else:
        checks.append(
            Check("migrations", FAIL, f"at {current or 'no revision'}, head is {head}: run `cnai db upgrade`")
        )
    return checks


def broker_check(broker_url: str) -> Check:
    import redis

    try:
        client = redis.Redis.from_url(broker_url, socket_timeout=3, socket_connect_timeout=3)
        client.ping()
        from services.observability.metrics import queue_depths

        depths = queue_depths(client, tuple(Queue))
        client.close()
    except redis.RedisError as exc:
        return Check("broker", FAIL, f"unreachable: {type(exc).__name__}")
    waiting = ", ".join(f"{queue} {count}" for queue, count in depths.items())
    return Check("broker", OK, f"reachable; waiting: {waiting}")


def pipeline_checks(session: Session, now: datetime) -> list[Check]:
    """Feeds due, failing and disabled; deliveries pending and failed; WARN/FAIL when work has stalled."""
    from db.models import Delivery, Feed

    def count(*where: object) -> int:
        return session.execute(select(func.count()).select_from(where[0]).where(*where[1:])).scalar_one()  # type: ignore[arg-type]  # select_from/where take the model and criteria passed as plain objects

    active = Feed.disabled_at.is_(None)
    feeds_total = count(Feed, active)
    due = count(Feed, active, Feed.next_poll_at <= now)
    stalled_feeds = count(Feed, active, Feed.next_poll_at <= now - STALLED_AFTER)
    failing = count(Feed, active, Feed.consecutive_failures > 0)
    disabled = count(Feed, Feed.disabled_at.is_not(None))
    pending = count(Delivery, Delivery.status.in_((DeliveryStatus.PENDING, DeliveryStatus.SENDING)))
    stalled_deliveries = count(
        Delivery,
        Delivery.status.in_((DeliveryStatus.PENDING, DeliveryStatus.SENDING)),
        Delivery.next_attempt_at <= now - STALLED_AFTER,
    )
    failed = count(Delivery, Delivery.status == DeliveryStatus.FAILED)

    minutes = int(STALLED_AFTER.total_seconds() // 60)
    feeds_status = FAIL if stalled_feeds else OK
    feeds = Check(
        "feeds",
        feeds_status,
        f"{feeds_total} active, {due} due now"
        + (f", {stalled_feeds} overdue by more than {minutes} min: is a poll worker running?" if stalled_feeds else ""),
    )
    failing_check = Check(
        "failing feeds", WARN if failing else OK, f"{failing} failing, {disabled} disabled (`cnai feeds list`)"
    )
    deliveries_status = FAIL if stalled_deliveries else (WARN if failed else OK)
    deliveries = Check(
        "deliveries",
        deliveries_status,
        f"{pending} pending, {failed} failed"
        + (
            f", {stalled_deliveries} overdue by more than {minutes} min: is a deliver worker running?"
            if stalled_deliveries
            else ""
        ),
    )
    return [feeds, failing_check, deliveries]


def overall_ok(checks: list[Check]) -> bool:
    return all(check.status != FAIL for check in checks)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:200] if text else ""
