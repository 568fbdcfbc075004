"""Reachability of the real local PostgreSQL and Redis, and private instances for tests that break them."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import NoReturn
from urllib.parse import urlsplit

import pytest

TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
TEST_REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


# Under CI (any truthy value of CI: 1, true, yes, on...) a missing service, binary or shared file is a failure,
# never a skip: this is the one place that decides it.
def ci_enabled(value: str | None) -> bool:
    """Whether a value of the CI variable means "running in CI": anything but empty, 0, false, no, off."""
    return (value or "").strip().lower() not in {"", "0", "false", "no", "off", "n", "f"}


IN_CI = ci_enabled(os.environ.get("CI"))


def unavailable(message: str) -> NoReturn:
    """Something a test needs is missing: fail under CI, skip loudly elsewhere."""
    if ci_enabled(os.environ.get("CI")):
        pytest.fail(message + " -- CI is set, so this is a failure, not a skip")
    pytest.skip("SKIPPED LOUDLY: " + message)


def require_binary(name: str, hint: str = "") -> str:
    """The path of an executable on PATH; missing, it fails under CI and skips elsewhere."""
    found = shutil.which(name)
    if found is None:
        unavailable(f"{name} is not installed" + (f": {hint}" if hint else ""))
    return found


def require_file(path: Path, hint: str = "set CNAI_SHARED_DIR to the shared/ folder") -> Path:
    """``path`` if it exists (a shared data file or folder); missing, it fails under CI and skips elsewhere."""
    if not path.exists():
        unavailable(f"{path} is missing ({hint})")
    return path


def reachable(url: str, default_port: int) -> bool:
    parts = urlsplit(url.replace("+psycopg", ""))
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or default_port), timeout=2):
            return True
    except OSError:
        return False


def require(service: str, url: str, default_port: int) -> None:
    """Skip loudly when a real service is down; under CI=true a missing service is a failure."""
    if reachable(url, default_port):
        return
    unavailable(f"{service} is not reachable at {url}: start it (see README, 'Running the tests')")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(port: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {timeout}s")


class PrivateRedis:
    """A redis-server of the test's own, on a free port, that the test may stop and restart."""

    def __init__(self) -> None:
        self.binary = require_binary("redis-server", "apt-get install redis-server")
        self.port = free_port()
        self.dir = tempfile.mkdtemp(prefix="cnai-redis-")
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                self.binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "yes",
                "--dir",
                self.dir,
                "--logfile",
                str(Path(self.dir) / "redis.log"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for_port(self.port)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)
        self.process = None

    def restart(self) -> None:
        self.stop()
        self.start()


@contextmanager
def private_redis() -> Iterator[PrivateRedis]:
    server = PrivateRedis()
    server.start()
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(server.dir, ignore_errors=True)
