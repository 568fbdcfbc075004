"""Shared fixtures: migrated real databases, private Redis, local HTTP servers.

Each test gets its own PostgreSQL database, cloned from a template migrated once per
run with ``alembic upgrade head`` (never ``create_all``), so tests exercise the real
schema and can run in parallel with other test runs on the same server.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from services.database import dispose_engines
from services.migrations import upgrade_database
from tests.support.http import LocalHTTPServer, SlackStandIn
from tests.support.services import TEST_DATABASE_URL, TEST_REDIS_URL, PrivateRedis, require

REPO_ROOT = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("CNAI_SHARED_DIR", REPO_ROOT.parent / "shared"))
SAMPLES = REPO_ROOT / "config" / "samples"

_RUN_ID = uuid.uuid4().hex[:8]

# The bundled sample feeds and most test feeds date from 2023-2026: without a wide back-catalogue window
# a first poll would alert none of them. Tests of the back-catalogue rule set ALERT_BACKFILL_HOURS themselves.
os.environ.setdefault("ALERT_BACKFILL_HOURS", "1000000")


def _admin_url() -> str:
    return make_url(TEST_DATABASE_URL).set(database="postgres").render_as_string(hide_password=False)


def _database_url(name: str) -> str:
    return make_url(TEST_DATABASE_URL).set(database=name).render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def pg_template() -> Iterator[str]:
    require("PostgreSQL", TEST_DATABASE_URL, 5432)
    name = f"cnai_tmpl_{_RUN_ID}_{uuid.uuid4().hex[:8]}"  # unique per session: forked test processes share _RUN_ID
    admin = create_engine(_admin_url(), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    upgrade_database(_database_url(name))
    yield name
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def pg_url(pg_template: str) -> Iterator[str]:
    """A fresh, migrated PostgreSQL database of this test's own."""
    name = f"cnai_t_{_RUN_ID}_{uuid.uuid4().hex[:8]}"
    admin = create_engine(_admin_url(), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{pg_template}"'))
    yield _database_url(name)
    dispose_engines()
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def empty_pg_url() -> Iterator[str]:
    """An empty PostgreSQL database (no migrations applied)."""
    require("PostgreSQL", TEST_DATABASE_URL, 5432)
    name = f"cnai_e_{_RUN_ID}_{uuid.uuid4().hex[:8]}"
    admin = create_engine(_admin_url(), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield _database_url(name)
    dispose_engines()
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> Iterator[str]:
    """A migrated SQLite file of this test's own."""
    url = f"sqlite:///{tmp_path / 'cnai.db'}"
    upgrade_database(url)
    yield url
    dispose_engines()


@pytest.fixture
def redis_url() -> str:
    require("Redis", TEST_REDIS_URL, 6379)
    return TEST_REDIS_URL


@pytest.fixture
def private_redis() -> Iterator[PrivateRedis]:
    """A redis-server of this test's own on a free port (safe to restart or kill)."""
    server = PrivateRedis()
    server.start()
    yield server
    server.stop()
    shutil.rmtree(server.dir, ignore_errors=True)


@pytest.fixture
def http_server() -> Iterator[LocalHTTPServer]:
    server = LocalHTTPServer().start()
    yield server
    server.stop()


@pytest.fixture
def slack(http_server: LocalHTTPServer) -> SlackStandIn:
    return SlackStandIn(http_server)


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    """Set environment variables for settings; the settings cache is cleared before and after."""
    from services.settings import get_settings

    for name in (
        "SLACK_WEBHOOK_URL",
        "SMTP_URL",
        "ALERT_EMAIL_TO",
        "SENTRY_DSN",
        "DATABASE_URL",
        "FETCH_ALLOWED_NETWORKS",
    ):
        monkeypatch.delenv(name, raising=False)
    get_settings.cache_clear()
    yield monkeypatch
    get_settings.cache_clear()
    dispose_engines()
