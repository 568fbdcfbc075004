"""The README's first command: `make run` works offline and a second run finds nothing new."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.support.services import require_binary

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_make_run_twice(tmp_path: Path) -> None:
    make = require_binary("make", "apt-get install make")
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "SMTP_", "SENTRY_", "ALERT_"))},
        "DATABASE_URL": f"sqlite:///{tmp_path / 'run.db'}",
    }
    first = subprocess.run([make, "-s", "run"], cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert first.returncode == 0, first.stdout + first.stderr
    assert "[ALERT]" in first.stdout
    assert "relevant" in first.stdout
    second = subprocess.run([make, "-s", "run"], cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert second.returncode == 0, second.stdout + second.stderr
    assert "nothing new since the last poll" in second.stdout
    assert "[ALERT]" not in second.stdout
