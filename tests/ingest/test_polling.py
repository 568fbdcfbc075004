"""The dispatcher's side: leases that keep two workers off one feed, parallel cycles, adaptive schedules."""

from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from db.models import Article, Feed, FetchLog
from services.cycle import run_cycle
from services.database import unit_of_work
from services.ingest.leases import LEASE, claim_feed, claim_feeds, due_feed_ids
from services.ingest.schedule import backoff_delay, publishing_rate
from services.poll import fetch_and_parse, record_poll
from tests.ingest.polling import add, feed, poll
from tests.support.http import LocalHTTPServer, Request, Response
from tests.support.threads import CheckedThread, join_all

RSS = b"""<?xml version="1.0"?><rss version="2.0"><channel><title>Lease test</title>
<item><guid>l-1</guid><title>Huawei shows a new Ascend chip</title><link>https://lease.example/1</link></item>
</channel></rss>"""


@pytest.mark.postgres
@pytest.mark.parametrize("backend_url", ["postgres"], indirect=True)
def test_of_many_workers_claiming_one_feed_at_once_exactly_one_wins(polling) -> None:  # type: ignore[no-untyped-def]
    feed_id = add("https://lease.example/feed.xml")
    now = datetime.now(timezone.utc)
    barrier = threading.Barrier(8)
    wins: list[bool] = []

    def worker() -> None:
        with unit_of_work() as session:
            barrier.wait()
            wins.append(claim_feed(session, feed_id, now))

    threads = [CheckedThread(worker) for _ in range(8)]
    for t in threads:
        t.start()
    join_all(threads, 60)
    assert sorted(wins) == [False] * 7 + [True]
    with unit_of_work() as session:
        assert not claim_feed(session, feed_id, now + LEASE - timedelta(seconds=1)), "the lease still holds"
        assert claim_feed(session, feed_id, now + LEASE + timedelta(seconds=1)), "an expired lease can be taken over"


def test_a_poll_that_lost_its_lease_writes_nothing(polling, http_server: LocalHTTPServer) -> None:  # type: ignore[no-untyped-def]
    http_server.routes["/feed.xml"] = Response(200, RSS)
    feed_id = add(http_server.url("/feed.xml"))
    start = datetime.now(timezone.utc)
    with unit_of_work() as session:
        (mine,) = claim_feeds(session, [feed_id], start)
    outcome = fetch_and_parse(mine, polling)
    with unit_of_work() as session:  # the lease expired and another worker claimed the feed meanwhile
        later = start + LEASE + timedelta(seconds=5)
        assert claim_feeds(session, [feed_id], later)
    with unit_of_work() as session:
        report = record_poll(session, mine, outcome, polling)
    assert report.status == "skipped"
    with unit_of_work() as session:
        assert session.execute(select(func.count()).select_from(Article)).scalar_one() == 0
        assert session.execute(select(func.count()).select_from(FetchLog)).scalar_one() == 0


def test_only_due_unleased_feeds_are_dispatched_and_a_duplicate_task_does_nothing(
    polling, http_server: LocalHTTPServer
) -> None:  # type: ignore[no-untyped-def]
    from services.poll import poll_one_in_own_transaction

    http_server.routes["/feed.xml"] = Response(200, RSS)
    feed_id = add(http_server.url("/feed.xml"))
    now = datetime.now(timezone.utc)
    with unit_of_work() as session:
        assert due_feed_ids(session, now) == [feed_id]
    assert poll_one_in_own_transaction(feed_id, polling, now) is not None
    with unit_of_work() as session:
        assert due_feed_ids(session, datetime.now(timezone.utc)) == []
    assert poll_one_in_own_transaction(feed_id, polling, datetime.now(timezone.utc)) is None
    assert len(http_server.requests_to("/feed.xml")) == 1


class Overlap:
    """A route that answers only once ``wanted`` requests are in flight at once (or after ``patience`` seconds)."""

    def __init__(self, wanted: int, patience: float = 3.0) -> None:
        self.wanted, self.patience = wanted, patience
        self.active = self.peak = 0
        self.lock = threading.Lock()
        self.together = threading.Event()

    def __call__(self, request: Request) -> Response:
        with self.lock:
            self.active += 1
            self.peak = max(self.peak, self.active)
            if self.active >= self.wanted:
                self.together.set()
        self.together.wait(self.patience)
        with self.lock:
            self.active -= 1
        body = RSS.replace(b"l-1", request.path.encode()).replace(
            b"lease.example/1", b"lease.example" + request.path.encode()
        )
        return Response(200, body)


