"""`cnai db wait [--timeout S]` as the initContainers run it: a real process against SQLite and PostgreSQL."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest

from tests.integration.processes import CNAI, service_env


def cnai(env: dict[str, str], *args: str) -> tuple[subprocess.CompletedProcess[str], float]:
    began = time.monotonic()
    result = subprocess.run([*CNAI, *args], env=env, capture_output=True, text=True, timeout=120)
    return result, time.monotonic() - began


def test_db_wait_on_an_unmigrated_sqlite_file_fails_in_time_with_one_line_then_passes_after_upgrade(
    tmp_path: Path,
) -> None:
    env = service_env(DATABASE_URL=f"sqlite:///{tmp_path / 'fresh.db'}")
    waited, took = cnai(env, "db", "wait", "--timeout", "2")
    assert waited.returncode == 1
    assert took < 2 + 10, f"took {took:.1f}s for a 2 s timeout"
    [line] = waited.stderr.splitlines()
    assert line.startswith("cnai db wait: database at revision none (empty), head is ") and "`cnai db upgrade`" in line
    assert "Traceback" not in waited.stdout + waited.stderr
    assert cnai(env, "db", "upgrade")[0].returncode == 0
    ok, _ = cnai(env, "db", "wait", "--timeout", "2")
    assert ok.returncode == 0 and ok.stdout.startswith("database reachable, at head revision "), ok.stdout + ok.stderr


@pytest.mark.postgres
def test_db_wait_on_postgres_behind_head_fails_and_passes_after_upgrade(pg_url: str) -> None:
    env = service_env(DATABASE_URL=pg_url)
    assert cnai(env, "db", "downgrade", "0004", "--yes")[0].returncode == 0
    behind, _ = cnai(env, "db", "wait", "--timeout", "1")
    assert behind.returncode == 1
    assert behind.stderr.splitlines() == [behind.stderr.strip()] and "database at revision 0004" in behind.stderr
    assert cnai(env, "db", "upgrade")[0].returncode == 0
    assert cnai(env, "db", "wait", "--timeout", "5")[0].returncode == 0


def test_db_wait_on_an_unreachable_server_names_it_without_the_password() -> None:
    env = service_env(DATABASE_URL="postgresql+psycopg://cnai:not-the-password-0451@127.0.0.1:9/cnai")
    result, took = cnai(env, "db", "wait", "--timeout", "3")
    assert result.returncode == 1 and took < 3 + 10
    [line] = result.stderr.splitlines()
    assert "database unreachable" in line and "not-the-password-0451" not in result.stdout + result.stderr


def test_db_wait_waits_for_a_migration_that_finishes_meanwhile(tmp_path: Path) -> None:
    env = service_env(DATABASE_URL=f"sqlite:///{tmp_path / 'later.db'}")
    waiting = subprocess.Popen(
        [*CNAI, "db", "wait", "--timeout", "60", "--interval", "0.5"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    time.sleep(1.5)
    assert waiting.poll() is None, "it must still be waiting"
    assert cnai(env, "db", "upgrade")[0].returncode == 0
    out, err = waiting.communicate(timeout=30)
    assert waiting.returncode == 0, out + err
