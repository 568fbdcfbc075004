"""PostgreSQL restarted, or down for a few seconds, in the middle of a poll cycle (a cluster of the test's own)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from datetime import datetime, timezone

import pytest
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from db.models import Feed
from services.cycle import run_cycle
from services.database import unit_of_work
from services.migrations import upgrade_database
from services.settings import get_settings
from tests.faults.conftest import assert_stored_once, feed_body, register, serve_feed, wait_until
from tests.support.http import LocalHTTPServer, Request, Response
from tests.support.pgcluster import PGCluster, pg_cluster
from tests.support.threads import join_all

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


def leases_expired(database_url: str) -> bool:
    now = datetime.now(timezone.utc)
    with unit_of_work(database_url) as session:
        leases = session.execute(select(Feed.lease_until)).scalars().all()
    return all(
        until is None or (until if until.tzinfo else until.replace(tzinfo=timezone.utc)) < now for until in leases
    )


def breaking(name: str, action: Callable[[], object]) -> Callable[[Request], Response]:
    """A feed route that runs ``action`` (break the database) on its first request, then serves the feed."""
    calls = []

    def handle(request: Request) -> Response:
        calls.append(request)
        if len(calls) == 1:
            action()
        return Response(200, feed_body(name), {"Content-Type": "application/rss+xml"})

    return handle


def test_postgres_restarted_during_a_poll(database_url: str, cluster: PGCluster, http_server: LocalHTTPServer) -> None:
    """Every connection in the pool is cut while the feed is being fetched (no transaction is open then);
    pre-ping replaces the dead connections, so the poll is written as if nothing had happened."""
    feed_ids = register(database_url, [serve_feed(http_server, "hotel", breaking("hotel", cluster.restart))])

    first = run_cycle(get_settings(), include_not_due=True)
    second = run_cycle(get_settings(), include_not_due=True)

    assert [r.status for r in first.feeds] == ["ok"], first.feeds
    assert second.new_articles == 0
    assert_stored_once(database_url, feed_ids)
    with unit_of_work(database_url) as session:
        feed = session.execute(select(Feed)).scalar_one()
        assert feed.last_error is None and feed.consecutive_failures == 0 and feed.lease_until is None


def test_postgres_down_for_seconds_during_a_poll(
    database_url: str, cluster: PGCluster, http_server: LocalHTTPServer
) -> None:
    """The server stops while a feed is being fetched and is back three seconds later, so that feed's write
    meets the outage. The cycle either records the failure or stops with the database error (a Celery task
    would fail, and its feed be dispatched again); nothing is written half, and once the database is back and
    the lease (POLL_LEASE_SECONDS) has expired, the next cycle stores everything, once."""
    restarted = threading.Event()
    timers: list[threading.Timer] = []

    def outage() -> None:
        cluster.stop("immediate")
        timers.append(threading.Timer(3.0, lambda: (cluster.start(), restarted.set())))
        timers[-1].start()

    urls = [serve_feed(http_server, "kilo", breaking("kilo", outage)), serve_feed(http_server, "lima")]
    feed_ids = register(database_url, urls)

    try:
        run_cycle(get_settings(), include_not_due=True)
    except OperationalError:
        pass
    assert restarted.wait(30), "the cluster did not come back"
    join_all(timers, 30)
    wait_until(lambda: leases_expired(database_url), 30, "every feed's poll lease (POLL_LEASE_SECONDS) to expire")
    second = run_cycle(get_settings(), include_not_due=True)
    assert all(r.status in {"ok", "not_modified"} for r in second.feeds), second.feeds
    run_cycle(get_settings(), include_not_due=True)

    assert_stored_once(database_url, feed_ids)
