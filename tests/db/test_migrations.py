"""The schema comes only from migrations, which go up, down and up again, and match the models."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, inspect

from db.models import Base
from services.migrations import check_database, downgrade_database, upgrade_database


def _tables(url: str) -> set[str]:
    engine = create_engine(url)
    try:
        return set(inspect(engine).get_table_names()) - {"alembic_version"}
    finally:
        engine.dispose()


@pytest.mark.postgres
def test_models_and_migrations_do_not_drift_on_postgres(pg_url: str) -> None:
    check_database(pg_url)


def test_models_and_migrations_do_not_drift_on_sqlite(sqlite_url: str) -> None:
    check_database(sqlite_url)


def _round_trip(url: str) -> None:
    upgrade_database(url)
    assert _tables(url) >= set(Base.metadata.tables)
    downgrade_database(url, "base")
    assert _tables(url) == set()
    upgrade_database(url)
    assert _tables(url) >= set(Base.metadata.tables)
    check_database(url)


@pytest.mark.postgres
def test_upgrade_downgrade_upgrade_on_postgres(empty_pg_url: str) -> None:
    _round_trip(empty_pg_url)


def test_upgrade_downgrade_upgrade_on_sqlite(tmp_path) -> None:  # type: ignore[no-untyped-def]
    _round_trip(f"sqlite:///{tmp_path / 'roundtrip.db'}")
