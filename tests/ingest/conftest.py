"""The ``polling`` fixture: a migrated database and settings for polls against the local feed server."""

from __future__ import annotations

import pytest

from services.settings import Settings, get_settings
from tests.ingest.polling import FAST


@pytest.fixture(params=["sqlite"])
def backend_url(request: pytest.FixtureRequest) -> str:
    """The database polls write to (SQLite here; tests parametrised with "postgres" get a private PostgreSQL one)."""
    return request.getfixturevalue("pg_url" if request.param == "postgres" else "sqlite_url")


@pytest.fixture
def polling(env: pytest.MonkeyPatch, backend_url: str) -> Settings:
    """Environment for whole polls: a migrated database, the local server allowed, short timeouts."""
    env.setenv("DATABASE_URL", backend_url)
    for name, value in FAST.items():
        env.setenv(name, value)
    return get_settings()
