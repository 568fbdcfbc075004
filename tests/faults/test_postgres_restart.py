"""PostgreSQL restarted, or down for a few seconds, in the middle of a poll cycle (a cluster of the test's own)."""
from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from db.models import Feed
from services.database import unit_of_work
from services.migrations import upgrade_database
from services.poll import run_cycle
from services.settings import get_settings
from tests.faults.conftest import assert_stored_once, feed_body, register, serve_feed
from tests.support.http import LocalHTTPServer, Request, Response
from tests.support.pgcluster import PGCluster, pg_cluster

pytestmark = [pytest.mark.slow]


@pytest.fixture
def cluster() -> Iterator[PGCluster]:
    with pg_cluster() as server:
        yield server


@pytest.fixture
def database_url(cluster: PGCluster, fault_env: pytest.MonkeyPatch) -> str:
    url = cluster.create_database("cnai")
    upgrade_database(url)
    fault_env.setenv("DATABASE_URL", url)
    fault_env.setenv("POLL_LEASE_SECONDS", "2")
    return url


def breaking(name: str, action: "callable") -> "callable":  # type: ignore[valid-type]
    """A feed route that runs ``action`` (break the database) on its first request, then serves the feed."""
    calls = []

    def handle(request: Request) -> Response:
        calls.append(request)
        if len(calls) == 1:
            action()
        return Response(200, feed_body(name), {"Content-Type": "application/rss+xml"})

    return handle


def test_postgres_restarted_during_a_poll(database_url: str, cluster: PGCluster, http_server: LocalHTTPServer) -> None:
    """Every pooled connection is cut while feeds are being fetched; pre-ping and the per-feed transactions
    mean the cycle still writes every feed, or fails the one it was writing cleanly for the next cycle."""
    names = ["golf", "hotel", "india", "juliet"]
    urls = [serve_feed(http_server, n) for n in names[:1]]
    urls.append(serve_feed(http_server, names[1], breaking(names[1], cluster.restart)))
    urls += [serve_feed(http_server, n) for n in names[2:]]
    feed_ids = register(database_url, urls)

    first = run_cycle(get_settings(), include_not_due=True)
    assert first.feeds_polled == 4
    for report in first.feeds:
        assert report.status in {"ok", "error"}, report
    time.sleep(2.5)  # a lease left by a crashed write expires (POLL_LEASE_SECONDS=2)
    run_cycle(get_settings(), include_not_due=True)

    assert_stored_once(database_url, feed_ids)
    with unit_of_work(database_url) as session:
        for feed in session.execute(select(Feed)).scalars():
            assert feed.last_error is None and feed.consecutive_failures == 0, (feed.url, feed.last_error)


def test_postgres_down_for_seconds_during_a_poll(database_url: str, cluster: PGCluster, http_server: LocalHTTPServer) -> None:
    """The server stops while a feed is being fetched and is back three seconds later. The cycle either records
    the failure or stops with the database error (a Celery task would fail and its feed be dispatched again);
    nothing is written half, and once the database is back and the lease has expired everything is stored once."""
    restarted = threading.Event()

    def outage() -> None:
        cluster.stop("immediate")
        threading.Timer(3.0, lambda: (cluster.start(), restarted.set())).start()

    urls = [serve_feed(http_server, "kilo", breaking("kilo", outage)), serve_feed(http_server, "lima")]
    feed_ids = register(database_url, urls)

    try:
        run_cycle(get_settings(), include_not_due=True)
    except OperationalError:
        pass
    assert restarted.wait(30), "the cluster did not come back"
    time.sleep(2.5)
    second = run_cycle(get_settings(), include_not_due=True)
    assert all(r.status in {"ok", "not_modified"} for r in second.feeds), second.feeds
    run_cycle(get_settings(), include_not_due=True)

    assert_stored_once(database_url, feed_ids)
