"""A local feed server for the scale benchmark and the soak, run as its own process (loopback only).

Serves ``/f/<n>.xml`` for n in 0..FEEDS-1: an RSS feed of ITEMS unique items (synthetic words, so
no two items of the whole corpus tell the same story), with an ETag and Last-Modified per feed
version, answering 304 to a matching conditional GET. ``POST /_bump?share=S&add=K`` gives a
random share S of the feeds K new items each (a new version) and answers with how many items it
added; ``GET /_stats`` answers JSON counts (requests, 200s, 304s, items published); ``GET /_counts``
the number of items each feed has published (item k of feed n links to http://news.invalid/n/k). The feeds
keep their newest WINDOW items, as a real feed does. Prints its port on the first line of stdout.

    python bench/support/scaleserver.py FEEDS ITEMS [RELEVANT_EVERY [WINDOW]]

WINDOW (default ITEMS) is how many of its newest items a feed serves; the soak serves them all.

With RELEVANT_EVERY = r > 0, every r-th item (over the whole corpus) gets a title on the monitored
beat (China and large language models), so the soak produces alerts.
"""

from __future__ import annotations

import json
import random
import sys
import threading
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit
from xml.sax.saxutils import escape

STARTED = datetime.now(timezone.utc).replace(microsecond=0)
_letters = "bcdfghjklmnpqrstvwz"
_vowels = "aeiou"


def _word(rng: random.Random) -> str:
    return "".join(rng.choice(_letters) + rng.choice(_vowels) for _ in range(rng.randint(2, 4)))


VOCAB = [_word(random.Random(i)) for i in range(5000)]
BEAT = [
    "China's cyberspace regulator issues rules for large language models",
    "Chinese AI lab releases an open-source large language model",
    "Beijing sets standards for generative AI services",
    "Chinese chipmaker ships accelerators for training large models",
]


class Corpus:
    def __init__(self, feeds: int, items: int, relevant_every: int, window: int | None = None) -> None:
        self.feeds, self.items, self.relevant_every = feeds, items, relevant_every
        self.window = window or items
        self.counts = [items] * feeds  # items ever published per feed; the newest ``items`` are served
        self.lock = threading.Lock()
        self.stats = {"requests": 0, "ok": 0, "not_modified": 0, "published": feeds * items}

    def item(self, feed: int, k: int) -> tuple[str, str, str, datetime]:
        serial = feed * 1_000_003 + k
        rng = random.Random(serial)
        words = " ".join(rng.choice(VOCAB) for _ in range(9))
        if self.relevant_every and serial % self.relevant_every == 0:
            title = f"{BEAT[serial % len(BEAT)]}: {words[:40]} ({serial})"
        else:
            title = f"{words.capitalize()} {serial}"
        summary = " ".join(rng.choice(VOCAB) for _ in range(30))
        offset = timedelta(minutes=k - self.items) if k < self.items else timedelta(seconds=k - self.items)
        return title, summary, f"http://news.invalid/{feed}/{k}", STARTED + offset

    def document(self, feed: int) -> tuple[bytes, str, str]:
        count = self.counts[feed]
        parts = [
            f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Feed {feed}</title>'
            f"<link>http://news.invalid/{feed}</link>"
        ]
        for k in range(count - 1, max(-1, count - 1 - self.window), -1):
            title, summary, link, when = self.item(feed, k)
            parts.append(
                f"<item><guid>{link}</guid><title>{escape(title)}</title><link>{link}</link>"
                f"<description>{escape(summary)}</description><pubDate>{format_datetime(when)}</pubDate></item>"
            )
        parts.append("</channel></rss>")
        last = self.item(feed, count - 1)[3]
        return "".join(parts).encode(), f'"{feed}-{count}"', format_datetime(last, usegmt=True)

    def bump(self, share: float, add: int, rng: random.Random) -> int:
        chosen = rng.sample(range(self.feeds), max(1, int(self.feeds * share))) if share > 0 else []
        with self.lock:
            for feed in chosen:
                self.counts[feed] += add
            self.stats["published"] += add * len(chosen)
        return add * len(chosen)


def main() -> None:
    feeds, items = int(sys.argv[1]), int(sys.argv[2])
    corpus = Corpus(
        feeds, items, int(sys.argv[3]) if len(sys.argv) > 3 else 0, int(sys.argv[4]) if len(sys.argv) > 4 else None
    )
    rng = random.Random(7)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:
            pass

        def _send(self, status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> None:
            self.send_response(status)
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if body:
                self.wfile.write(body)

        def do_GET(self) -> None:  # noqa: N802
            path = urlsplit(self.path).path
            if path == "/_counts":
                with corpus.lock:
                    self._send(200, json.dumps(corpus.counts).encode(), {"Content-Type": "application/json"})
                return
            if path == "/_stats":
                with corpus.lock:
                    self._send(200, json.dumps(corpus.stats).encode(), {"Content-Type": "application/json"})
                return
            if not (path.startswith("/f/") and path.endswith(".xml")):
                self._send(404)
                return
            try:
                feed = int(path[3:-4])
                assert 0 <= feed < corpus.feeds
            except (ValueError, AssertionError):
                self._send(404)
                return
            with corpus.lock:
                corpus.stats["requests"] += 1
                count = corpus.counts[feed]
            etag = f'"{feed}-{count}"'
            if self.headers.get("If-None-Match") == etag:
                with corpus.lock:
                    corpus.stats["not_modified"] += 1
                self._send(304, headers={"ETag": etag})
                return
            body, etag, modified = corpus.document(feed)
            with corpus.lock:
                corpus.stats["ok"] += 1
            self._send(200, body, {"Content-Type": "application/rss+xml", "ETag": etag, "Last-Modified": modified})

        def do_POST(self) -> None:  # noqa: N802
            parts = urlsplit(self.path)
            if parts.path != "/_bump":
                self._send(404)
                return
            query = parse_qs(parts.query)
            added = corpus.bump(float(query.get("share", ["0.05"])[0]), int(query.get("add", ["2"])[0]), rng)
            self._send(200, json.dumps({"added": added}).encode(), {"Content-Type": "application/json"})

    class Server(ThreadingHTTPServer):
        daemon_threads = True
        request_queue_size = 1024  # listen() backlog: a burst of new connections must not wait for SYN retries

        def handle_error(self, request: object, client_address: object) -> None:
            """A client killed mid-request (the soak kills workers) resets its connection: not worth a traceback."""
            if isinstance(sys.exc_info()[1], ConnectionError):
                return
            super().handle_error(request, client_address)  # type: ignore[arg-type]  # socketserver types it loosely

    server = Server(("127.0.0.1", 0), Handler)
    print(server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
