"""Is the database reachable and at the head revision? (`cnai db wait`, the worker's start-up check.)"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class SchemaStatus:
    reachable: bool
    current: str | None
    head: str | None
    detail: str

    @property
    def at_head(self) -> bool:
        return self.reachable and self.current is not None and self.current == self.head

    def line(self) -> str:
        """One line for an operator: what state the database is in and what to do."""
        if not self.reachable:
            return f"database unreachable: {self.detail}"
        if self.at_head:
            return f"database reachable, at head revision {self.head}"
        return f"database at revision {self.current or 'none (empty)'}, head is {self.head}: run `cnai db upgrade`"


def head_revision() -> str | None:
    from alembic.script import ScriptDirectory

    from services.migrations import alembic_config

    return ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()


def schema_status(database_url: str, *, connect_timeout_s: float = 5.0) -> SchemaStatus:
    """Connect once (a fresh engine, no pool) and compare the stored revision with the code's head."""
    from alembic.runtime.migration import MigrationContext
    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import SQLAlchemyError
    from sqlalchemy.pool import NullPool

    head = head_revision()
    url = make_url(database_url)
    connect_args: dict[str, object] = {}
    if url.get_backend_name() == "postgresql":
        connect_args["connect_timeout"] = max(1, int(connect_timeout_s))
    elif url.get_backend_name() == "sqlite":
        database = url.database
        if database and database != ":memory:" and not _file_exists(database):
            return SchemaStatus(True, None, head, f"no database file at {database}")
        connect_args["timeout"] = connect_timeout_s
    engine = create_engine(url, poolclass=NullPool, connect_args=connect_args)
    try:
        with engine.connect() as conn:
            current = MigrationContext.configure(conn).get_current_revision()
    except SQLAlchemyError as exc:
        orig = getattr(exc, "orig", None)
        cause: BaseException = orig if isinstance(orig, BaseException) else exc
        first = (str(cause).strip().splitlines() or [""])[0][:200]
        return SchemaStatus(False, None, head, _redact_password(f"{type(cause).__name__}: {first}", database_url))
    finally:
        engine.dispose()
    return SchemaStatus(True, current, head, "")


def wait_for_schema(
    database_url: str,
    timeout_s: float,
    *,
    interval_s: float = 2.0,
    on_wait: Callable[[SchemaStatus], None] | None = None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> SchemaStatus:
    """Check until the database is reachable and at head, or ``timeout_s`` has passed; return the last status."""
    deadline = clock() + timeout_s
    while True:
        remaining = deadline - clock()
        status = schema_status(database_url, connect_timeout_s=max(1.0, min(5.0, remaining)))
        if status.at_head or clock() + interval_s > deadline:
            return status
        if on_wait is not None:
            on_wait(status)
        sleep(interval_s)


def _file_exists(path: str) -> bool:
    from pathlib import Path

    return Path(path).exists()


def _redact_password(text: str, database_url: str) -> str:
    from urllib.parse import unquote, urlsplit

    try:
        password = urlsplit(database_url).password
    except ValueError:
        return text
    for secret in {password, unquote(password)} if password else set():
        text = text.replace(secret, "[redacted]")
    return text
