"""A throw-away PostgreSQL cluster of a test's own, made with the server's ``initdb``/``pg_ctl``.

Fault tests stop, restart and kill it; the shared server on :5432 is never touched. Trust auth,
a free port on 127.0.0.1, the Unix socket in the cluster's own temporary directory, fsync off
(nothing here must survive a power cut). Commits stay synchronous: a killed or immediately stopped
server must keep every committed transaction, as a real one does. ``initdb`` refuses to run as root, so as root the
cluster belongs to the ``postgres`` user and every server command runs through ``runuser``.
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.support.services import free_port, unavailable, wait_for_port

PG_BIN = Path(os.environ.get("PG_BIN", "/usr/lib/postgresql/15/bin"))


class PGCluster:
    """One PostgreSQL server under a temporary directory; ``url(name)`` for each database in it."""

    def __init__(self) -> None:
        if not (PG_BIN / "initdb").exists():
            unavailable(f"PostgreSQL server binaries not found in {PG_BIN} (set PG_BIN)")
        self.run_as: str | None = None
        if os.geteuid() == 0:
            try:
                pwd.getpwnam("postgres")
            except KeyError:
                unavailable("running as root and there is no 'postgres' user for initdb")
            self.run_as = "postgres"
        self.root = Path(tempfile.mkdtemp(prefix="cnai-pg-"))
        self.data = self.root / "data"
        self.log = self.root / "server.log"
        self.port = free_port()
        if self.run_as:
            user = pwd.getpwnam(self.run_as)
            os.chown(self.root, user.pw_uid, user.pw_gid)
        self._command(
            [
                str(PG_BIN / "initdb"),
                "-D",
                str(self.data),
                "-U",
                "postgres",
                "--auth=trust",
                "--no-sync",
                "-E",
                "UTF8",
                "--locale=C.UTF-8",
            ]
        )
        with open(self.data / "postgresql.conf", "a") as conf:
            conf.write(
                f"\nport = {self.port}\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '{self.root}'\n"
                "fsync = off\nfull_page_writes = off\nmax_connections = 50\n"
            )

    def _command(self, argv: list[str], check: bool = True, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        if self.run_as:
            argv = ["runuser", "-u", self.run_as, "--", *argv]
        return subprocess.run(argv, capture_output=True, text=True, check=check, timeout=timeout)

    def _pg_ctl(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return self._command([str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-l", str(self.log), *args], check=check)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def start(self) -> None:
        self._pg_ctl("-w", "-t", "30", "start")
        wait_for_port(self.port)

    def stop(self, mode: str = "fast") -> None:
        self._pg_ctl("-w", "-t", "30", "-m", mode, "stop", check=False)

    def restart(self) -> None:
        """Fast restart: every open connection is cut, the server is back when this returns."""
        self._pg_ctl("-w", "-t", "30", "-m", "fast", "restart")
        wait_for_port(self.port)

    def kill(self) -> None:
        """SIGKILL the postmaster, as a crashed node would; ``start`` recovers from the WAL."""
        pid_file = self.data / "postmaster.pid"
        if pid_file.exists():
            pid = int(pid_file.read_text().split()[0])
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                try:
                    os.kill(pid, 0)
                except ProcessLookupError:
                    break
                time.sleep(0.05)

    def create_database(self, name: str) -> str:
        from sqlalchemy import create_engine, text

        admin = create_engine(self.url(), isolation_level="AUTOCOMMIT")
        try:
            with admin.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
        finally:
            admin.dispose()
        return self.url(name)

    def destroy(self) -> None:
        self.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)


@contextmanager
def pg_cluster() -> Iterator[PGCluster]:
    cluster = PGCluster()
    cluster.start()
    try:
        yield cluster
    finally:
        cluster.destroy()
