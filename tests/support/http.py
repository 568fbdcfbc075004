"""A real local HTTP server with programmable routes, for feeds, Slack and Sentry stand-ins."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from tests.support.threads import join_all


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    received_at: float = field(default_factory=time.time)

    def json(self) -> object:
        return json.loads(self.body)


@dataclass
class Response:
    status: int = 200
    body: bytes | Iterator[bytes] = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0


Handler = Callable[[Request], Response]


class LocalHTTPServer:
    """Serves ``routes`` (path -> Response or handler) on 127.0.0.1 and records every request."""

    def __init__(self) -> None:
        self.routes: dict[str, Response | Handler] = {}
        self.requests: list[Request] = []
        self._lock = threading.Lock()
        server = self

        class _Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                request = Request(self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, body)
                with server._lock:
                    server.requests.append(request)
                route = server.routes.get(self.path.split("?")[0]) or server.routes.get(self.path)
                if route is None:
                    response = Response(404, b"not found")
                elif callable(route):
                    response = route(request)
                else:
                    response = route
                if response.delay_s:
                    time.sleep(response.delay_s)
                try:
                    self.send_response(response.status)
                    for name, value in response.headers.items():
                        self.send_header(name, value)
                    if isinstance(response.body, bytes):
                        self.send_header("Content-Length", str(len(response.body)))
                        self.end_headers()
                        if self.command != "HEAD":
                            self.wfile.write(response.body)
                    else:
                        self.send_header("Connection", "close")
                        self.end_headers()
                        for chunk in response.body:
                            self.wfile.write(chunk)
                            self.wfile.flush()
                        self.close_connection = True
                except (BrokenPipeError, ConnectionResetError):
                    self.close_connection = True

            do_GET = do_POST = do_HEAD = do_PUT = _serve

        class _Server(ThreadingHTTPServer):
            request_queue_size = 128  # concurrent fetches must not hit connect timeouts

        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def url(self, path: str = "/") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def serve_file(self, path: str, file: Path, content_type: str = "application/xml") -> str:
        self.routes[path] = Response(200, file.read_bytes(), {"Content-Type": content_type})
        return self.url(path)

    def requests_to(self, path: str) -> list[Request]:
        with self._lock:
            return [r for r in self.requests if r.path.split("?")[0] == path]

    def start(self) -> LocalHTTPServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        if self._thread.ident is not None:
            join_all([self._thread], 10)


class SlackStandIn:
    """A Slack incoming-webhook stand-in: records JSON posts; answers from a script of statuses, then 200 "ok"."""

    def __init__(self, server: LocalHTTPServer, path: str = "/slack/webhook") -> None:
        self.server = server
        self.path = path
        self.script: list[Response] = []
        server.routes[path] = self._handle
        self.accepted: list[dict] = []

    @property
    def url(self) -> str:
        return self.server.url(self.path)

    def _handle(self, request: Request) -> Response:
        if self.script:
            return self.script.pop(0)
        self.accepted.append(request.json())  # type: ignore[arg-type]
        return Response(200, b"ok", {"Content-Type": "text/plain"})
