"""A migrated SQLite file per test, copied from one template migrated once per run (the corpus has ~70 cycles)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from services.database import dispose_engines
from services.migrations import upgrade_database


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sqlite-template") / "cnai.db"
    upgrade_database(f"sqlite:///{path}")
    dispose_engines()
    return path


@pytest.fixture
def sqlite_url(sqlite_template: Path, tmp_path: Path) -> Iterator[str]:
    """Overrides the suite's fixture: same migrated schema, without running Alembic for every test."""
    path = tmp_path / "cnai.db"
    shutil.copyfile(sqlite_template, path)
    yield f"sqlite:///{path}"
    dispose_engines()
