"""Health: heartbeat files, the probes `cnai health worker|beat`, and the `cnai health` table."""

from __future__ import annotations

import os
import subprocess
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy.orm import Session

from cli.health import health
from db.models import Alert, Article, Channel, Delivery, Feed, Story, Subscription
from services.database import unit_of_work
from services.observability.health import (
    FAIL,
    OK,
    WARN,
    database_checks,
    heartbeat_age,
    heartbeat_check,
    pipeline_checks,
    write_heartbeat,
)
from tests.integration.processes import CNAI, service_env
from tests.support.services import PrivateRedis, free_port

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=timezone.utc)


def test_heartbeat_age_follows_the_file(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "worker.heartbeat"
    assert heartbeat_age(path) is None
    write_heartbeat(path)
    assert heartbeat_age(path) < 2  # type: ignore[operator]
    os.utime(path, (time.time() - 300, time.time() - 300))
    assert 299 < heartbeat_age(path) < 310  # type: ignore[operator]
    assert heartbeat_check("worker", path, 120).status == FAIL
    assert heartbeat_check("worker", path, 600).status == OK
    assert heartbeat_check("worker", tmp_path / "none", 120).status == FAIL
    assert heartbeat_check("worker", tmp_path / "none", 120, missing=OK).status == OK


@pytest.mark.parametrize(("age", "code"), [(5, 0), (300, 1), (None, 1)])
def test_the_probe_exits_non_zero_on_a_stale_or_missing_heartbeat(tmp_path: Path, age: float | None, code: int) -> None:
    path = tmp_path / "worker.heartbeat"
    if age is not None:
        write_heartbeat(path)
        os.utime(path, (time.time() - age, time.time() - age))
    env = service_env(WORKER_HEARTBEAT_FILE=str(path), DATABASE_URL=f"sqlite:///{tmp_path / 'unused.db'}")
    result = subprocess.run(
        [*CNAI, "health", "worker", "--max-age", "120"], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == code, result.stdout + result.stderr
    assert "Traceback" not in result.stderr


def test_the_beat_probe_reads_the_beat_heartbeat(tmp_path: Path, env: pytest.MonkeyPatch) -> None:
    env.setenv("BEAT_HEARTBEAT_FILE", str(tmp_path / "beat.heartbeat"))
    env.setenv("WORKER_HEARTBEAT_FILE", str(tmp_path / "worker.heartbeat"))
    runner = CliRunner()
    assert runner.invoke(health, ["beat", "--max-age", "120"]).exit_code == 1
    write_heartbeat(tmp_path / "beat.heartbeat")
    result = runner.invoke(health, ["beat", "--max-age", "120"])
    assert result.exit_code == 0, result.output
    assert runner.invoke(health, ["worker", "--max-age", "120"]).exit_code == 1


def _feed(session: Session, n: int, **fields: object) -> Feed:
    feed = Feed(url=f"https://example.org/{n}.xml", **fields)
    session.add(feed)
    return feed


def _delivery(session: Session, n: int, status: str, next_attempt_at: datetime) -> None:
    story = Story(title=f"story {n}")
    article = Article(title=f"article {n}", fingerprint=f"{n:064d}", published_at=NOW, story=story)
    subscription = session.query(Subscription).first() or Subscription(name="default")
    channel = session.query(Channel).first() or Channel(name="slack", kind="slack", target="env:SLACK_WEBHOOK_URL")
    session.add_all([story, article, subscription, channel])
    session.flush()
    alert = Alert(story_id=story.id, article_id=article.id, subscription_id=subscription.id)
    alert.deliveries.append(Delivery(channel=channel, status=status, next_attempt_at=next_attempt_at))
    session.add(alert)


def test_pipeline_checks_count_feeds_and_deliveries_and_fail_when_work_stalls(pg_url: str) -> None:
    with unit_of_work(pg_url) as session:
        _feed(session, 1, next_poll_at=NOW + timedelta(minutes=5))
        _feed(session, 2, next_poll_at=NOW - timedelta(minutes=1))
        _feed(session, 3, next_poll_at=NOW - timedelta(minutes=1), consecutive_failures=2, last_error="HTTP 503")
        _feed(session, 4, disabled_at=NOW, disabled_reason="HTTP 410 Gone")
        _delivery(session, 1, "pending", NOW - timedelta(seconds=10))
        _delivery(session, 2, "failed", NOW - timedelta(hours=2))
    with unit_of_work(pg_url) as session:
        feeds, failing, deliveries = pipeline_checks(session, NOW)
    assert feeds.status == OK and feeds.detail.startswith("3 active, 2 due now")
    assert failing.status == WARN and "1 failing, 1 disabled" in failing.detail
    assert deliveries.status == WARN and deliveries.detail.startswith("1 pending, 1 failed")

    with unit_of_work(pg_url) as session:
        _feed(session, 5, next_poll_at=NOW - timedelta(hours=1))
        _delivery(session, 3, "pending", NOW - timedelta(hours=1))
    with unit_of_work(pg_url) as session:
        feeds, _, deliveries = pipeline_checks(session, NOW)
    assert feeds.status == FAIL and "1 overdue" in feeds.detail
    assert deliveries.status == FAIL and "1 overdue" in deliveries.detail


def test_database_checks_tell_unreachable_from_unmigrated(pg_url: str, empty_pg_url: str) -> None:
    assert [c.status for c in database_checks(pg_url)] == [OK, OK]
    reachable, migrations = database_checks(empty_pg_url)
    assert reachable.status == OK and migrations.status == FAIL and "cnai db upgrade" in migrations.detail
    [down] = database_checks(f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/nothing")
    assert down.status == FAIL and down.detail.startswith("unreachable")


def test_the_table_reports_every_part_and_exits_1_when_one_fails(
    pg_url: str, private_redis: PrivateRedis, tmp_path: Path, env: pytest.MonkeyPatch
) -> None:
    env.setenv("DATABASE_URL", pg_url)
    env.setenv("REDIS_URL", private_redis.url)
    env.setenv("WORKER_HEARTBEAT_FILE", str(tmp_path / "worker.heartbeat"))
    env.setenv("BEAT_HEARTBEAT_FILE", str(tmp_path / "beat.heartbeat"))
    write_heartbeat(tmp_path / "worker.heartbeat")
    runner = CliRunner()
    result = runner.invoke(health, [])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    for name in (
        "database",
        "migrations",
        "feeds",
        "failing feeds",
        "deliveries",
        "broker",
        "worker heartbeat",
        "beat heartbeat",
    ):
        assert any(line.startswith(name + " ") for line in lines), f"no {name!r} row in\n{result.output}"
    assert lines[-1] == "healthy"
    assert "waiting: dispatch 0, poll 0, classify 0, deliver 0" in result.output

    private_redis.stop()
    result = runner.invoke(health, [])
    assert result.exit_code == 1
    assert any(line.startswith("broker") and "FAIL" in line for line in result.output.splitlines())
    assert result.output.splitlines()[-1] == "UNHEALTHY"
