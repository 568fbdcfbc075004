"""A real worker and real beat processes: heartbeats and probes, metrics from the pool processes,
JSON logs with task context, Sentry cron check-ins, and the RedBeat lock across two beats."""

from __future__ import annotations

import json
import os
import signal
import subprocess
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.integration.processes import CELERY, CNAI, ServiceProcess, service_env, wait_until
from tests.observability.test_sentry import decode_envelope
from tests.support.http import LocalHTTPServer, Response
from tests.support.services import PrivateRedis, free_port

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.redis, pytest.mark.timeout(240)]

BEAT = [*CELERY, "beat", "--scheduler", "redbeat.RedBeatScheduler", "--loglevel", "INFO"]
WORKER = [
    *CELERY,
    "worker",
    "--queues",
    "dispatch,poll,classify,deliver",
    "--concurrency",
    "2",
    "--loglevel",
    "INFO",
    "--without-mingle",
    "--without-gossip",
]


def probe(env: dict[str, str], *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [*CNAI, "health", *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )


def metric(text: str, name: str, **labels: str) -> float | None:
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                return sample.value
    return None


@pytest.fixture
def sentry(http_server: LocalHTTPServer) -> LocalHTTPServer:
    http_server.routes["/api/1/envelope/"] = Response(200, b"{}", {"Content-Type": "application/json"})
    return http_server


@pytest.fixture
def celery_env(tmp_path: Path, pg_url: str, private_redis: PrivateRedis, sentry: LocalHTTPServer) -> dict[str, str]:
    return service_env(
        DATABASE_URL=pg_url,
        REDIS_URL=private_redis.url,
        DISPATCH_INTERVAL_SECONDS="60",  # whole minutes: a Sentry cron monitor
        DELIVERY_SWEEP_INTERVAL_SECONDS="1",
        WORKER_HEARTBEAT_FILE=str(tmp_path / "worker.heartbeat"),
        BEAT_HEARTBEAT_FILE=str(tmp_path / "beat.heartbeat"),
        METRICS_PORT=str(free_port()),
        LOG_FORMAT="json",
        SENTRY_DSN=f"http://public@127.0.0.1:{sentry.port}/1",
        SENTRY_ENVIRONMENT="test",
    )


def dispatch_last_ran_a_minute_ago(redis_url: str) -> None:
    """As if an earlier beat had run the dispatch a minute ago: the new beat keeps that and runs it at once."""
    from celery import Celery
    from celery.schedules import schedule
    from redbeat import RedBeatSchedulerEntry

    from workers.celeryconfig import redbeat_key_prefix

    seeding = Celery("seed", set_as_current=False)
    seeding.conf.update(redbeat_redis_url=redis_url, redbeat_key_prefix=redbeat_key_prefix, timezone="UTC")
    entry = RedBeatSchedulerEntry(
        "dispatch-due-feeds",
        "cnai.poll.dispatch",
        schedule(60),
        options={"queue": "dispatch", "expires": 60},
        app=seeding,
    )
    entry.save()
    entry.reschedule(last_run_at=datetime.now(timezone.utc) - timedelta(seconds=61))


@pytest.fixture
def worker_and_beat(
    celery_env: dict[str, str], tmp_path: Path, private_redis: PrivateRedis
) -> Iterator[tuple[ServiceProcess, ServiceProcess]]:
    dispatch_last_ran_a_minute_ago(private_redis.url)
    worker = ServiceProcess("worker", WORKER, celery_env, tmp_path)
    beat = ServiceProcess("beat", BEAT, celery_env, tmp_path)
    try:
        worker.start()
        beat.start()
        worker.wait_for_log(" ready.", 60)
        beat.wait_for_log("beat: Acquired lock", 60)
        yield worker, beat
    finally:
        worker.signal_group(signal.SIGCONT)
        worker.kill()
        beat.kill()


def test_worker_and_beat_heartbeat_serve_metrics_log_json_and_check_in_with_sentry(
    worker_and_beat: tuple[ServiceProcess, ServiceProcess],
    celery_env: dict[str, str],
    tmp_path: Path,
    sentry: LocalHTTPServer,
) -> None:
    worker, beat = worker_and_beat
    probes = [probe(celery_env, "worker", "--max-age", "120"), probe(celery_env, "beat", "--max-age", "120")]
    for p in probes:
        output, _ = p.communicate(timeout=60)
        assert p.returncode == 0, output

    # Metrics: task durations observed in the pool processes reach the main process's endpoint.
    url = f"http://127.0.0.1:{celery_env['METRICS_PORT']}/metrics"

    def scraped_after_a_dispatch() -> str | None:
        text = httpx.get(url, timeout=5).text
        return (
            text
            if metric(text, "cnai_task_duration_seconds_count", task="cnai.poll.dispatch", state="SUCCESS")
            else None
        )

    text = wait_until(scraped_after_a_dispatch, 20, "a dispatch task's duration at /metrics")
    assert metric(text, "cnai_queue_depth", queue="deliver") is not None
    assert metric(text, "cnai_broker_up") == 1

    # Logs: JSON lines; a task's own records carry its id and name.
    records = [json.loads(line) for line in worker.log().splitlines() if line.startswith("{")]
    assert records and all({"time", "level", "logger", "message"} <= set(r) for r in records)
    done = [r for r in records if "succeeded in" in r["message"] and "cnai.poll.dispatch" in r["message"]]
    assert done and done[0]["task_name"] == "cnai.poll.dispatch" and done[0]["task_id"] in done[0]["message"]

    # Sentry: beat tasks are cron monitors; the worker checks in for each run.
    def check_ins() -> list[dict]:
        found = []
        for request in sentry.requests_to("/api/1/envelope/"):
            found += [p for h, p in decode_envelope(request) if h.get("type") == "check_in" and isinstance(p, dict)]
        return found

    # The beat's own dispatch (the one checked in) can come after the worker's start-up dispatch: on a loaded
    # machine the beat starts and sends it tens of seconds later.
    wait_until(
        lambda: any(c["monitor_slug"] == "dispatch-due-feeds" and c["status"] == "ok" for c in check_ins()),
        60,
        "a Sentry cron check-in for dispatch-due-feeds",
    )
    assert all(c.get("environment") == "test" for c in check_ins())
    assert not any(c["monitor_slug"] == "deliver-due-alerts" for c in check_ins()), (
        "sub-minute entries are not monitors"
    )

    # The worker heartbeat is refreshed while the worker runs, and goes stale when its loop stops.
    heartbeat = tmp_path / "worker.heartbeat"
    first = heartbeat.stat().st_mtime
    wait_until(lambda: heartbeat.stat().st_mtime > first, 10, "the worker heartbeat to be refreshed")
    os.kill(worker.pid, signal.SIGSTOP)
    try:

        def probe_fails() -> bool:
            p = probe(celery_env, "worker", "--max-age", "2")
            p.communicate(timeout=60)
            return p.returncode == 1

        wait_until(probe_fails, 20, "`cnai health worker --max-age 2` to fail on a stopped worker", interval=0.5)
    finally:
        os.kill(worker.pid, signal.SIGCONT)
    assert beat.alive() and worker.alive()


def test_only_the_beat_holding_the_lock_sends_and_a_standby_takes_over_when_it_dies(
    private_redis: PrivateRedis, tmp_path: Path
) -> None:
    env = service_env(REDIS_URL=private_redis.url, DISPATCH_INTERVAL_SECONDS="1", DELIVERY_SWEEP_INTERVAL_SECONDS="1")
    beats = [
        ServiceProcess(f"beat-{n}", BEAT, {**env, "BEAT_HEARTBEAT_FILE": str(tmp_path / f"b{n}.heartbeat")}, tmp_path)
        for n in (1, 2)
    ]
    try:
        for beat in beats:
            beat.start()
        holder = wait_until(
            lambda: next((b for b in beats if "beat: Acquired lock" in b.log()), None), 60, "a beat to take the lock"
        )
        standby = beats[1] if holder is beats[0] else beats[0]
        standby.wait_for_log("beat: Starting...", 60)
        sent_before = holder.log().count("Sending due task")
        wait_until(
            lambda: holder.log().count("Sending due task") >= sent_before + 4, 60, "the lock holder to keep sending"
        )
        assert "Sending due task" not in standby.log() and "Acquired lock" not in standby.log()

        holder.kill()
        # the lock (timeout 5 s) passes to the standby once it expires; the deadline is generous for a loaded machine
        standby.wait_for_log("beat: Acquired lock", 60)
        standby.wait_for_log("Sending due task", 60)
    finally:
        for beat in beats:
            beat.kill()