def test_a_cycle_fetches_in_parallel_and_writes_every_feed(polling, env, http_server: LocalHTTPServer) -> None:  # type: ignore[no-untyped-def]
    from services.settings import get_settings

    env.setenv("FETCH_PER_HOST_CONCURRENCY", "8")
    get_settings.cache_clear()
    overlap = Overlap(wanted=4)
    for i in range(8):
        http_server.routes[f"/slow{i}.xml"] = overlap
        add(http_server.url(f"/slow{i}.xml"))
    cycle = run_cycle(get_settings(), include_not_due=True)
    assert cycle.feeds_polled == 8 and cycle.feeds_failed == 0 and cycle.new_articles == 1  # one article, eight outlets
    # measured, not timed: a sequential cycle never has two requests in flight, however fast or loaded the machine
    assert overlap.peak >= 4, f"at most {overlap.peak} fetches were in flight at once: not fetched in parallel"
    with unit_of_work() as session:
        assert (
            session.execute(select(func.count()).select_from(Feed).where(Feed.lease_until.is_not(None))).scalar_one()
            == 0
        )


def test_per_host_concurrency_is_respected(polling, env, http_server: LocalHTTPServer) -> None:  # type: ignore[no-untyped-def]
    from services.settings import get_settings

    env.setenv("FETCH_PER_HOST_CONCURRENCY", "2")
    get_settings.cache_clear()
    active = 0
    peak = 0
    lock = threading.Lock()

    def counted(request: Request) -> Response:
        nonlocal active, peak
        with lock:
            active += 1
            peak = max(peak, active)
        time.sleep(0.2)
        with lock:
            active -= 1
        return Response(200, RSS)

    for i in range(6):
        http_server.routes[f"/c{i}.xml"] = counted
        add(http_server.url(f"/c{i}.xml"))
    run_cycle(get_settings(), include_not_due=True)
    assert peak == 2


def test_publishing_rate_comes_from_entry_timestamps() -> None:
    now = datetime(2026, 11, 22, tzinfo=timezone.utc)
    hourly = [now - timedelta(hours=h) for h in range(1, 25)]
    assert publishing_rate(hourly, now) == pytest.approx(24, rel=0.05)
    assert publishing_rate([now - timedelta(days=200), now - timedelta(days=300)], now) == pytest.approx(1 / 200)
    assert publishing_rate([now - timedelta(hours=2)] * 20, now) is None, "identical crawl times say nothing"
    assert publishing_rate([None, None], now) is None


def test_the_interval_follows_the_feed_and_stays_within_bounds(polling, env, http_server: LocalHTTPServer) -> None:  # type: ignore[no-untyped-def]
    from services.settings import get_settings

    env.setenv("POLL_MIN_INTERVAL_SECONDS", "300")
    env.setenv("POLL_MAX_INTERVAL_SECONDS", "21600")
    get_settings.cache_clear()
    now = datetime.now(timezone.utc)

    def feed_of(step: timedelta) -> bytes:
        items = "".join(
            f"<item><guid>{i}</guid><title>Story number {i}</title>"
            f"<pubDate>{(now - step * (i + 1)).strftime('%a, %d %b %Y %H:%M:%S +0000')}</pubDate></item>"
            for i in range(20)
        )
        return f'<?xml version="1.0"?><rss version="2.0"><channel><title>x</title>{items}</channel></rss>'.encode()

    http_server.routes["/busy.xml"] = Response(200, feed_of(timedelta(minutes=2)))
    http_server.routes["/steady.xml"] = Response(200, feed_of(timedelta(minutes=20)))
    http_server.routes["/quiet.xml"] = Response(200, feed_of(timedelta(days=1)))
    busy, steady, quiet = (add(http_server.url(p)) for p in ("/busy.xml", "/steady.xml", "/quiet.xml"))
    for feed_id in (busy, steady, quiet):
        poll(feed_id, get_settings())
    assert feed(busy).poll_interval_s == 300, "clamped to POLL_MIN_INTERVAL_SECONDS"
    assert 1150 <= feed(steady).poll_interval_s <= 1250, "about one new entry per poll"
    assert 20_000 <= feed(quiet).poll_interval_s <= 21_600
    assert feed(quiet).entries_per_day == pytest.approx(1, rel=0.1)


def test_backoff_grows_with_jitter_and_is_bounded() -> None:
    delays = [backoff_delay(n).total_seconds() for n in range(1, 30)]
    assert 90 <= delays[0] <= 150
    assert all(d <= 24 * 3600 for d in delays)
    assert delays[15] >= 0.75 * 24 * 3600
    assert backoff_delay(1, retry_after=7200).total_seconds() == 7200
    assert len({backoff_delay(5).total_seconds() for _ in range(20)}) > 1, "jittered"
