"""Shared pieces of the fault tests: distinct small feeds, and reading back what was stored."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import func, select

from db.models import Article, FeedEntry
from services.database import unit_of_work
from services.feeds.registry import FeedSpec, add_feed
from tests.support.http import LocalHTTPServer, Response

PLACES = ["harbour", "orchard", "quarry", "glacier", "canal", "meadow", "lantern", "archive"]


def feed_body(name: str, items: int = 3) -> bytes:
    """An RSS feed whose items share nothing with another feed's (so each item is its own article and story)."""
    entries = "".join(
        f"<item><title>{name} {PLACES[i % len(PLACES)]} bulletin number {i} of the {name} desk</title>"
        f"<link>https://{name}.example/{i}</link><guid>{name}-{i}</guid>"
        f"<description>{name} reports on the {PLACES[i % len(PLACES)]} (item {i}).</description></item>"
        for i in range(items)
    )
    return (
        f'<?xml version="1.0"?><rss version="2.0"><channel><title>{name}</title>'
        f"<link>https://{name}.example/</link>{entries}</channel></rss>"
    ).encode()


def serve_feed(server: LocalHTTPServer, name: str, handler: Callable | None = None) -> str:
    path = f"/{name}.xml"
    server.routes[path] = handler or Response(200, feed_body(name), {"Content-Type": "application/rss+xml"})
    return server.url(path)


def register(database_url: str, urls: list[str]) -> list[int]:
    with unit_of_work(database_url) as session:
        return [add_feed(session, FeedSpec(url=url))[0].id for url in urls]


def entries_of(database_url: str, feed_id: int) -> int:
    with unit_of_work(database_url) as session:
        return session.execute(
            select(func.count()).select_from(FeedEntry).where(FeedEntry.feed_id == feed_id)
        ).scalar_one()


def assert_stored_once(database_url: str, feed_ids: list[int], per_feed: int = 3) -> None:
    """Every feed's items stored, each exactly once (one entry per item, one article per entry)."""
    with unit_of_work(database_url) as session:
        for feed_id in feed_ids:
            keys = session.execute(select(FeedEntry.entry_key).where(FeedEntry.feed_id == feed_id)).scalars().all()
            assert len(keys) == per_feed == len(set(keys)), (
                f"feed {feed_id}: {len(keys)} entries stored, expected {per_feed}"
            )
        articles = session.execute(select(func.count()).select_from(Article)).scalar_one()
        distinct_urls = session.execute(select(func.count(func.distinct(Article.canonical_url)))).scalar_one()
        assert articles == distinct_urls == per_feed * len(feed_ids), (
            f"{articles} articles for {per_feed * len(feed_ids)} items"
        )


def wait_until(predicate: Callable[[], bool], timeout: float, what: str, log: Callable[[], str] | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.25)
    detail = f"\n--- log tail ---\n{log()[-4000:]}" if log else ""
    raise AssertionError(f"timed out after {timeout}s waiting for {what}{detail}")


@pytest.fixture
def fault_env(env: pytest.MonkeyPatch, tmp_path: Path) -> pytest.MonkeyPatch:
    env.setenv("FETCH_ALLOWED_NETWORKS", "127.0.0.0/8")
    env.setenv("FETCH_PER_HOST_GAP_SECONDS", "0")
    env.setenv("FETCH_TIMEOUT_SECONDS", "5")
    env.setenv("METRICS_PORT", "0")
    env.setenv("WORKER_HEARTBEAT_FILE", str(tmp_path / "worker.heartbeat"))
    env.setenv("BEAT_HEARTBEAT_FILE", str(tmp_path / "beat.heartbeat"))
    for name in ("CELERY_BROKER_URL", "REDIS_URL"):
        env.delenv(name, raising=False)
    return env
