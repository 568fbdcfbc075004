"""Raw TCP servers that misbehave below HTTP: accept and say nothing, or dribble bytes forever.

Every connection gives up on its own after ``give_up_s`` so a client without a deadline makes
the test fail on its duration instead of hanging the suite.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator

from tests.support.threads import join_all

Script = Callable[[socket.socket, threading.Event], None]


class RawTCPServer:
    """Listens on 127.0.0.1 (or ``host``, e.g. ``::1``); runs ``script(conn, stop)`` for each connection."""

    def __init__(self, script: Script, host: str = "127.0.0.1") -> None:
        self.script = script
        self.host = host
        self.stop_event = threading.Event()
        self.connections = 0
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self._sock = socket.create_server((host, 0), family=family)
        self._sock.settimeout(0.2)
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    @property
    def port(self) -> int:
        return int(self._sock.getsockname()[1])

    def url(self, path: str = "/feed.xml") -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}{path}"

    def _accept(self) -> None:
        while not self.stop_event.is_set():
            try:
                conn, _ = self._sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._run, args=(conn,), daemon=True).start()

    def _run(self, conn: socket.socket) -> None:
        with conn:
            try:
                self.script(conn, self.stop_event)
            except OSError:
                pass

    def stop(self) -> None:
        self.stop_event.set()
        self._sock.close()
        join_all([self._thread], 10)


def say_nothing(give_up_s: float = 15.0) -> Script:
    """Accept the connection, read the request, never answer."""

    def script(conn: socket.socket, stop: threading.Event) -> None:
        conn.settimeout(0.5)
        try:
            conn.recv(65536)
        except TimeoutError:
            pass
        stop.wait(give_up_s)

    return script


def dribble(head: bytes, drip: Iterator[bytes], every_s: float, give_up_s: float = 15.0) -> Script:
    """Send ``head`` at once, then one piece of ``drip`` every ``every_s`` seconds; then hold the line open."""

    def script(conn: socket.socket, stop: threading.Event) -> None:
        conn.recv(65536)
        conn.sendall(head)
        started = time.monotonic()
        for piece in drip:
            if stop.wait(every_s) or time.monotonic() - started > give_up_s:
                return
            conn.sendall(piece)
        stop.wait(max(0.0, give_up_s - (time.monotonic() - started)))

    return script
