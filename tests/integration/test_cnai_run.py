"""`cnai run`: beat and a worker for real on this machine; Ctrl-C stops them cleanly."""

from __future__ import annotations

import signal
import subprocess
from pathlib import Path

import pytest

from tests.integration.processes import CNAI, ServiceProcess, service_env
from tests.support.services import PrivateRedis, free_port

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.redis, pytest.mark.timeout(120)]


def test_run_polls_and_stops_cleanly_on_ctrl_c(tmp_path: Path, pg_url: str, private_redis: PrivateRedis) -> None:
    env = service_env(
        DATABASE_URL=pg_url,
        REDIS_URL=private_redis.url,
        DISPATCH_INTERVAL_SECONDS="1",
        DELIVERY_SWEEP_INTERVAL_SECONDS="1",
        WORKER_HEARTBEAT_FILE=str(tmp_path / "worker.heartbeat"),
        BEAT_HEARTBEAT_FILE=str(tmp_path / "beat.heartbeat"),
        METRICS_PORT="0",
    )
    run = ServiceProcess("cnai-run", [*CNAI, "run", "--concurrency", "1"], env, tmp_path)
    try:
        run.start()
        run.wait_for_log("beat: Acquired lock", 60)
        run.wait_for_log("cnai.poll.dispatch", 30)
        run.wait_for_log("succeeded in", 30)
        assert (tmp_path / "worker.heartbeat").exists() and (tmp_path / "beat.heartbeat").exists()

        run.signal_group(signal.SIGINT)  # what Ctrl-C in a terminal does: the whole foreground group
        code = run.process.wait(30)  # type: ignore[union-attr]
        group = subprocess.run(["ps", "-o", "pid=,stat=", "-g", str(run.pid)], capture_output=True, text=True).stdout
        alive = [line for line in group.splitlines() if not line.split()[1].startswith("Z")]
    finally:
        run.stop(timeout=5)
    output = run.log()
    assert code == 0, output[-3000:]
    assert "Traceback" not in output, output[-3000:]
    assert "beat: Releasing lock" in output
    assert alive == [], f"processes of `cnai run` outlived it: {alive}"


def test_run_without_a_broker_says_so_and_exits_2(tmp_path: Path) -> None:
    env = service_env(REDIS_URL=f"redis://127.0.0.1:{free_port()}/0", DATABASE_URL=f"sqlite:///{tmp_path / 'x.db'}")
    result = subprocess.run([*CNAI, "run"], env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "broker" in result.stderr and "REDIS_URL" in result.stderr and "Traceback" not in result.stderr
