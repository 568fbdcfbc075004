"""A real worker and a real beat through a Redis outage longer than the old liveness window, probed
with the manifests' own probe commands (time constants shortened through the settings and the
probes' options, as the issue allows): liveness never fails, readiness does while Redis is down,
and both recover and consume again once Redis is back. Also: a worker refuses to consume while the
schema is behind (`SCHEMA_WAIT_SECONDS`)."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest
import redis
from celery import Celery
from kombu import Queue
from sqlalchemy import create_engine, text

from services.observability.heartbeat_state import read_state
from tests.integration.processes import CELERY, REPO_ROOT, ServiceProcess, service_env, wait_until
from tests.support.services import PrivateRedis

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.redis, pytest.mark.timeout(180)]

WORKER = [
    *CELERY,
    "worker",
    "--queues",
    "dispatch,poll,classify,deliver",
    "--concurrency",
    "1",
    "--loglevel",
    "INFO",
    "--without-mingle",
    "--without-gossip",
]
BEAT = [*CELERY, "beat", "--scheduler", "redbeat.RedBeatScheduler", "--loglevel", "INFO"]
#: The manifests' probes with their ages divided by 20 (60 s -> 3 s, 300 s -> 15 s, 30 s -> 1.5 s).
LIVENESS = ["--max-age", "3", "--loop-max-age", "15"]
READINESS = ["--max-age", "1.5"]
#: The old probe: a heartbeat written by the loop, failing after --max-age 120, three failures a minute
#: apart; scaled the same way that is a stale loop for more than 6 s + 3 x 3 s.
OLD_LIVENESS_WINDOW_S = 15.0
OUTAGE_S = 25.0


def probe(role: str, kind: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    options = LIVENESS if kind == "liveness" else READINESS
    return subprocess.run(
        [sys.executable, "-m", "workers.probe", role, kind, *options],
        env=env,
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=30,
    )


def send(broker_url: str, task: str, queue: str) -> None:
    app = Celery("outage-client", broker=broker_url, set_as_current=False)
    app.conf.update(task_serializer="json", task_queues=[Queue(queue, routing_key=queue)])
    with app:
        app.send_task(task, queue=queue)


def test_a_redis_outage_longer_than_the_old_liveness_window_kills_nothing_and_both_recover(
    pg_url: str, private_redis: PrivateRedis, tmp_path: Path
) -> None:
    env = service_env(
        DATABASE_URL=pg_url,
        REDIS_URL=private_redis.url,
        HEARTBEAT_INTERVAL_SECONDS="0.5",
        METRICS_PORT="0",
        WORKER_HEARTBEAT_FILE=str(tmp_path / "worker.heartbeat"),
        BEAT_HEARTBEAT_FILE=str(tmp_path / "beat.heartbeat"),
        DISPATCH_INTERVAL_SECONDS="60",
        DELIVERY_SWEEP_INTERVAL_SECONDS="2",
    )
    worker = ServiceProcess("worker", WORKER, env, tmp_path)
    beat = ServiceProcess("beat", BEAT, env, tmp_path)
    roles = {"worker": worker, "beat": beat}
    try:
        worker.start()
        beat.start()
        worker.wait_for_log(" ready.", 60)
        beat.wait_for_log("beat: Acquired lock", 60)
        for role in roles:
            wait_until(lambda r=role: probe(r, "readiness", env).returncode == 0, 20, f"{role} ready before the outage")

        private_redis.stop()
        down_at = time.monotonic()
        liveness_failures: list[str] = []
        readiness_failed = {role: False for role in roles}
        loop_age_max = {role: 0.0 for role in roles}
        while time.monotonic() - down_at < OUTAGE_S:
            for role, process in roles.items():
                live = probe(role, "liveness", env)
                if live.returncode != 0:
                    liveness_failures.append(f"{role} at {time.monotonic() - down_at:.1f}s: {live.stderr.strip()}")
                readiness_failed[role] |= probe(role, "readiness", env).returncode != 0
                state = read_state(Path(env[f"{role.upper()}_HEARTBEAT_FILE"]))
                if state is not None and state.loop_at is not None:
                    loop_age_max[role] = max(loop_age_max[role], time.time() - state.loop_at)
                assert process.alive(), f"{role} exited during the outage:\n{process.log()[-2000:]}"
            time.sleep(0.5)

        assert liveness_failures == [], "liveness must tolerate a broker outage"
        assert readiness_failed == {"worker": True, "beat": True}, "readiness must report the lost broker"
        # Control: the Celery loops really stopped, so the old loop-written heartbeat would have failed liveness.
        assert loop_age_max["worker"] > OLD_LIVENESS_WINDOW_S, loop_age_max

        private_redis.start()
        back_at = time.monotonic()
        for role in roles:
            wait_until(
                lambda r=role: probe(r, "readiness", env).returncode == 0, 60, f"{role} ready again after the outage"
            )
        recovered_s = time.monotonic() - back_at
        consumed_before = worker.log().count("cnai.poll.dispatch[")
        send(private_redis.url, "cnai.poll.dispatch", "dispatch")
        wait_until(
            lambda: worker.log().count("cnai.poll.dispatch[") > consumed_before, 30, "the worker to consume again"
        )
        wait_until(
            lambda: "Sending due task" in beat.log()[beat.log().rfind("Redis unreachable") :], 30, "beat to send again"
        )
        assert worker.alive() and beat.alive()
        print(
            f"outage {OUTAGE_S:.0f}s; worker loop stale up to {loop_age_max['worker']:.1f}s; "
            f"beat loop stale up to {loop_age_max['beat']:.1f}s; ready again {recovered_s:.1f}s after Redis returned"
        )
    finally:
        worker.kill()
        beat.kill()


def test_a_worker_on_a_schema_behind_head_refuses_to_consume_and_exits(
    pg_url: str, private_redis: PrivateRedis, tmp_path: Path
) -> None:
    engine = create_engine(pg_url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '0001'"))
    engine.dispose()
    send(private_redis.url, "cnai.poll.dispatch", "dispatch")
    env = service_env(
        DATABASE_URL=pg_url,
        REDIS_URL=private_redis.url,
        SCHEMA_WAIT_SECONDS="3",
        METRICS_PORT="0",
        WORKER_HEARTBEAT_FILE=str(tmp_path / "worker.heartbeat"),
    )
    worker = ServiceProcess("worker", WORKER, env, tmp_path).start()
    try:
        assert worker.process is not None
        code = worker.process.wait(60)
    finally:
        worker.kill()
    log = worker.log()
    assert code != 0
    assert "refusing to consume: database at revision 0001" in log and "run `cnai db upgrade`" in log
    assert " ready." not in log and "cnai.poll.dispatch[" not in log
    assert redis.Redis.from_url(private_redis.url).llen("dispatch") == 1, "the message stays queued"
