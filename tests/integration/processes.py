"""Real `celery` and `cnai` processes for tests: each in its own process group, output to a file, always killed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

REPO_ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
CELERY = [str(BIN / "celery"), "-A", "workers.app"]
CNAI = [str(BIN / "cnai")]

T = TypeVar("T")


def wait_until(condition: Callable[[], T], timeout: float, what: str, interval: float = 0.1) -> T:
    """Poll ``condition`` until it returns something truthy; fail naming ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(interval)


def service_env(**overrides: str) -> dict[str, str]:
    """The test's environment without any cnai setting inherited from the shell, plus ``overrides``."""
    inherited = {
        "SLACK_WEBHOOK_URL",
        "SMTP_URL",
        "ALERT_EMAIL_TO",
        "SENTRY_DSN",
        "DATABASE_URL",
        "REDIS_URL",
        "CELERY_BROKER_URL",
        "PROMETHEUS_MULTIPROC_DIR",
        "METRICS_PORT",
        "LOG_FORMAT",
    }
    env = {k: v for k, v in os.environ.items() if k.upper() not in inherited}
    env.update(overrides)
    return env


class ServiceProcess:
    """One long-running process (a worker, beat, `cnai run`) started in its own session."""

    def __init__(self, name: str, args: list[str], env: dict[str, str], log_dir: Path) -> None:
        self.name = name
        self.args = args
        self.env = env
        self.log_path = log_dir / f"{name}.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> ServiceProcess:
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                self.args, env=self.env, cwd=REPO_ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        return self

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace") if self.log_path.exists() else ""

    def wait_for_log(self, text: str, timeout: float) -> None:
        def seen() -> bool:
            if text in self.log():
                return True
            if not self.alive():
                raise AssertionError(
                    f"{self.name} exited ({self.process and self.process.returncode}):\n{self.log()[-3000:]}"
                )
            return False

        wait_until(seen, timeout, f"{text!r} in {self.name}'s log")

    def signal_group(self, sig: int) -> None:
        if self.process is not None:
            try:
                os.killpg(self.process.pid, sig)
            except ProcessLookupError:
                pass

    def kill(self) -> None:
        """SIGKILL the whole process group, as when a pod or a machine dies."""
        self.signal_group(signal.SIGKILL)
        if self.process is not None:
            self.process.wait(10)

    def stop(self, timeout: float = 20.0) -> int | None:
        """SIGTERM (warm shutdown), then SIGKILL what is left after ``timeout``."""
        if self.process is None:
            return None
        if self.alive():
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                pass
        self.signal_group(signal.SIGKILL)
        return self.process.wait(10)
