"""A threaded local HTTP server for the ingestion benchmark, run as its own process.

Serves every feed of ``feedcorpus.corpus(copies)`` with an ETag and a Last-Modified date and
answers 304 Not Modified to a matching conditional GET; ``/huge`` streams 50 MB (no
Content-Length) and ``/huge-declared`` declares it, for the size-limit check. Prints its port
on the first line of stdout, then serves until killed.

    python bench/support/feedserver.py COPIES [unique]
"""

from __future__ import annotations

import hashlib
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bench.support.feedcorpus import corpus  # noqa: E402

LAST_MODIFIED = "Sun, 22 Nov 2026 08:00:00 GMT"
HUGE_BYTES = 50 * 1024 * 1024


def main() -> None:
    copies = int(sys.argv[1])
    unique = len(sys.argv) > 2 and sys.argv[2] == "unique"
    feeds = {path: (body, '"' + hashlib.sha1(body).hexdigest()[:16] + '"') for path, body in corpus(copies, unique)}

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:  # noqa: N802
            if self.path.startswith("/huge"):
                self._huge(declared=self.path == "/huge-declared")
                return
            found = feeds.get(self.path)
            if found is None:
                self.send_error(404)
                return
            body, etag = found
            if self.headers.get("If-None-Match") == etag or self.headers.get("If-Modified-Since") == LAST_MODIFIED:
                self.send_response(304)
                self.send_header("ETag", etag)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Content-Type", "application/xml")
            self.send_header("ETag", etag)
            self.send_header("Last-Modified", LAST_MODIFIED)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _huge(self, declared: bool) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/rss+xml")
            if declared:
                self.send_header("Content-Length", str(HUGE_BYTES))
            self.send_header("Connection", "close")
            self.end_headers()
            chunk = b"<item><title>filler</title></item>" * 2000
            sent = 0
            try:
                self.wfile.write(b'<?xml version="1.0"?><rss version="2.0"><channel><title>huge</title>')
                while sent < HUGE_BYTES:
                    self.wfile.write(chunk)
                    sent += len(chunk)
            except (BrokenPipeError, ConnectionResetError):
                pass
            self.close_connection = True

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    print(server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
