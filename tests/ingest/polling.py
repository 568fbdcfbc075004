"""Helpers for ingestion tests: settings for the local feed server, adding and polling feeds, reading them back."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest

from db.models import Feed
from services.database import unit_of_work
from services.feeds.registry import FeedSpec, add_feed
from services.poll import FeedPollReport, poll_one_in_own_transaction
from services.settings import Settings
from tests.conftest import SHARED
from tests.support.threads import join_all

ZH = SHARED / "feeds" / "zh"
EN = SHARED / "feeds" / "en"
BENCH = SHARED / "feeds" / "bench"

FAST = {
    "FETCH_ALLOWED_NETWORKS": "127.0.0.0/8",
    "FETCH_TIMEOUT_SECONDS": "1",
    "FETCH_DEADLINE_SECONDS": "2",
    "FETCH_PER_HOST_GAP_SECONDS": "0",
    "FETCH_MAX_BYTES": "1000000",
}


def fetch_settings(**overrides: str) -> Settings:
    """Settings for fetches against the local test server (no database needed)."""
    return Settings(**{**FAST, **overrides})  # type: ignore[arg-type]


def shared_file(path: Path) -> bytes:
    if not path.exists():
        pytest.fail(f"shared feed sample {path} is missing (set CNAI_SHARED_DIR)")
    return path.read_bytes()


def add(url: str, **details: str) -> int:
    with unit_of_work() as session:
        feed, _ = add_feed(session, FeedSpec(url=url, **details))
        return feed.id


def poll(feed_id: int, settings: Settings) -> FeedPollReport:
    report = poll_one_in_own_transaction(feed_id, settings, datetime.now(timezone.utc), due_only=False)
    assert report is not None, "the feed could not be claimed"
    return report


def feed(feed_id: int) -> Feed:
    with unit_of_work() as session:
        row = session.get(Feed, feed_id)
        assert row is not None
        return row


class SilentServer:
    """Accepts TCP connections on 127.0.0.1 and never answers (until stopped)."""

    def __init__(self) -> None:
        import socket
        import threading

        self._sock = socket.create_server(("127.0.0.1", 0))
        self._stop = threading.Event()
        self._held: list[object] = []
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        self._sock.settimeout(0.1)
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except OSError:
                continue
            self._held.append(conn)

    def url(self, path: str = "/feed.xml") -> str:
        return f"http://127.0.0.1:{self._sock.getsockname()[1]}{path}"

    def stop(self) -> None:
        self._stop.set()
        join_all([self._thread], 10)
        for conn in self._held:
            conn.close()  # type: ignore[attr-defined]
        self._sock.close()
