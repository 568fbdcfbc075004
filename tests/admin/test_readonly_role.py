"""cnai_readonly can read every table and view and change nothing; its migration is safe to run in
many databases of one cluster at once, and its downgrade leaves other databases alone."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ProgrammingError

from services.migrations import downgrade_database, upgrade_database
from tests.support.threads import join_all

pytestmark = pytest.mark.postgres

REPO_ROOT = Path(__file__).resolve().parents[2]
ROLE_MIGRATION = REPO_ROOT / "alembic" / "versions" / "0005_readonly_role.py"
FORBIDDEN = {
    "insert": "INSERT INTO channels (name, kind, target, created_at) VALUES ('x', 'console', 'stdout', now())",
    "update": "UPDATE feeds SET title = 'x'",
    "delete": "DELETE FROM articles",
    "create table": "CREATE TABLE public.sneaky (id int)",
    "drop table": "DROP TABLE fetch_log",
    "truncate": "TRUNCATE labels",
    "alter table": "ALTER TABLE articles ADD COLUMN sneaky int",
    "create view": "CREATE VIEW public.sneaky AS SELECT 1",
}


def _sql(url: str, *statements: str) -> list[list[tuple]]:  # type: ignore[type-arg]
    """Run each statement in its own transaction; the rows of each (empty when it returns none)."""
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            results = [connection.execute(text(s)) for s in statements]
            return [[tuple(row) for row in r] if r.returns_rows else [] for r in results]
    finally:
        engine.dispose()


@pytest.fixture
def reader_url(pg_url: str) -> Iterator[str]:
    """A temporary login role that is a member of cnai_readonly, as an admin would set one up."""
    role = f"cnai_reader_{uuid.uuid4().hex[:8]}"
    _sql(pg_url, f"CREATE ROLE {role} LOGIN IN ROLE cnai_readonly")
    yield make_url(pg_url).set(username=role, password=None).render_as_string(hide_password=False)
    _sql(pg_url, f"DROP ROLE IF EXISTS {role}")


def test_reader_can_select_every_table_view_and_search(pg_url: str, reader_url: str) -> None:
    relations = [
        name
        for (name,) in _sql(
            pg_url,
            """
        SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = 'public' AND c.relkind IN ('r', 'v') ORDER BY 1
    """,
        )[0]
    ]
    assert {"articles", "alerts", "relevant_articles", "feed_health", "daily_topic_counts"} <= set(relations)
    _sql(
        reader_url,
        *(f'SELECT * FROM "{name}" LIMIT 1' for name in relations),
        "SELECT * FROM search_articles('export controls 算力')",
    )


@pytest.mark.parametrize("what", FORBIDDEN)
def test_reader_cannot_change_anything(reader_url: str, what: str) -> None:
    with pytest.raises(ProgrammingError) as failure:
        _sql(reader_url, FORBIDDEN[what])
    assert isinstance(failure.value.orig, psycopg.errors.InsufficientPrivilege), failure.value


def test_tables_created_later_are_readable_through_default_privileges(pg_url: str, reader_url: str) -> None:
    _sql(
        pg_url,
        "CREATE TABLE later_table (id int)",
        "COMMENT ON TABLE later_table IS 'test'",
        "INSERT INTO later_table VALUES (7)",
    )
    assert _sql(reader_url, "SELECT id FROM later_table") == [[(7,)]]


def test_downgrade_revokes_in_this_database_and_keeps_the_role_for_others(pg_url: str) -> None:
    privileges = "SELECT has_table_privilege('cnai_readonly', 'articles', 'SELECT')"
    assert _sql(pg_url, privileges) == [[(True,)]]
    downgrade_database(pg_url, "0004")
    assert _sql(pg_url, privileges, "SELECT count(*) FROM pg_roles WHERE rolname = 'cnai_readonly'") == [
        [(False,)],
        [(1,)],
    ]
    upgrade_database(pg_url)
    assert _sql(pg_url, privileges) == [[(True,)]]


def _role_sql(role: str) -> str:
    spec = importlib.util.spec_from_file_location("readonly_role_migration", ROLE_MIGRATION)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.CREATE_ROLE.replace("cnai_readonly", role)


def test_role_creation_tolerates_a_concurrent_creation_in_another_database(pg_url: str, empty_pg_url: str) -> None:
    """Two databases migrating at once both find the role missing; the second waits, then carries on."""
    role = f"cnai_ro_race_{uuid.uuid4().hex[:8]}"
    create_role = _role_sql(role)
    conninfo = [
        make_url(u).set(drivername="postgresql").render_as_string(hide_password=False) for u in (pg_url, empty_pg_url)
    ]
    first_created = threading.Event()
    errors: list[BaseException] = []

    def first() -> None:
        with psycopg.connect(conninfo[0]) as connection:  # one transaction, committed on exit
            connection.execute(create_role)
            first_created.set()
            connection.execute("SELECT pg_sleep(1)")

    def second() -> None:
        first_created.wait(10)
        try:
            with psycopg.connect(conninfo[1]) as connection:
                connection.execute(create_role)
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    try:
        for thread in threads:
            thread.start()
        join_all(threads, 30)
        assert errors == []
        assert _sql(pg_url, f"SELECT rolcanlogin FROM pg_roles WHERE rolname = '{role}'") == [[(False,)]]
    finally:
        _sql(pg_url, f"DROP ROLE IF EXISTS {role}")


def test_many_databases_migrate_at_once(empty_pg_url: str) -> None:
    """As parallel test runs do: separate processes (Alembic's context is per process) migrating at once."""
    names = [f"cnai_par_{uuid.uuid4().hex[:8]}" for _ in range(2)]
    urls = [make_url(empty_pg_url).set(database=n).render_as_string(hide_password=False) for n in names]
    _sql(empty_pg_url, *(f'CREATE DATABASE "{n}"' for n in names))
    try:
        migrations = [
            subprocess.Popen(
                [sys.executable, "-c", f"from services.migrations import upgrade_database; upgrade_database({url!r})"],
                cwd=REPO_ROOT,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
            for url in urls
        ]
        for migration in migrations:
            output, _ = migration.communicate(timeout=120)
            assert migration.returncode == 0, output
        for url in urls:
            assert _sql(url, "SELECT has_table_privilege('cnai_readonly', 'relevant_articles', 'SELECT')") == [
                [(True,)]
            ]
    finally:
        _sql(empty_pg_url, *(f'DROP DATABASE IF EXISTS "{n}" WITH (FORCE)' for n in names))
