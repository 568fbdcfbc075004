"""The login rate limit, kept in the database so every web replica counts the same failures.

At most ``attempts`` failed logins per ``window_s`` seconds per client address and per user name;
further attempts wait until the oldest failure in the window has aged out.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from db.models import LoginFailure


def _keys(address: str, username: str) -> list[str]:
    return [f"ip:{address}"[:200], f"user:{username.casefold()}"[:200]]


def login_retry_after(
    session: Session, address: str, username: str, attempts: int, window_s: int, now: datetime | None = None
) -> int:
    """Seconds to wait before another attempt may be made; 0 when allowed now."""
    now = now or datetime.now(timezone.utc)
    since = now - timedelta(seconds=window_s)
    wait = 0
    for key in _keys(address, username):
        count, oldest = session.execute(
            select(func.count(), func.min(LoginFailure.at)).where(LoginFailure.key == key, LoginFailure.at > since)
        ).one()
        if count >= attempts and oldest is not None:
            wait = max(wait, int((oldest + timedelta(seconds=window_s) - now).total_seconds()) + 1)
    return wait


def record_login_failure(
    session: Session, address: str, username: str, window_s: int, now: datetime | None = None
) -> None:
    now = now or datetime.now(timezone.utc)
    session.execute(delete(LoginFailure).where(LoginFailure.at <= now - timedelta(seconds=window_s)))
    session.add_all([LoginFailure(key=key, at=now) for key in _keys(address, username)])
    session.flush()


def clear_login_failures(session: Session, username: str) -> None:
    """A successful login forgets the user name's failures (not the address's)."""
    session.execute(delete(LoginFailure).where(LoginFailure.key == _keys("", username)[1]))
