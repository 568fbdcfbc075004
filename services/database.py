"""Sessions for services and entry points, built from the settings."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from db.engine import make_engine, make_session_factory, session_scope
from services.settings import get_settings

_engines: dict[str, Engine] = {}


def engine_for(url: str | None = None) -> Engine:
    """One pooled engine per database URL for the life of the process."""
    settings = get_settings()
    url = url or settings.database_url
    if url not in _engines:
        _engines[url] = make_engine(
            url, **pool_options(url, settings.database_pool_size, settings.database_max_overflow)
        )
    return _engines[url]


def pool_options(url: str, pool_size: int, max_overflow: int) -> dict[str, object]:
    """DATABASE_POOL_SIZE / DATABASE_MAX_OVERFLOW for a server database; SQLite keeps SQLAlchemy's own pool.

    Each process opens at most pool_size + max_overflow connections (docs/deploy.md, "Connection budget").
    """
    if make_url(url).get_backend_name() == "sqlite":
        return {}
    return {"pool_size": pool_size, "max_overflow": max_overflow}


def session_factory(url: str | None = None) -> sessionmaker[Session]:
    return make_session_factory(engine_for(url))


@contextmanager
def unit_of_work(url: str | None = None) -> Iterator[Session]:
    """Open a session on the configured database; commit at the end, roll back on error."""
    with session_scope(session_factory(url)) as session:
        yield session


def dispose_engines() -> None:
    """Drop pooled connections: in each forked worker process, and when a test changes the URL."""
    for engine in _engines.values():
        engine.dispose()
    _engines.clear()


def describe_database_error(exc: BaseException, url: str | None = None) -> str | None:
    """One line for a person: what is wrong with the database at ``url`` and what to do; None if ``exc`` is not that.

    Covers a server that cannot be reached, a login refused, a database that does not exist, a SQLite file
    that cannot be opened, and a schema that was never migrated or is behind the code.
    """
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import DBAPIError, NoSuchModuleError

    url = url or get_settings().database_url
    parsed = make_url(url)
    if isinstance(exc, NoSuchModuleError):
        return f"DATABASE_URL names a driver that is not installed ({exc}); use sqlite:/// or postgresql+psycopg://"
    if not isinstance(exc, DBAPIError):
        return None
    cause = str(exc.orig or exc).strip()
    text = cause.lower()
    first = cause.splitlines()[0] if cause else type(exc).__name__
    if parsed.get_backend_name() == "sqlite":
        where = f"the SQLite database {parsed.database or ':memory:'}"
    else:
        where = f"the database {parsed.database or '-'} at {parsed.host or 'localhost'}:{parsed.port or 5432}"
    if (
        "no such table" in text
        or "undefinedtable" in type(exc.orig).__name__.lower()
        or ("relation" in text and "does not exist" in text)
    ):
        return f"{where} has no cnai-monitor tables yet ({first}): run `cnai db upgrade`"
    if "no such column" in text or ("column" in text and "does not exist" in text):
        return f"{where} has an older schema than this cnai ({first}): run `cnai db upgrade`"
    if "database" in text and "does not exist" in text:
        return (
            f"{where} does not exist: create it (e.g. `createdb -h {parsed.host or 'localhost'} "
            f"{parsed.database}`), then run `cnai db upgrade`"
        )
    if "password authentication failed" in text or "role" in text and "does not exist" in text:
        return f"{where} refused the login ({_last_fatal(cause)}): fix the user or password in DATABASE_URL"
    if "unable to open database file" in text:
        return f"cannot open {where} (unable to open database file): check the path in DATABASE_URL"
    if "connection refused" in text or "could not connect" in text or "connection failed" in text or "timeout" in text:
        return f"cannot reach {where} ({_last_fatal(cause)}): start the database server or fix DATABASE_URL"
    return None


def _last_fatal(message: str) -> str:
    """The useful clause of a driver's connection error: after its last 'failed:'."""
    line = message.strip().splitlines()[0] if message.strip() else message
    return line.rsplit("failed:", 1)[-1].strip().removeprefix("FATAL:").strip() or line
