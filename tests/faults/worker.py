"""A real Celery worker subprocess (``celery -A workers.app worker``) that a test may kill."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]


class CeleryWorker:
    """One prefork worker with one pool process, consuming every queue; its log goes to ``log``."""

    def __init__(self, env: dict[str, str], log: Path, name: str = "w1") -> None:
        self.env = {**os.environ, **env}
        self.log = log
        self.name = name
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 60) -> None:
        offset = self.log.stat().st_size if self.log.exists() else 0
        with open(self.log, "ab") as out:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "celery",
                    "-A",
                    "workers.app",
                    "worker",
                    "-Q",
                    "dispatch,poll,classify,deliver",
                    "-c",
                    "1",
                    "--pool",
                    "prefork",
                    "-l",
                    "INFO",
                    "-n",
                    f"{self.name}-{os.getpid()}@%h",
                    "--without-mingle",
                    "--without-gossip",
                ],
                cwd=REPO_ROOT,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the worker exited with {self.process.returncode}:\n{self.output()[-3000:]}")
            if " ready." in self.output()[offset:]:
                return
            time.sleep(0.2)
        raise TimeoutError(f"the worker did not start within {timeout}s:\n{self.output()[-3000:]}")

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def pool_pids(self) -> list[int]:
        assert self.process is not None
        found = subprocess.run(["pgrep", "-P", str(self.process.pid)], capture_output=True, text=True)
        return [int(p) for p in found.stdout.split()]

    def kill_pool_processes(self) -> list[int]:
        """SIGKILL the pool processes (the task dies mid-way); the main process stays and forks new ones."""
        pids = self.pool_pids()
        for pid in pids:
            os.kill(pid, signal.SIGKILL)
        for pid in pids:
            while Path(f"/proc/{pid}").exists() and Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z":
                time.sleep(0.05)
        with open(self.log, "a") as out:
            out.write(f"[test] SIGKILL sent to pool process(es) {pids}\n")
        return pids

    def kill(self) -> None:
        """SIGKILL the whole worker at once, as a lost node would: no ack, no requeue on the way out."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)

    def stop(self) -> None:
        """Warm shutdown (SIGTERM), then SIGKILL if it lingers."""
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(15)
        except subprocess.TimeoutExpired:
            self.kill()
