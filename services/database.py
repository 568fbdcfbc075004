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
        _engines[url] = make_engine(url, **pool_options(url, settings.database_pool_size, settings.database_max_overflow))
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
