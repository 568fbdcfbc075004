"""The chaos soak, 60 seconds of it: kills, a Redis restart and a PostgreSQL restart; nothing lost, doubled or stuck.

`make soak` runs the same script for SOAK_SECONDS (600) with more feeds.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.pgcluster import PG_BIN
from tests.support.services import unavailable

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.redis, pytest.mark.timeout(420)]

ROOT = Path(__file__).resolve().parents[2]


def test_a_minute_of_chaos_loses_doubles_and_strands_nothing() -> None:
    if not (PG_BIN / "initdb").exists():
        message = f"PostgreSQL server binaries not found in {PG_BIN} (set PG_BIN)"
        unavailable(message)
    env = {**os.environ, "SOAK_SECONDS": "60", "SOAK_SETTLE_SECONDS": "60", "SOAK_FEEDS": "12", "PYTHONPATH": str(ROOT)}
    run = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "soak.py")],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=400,
    )
    lines = [line for line in run.stdout.splitlines() if line.startswith('{"bench": "soak"')]
    assert lines, f"no result line (exit {run.returncode}):\n{run.stdout[-2000:]}\n{run.stderr[-3000:]}"
    result = json.loads(lines[-1])
    assert result["redis_restarts"] == 1 and result["postgres_restarts"] == 1
    assert result["kills"] >= 10
    assert result["published"] > 0 and result["slack_messages"] > 0 and result["emails"] > 0, "alerts flowed"
    assert (result["lost"], result["duplicated"], result["stuck"]) == (0, 0, 0), result
    assert run.returncode == 0
