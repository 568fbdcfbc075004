"""Fetching over real HTTP from a local server: conditional GET, redirects, status codes, time and size limits."""

from __future__ import annotations

import gzip
import time
import zlib
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from db.models import FetchLog
from services.database import unit_of_work
from services.ingest.fetch import FetchError, fetch_feed
from tests.ingest.polling import SilentServer, add, feed, fetch_settings, poll
from tests.support.http import LocalHTTPServer, Request, Response

RSS = b"""<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0"><channel><title>Harbour news</title><link>https://harbour.example/</link>
<item><title>Ferry timetable changes for the winter</title><link>https://harbour.example/ferry</link>
<guid>ferry-1</guid><description>The night ferry stops running in January.</description></item>
</channel></rss>
"""


def conditional(body: bytes, etag: str = '"v1"', modified: str = "Sun, 22 Nov 2026 08:00:00 GMT"):  # type: ignore[no-untyped-def]
    def handle(request: Request) -> Response:
        if request.headers.get("if-none-match") == etag or request.headers.get("if-modified-since") == modified:
            return Response(304, b"", {"ETag": etag})
        return Response(200, body, {"ETag": etag, "Last-Modified": modified, "Content-Type": "application/rss+xml"})

    return handle


def test_second_poll_sends_the_validators_and_gets_304(polling, http_server: LocalHTTPServer) -> None:  # type: ignore[no-untyped-def]
    http_server.routes["/feed.xml"] = conditional(RSS)
    feed_id = add(http_server.url("/feed.xml"))

    first = poll(feed_id, polling)
    second = poll(feed_id, polling)

    assert first.status == "ok" and first.new_articles == 1
    assert second.status == "not_modified" and second.new_articles == 0
    requests = http_server.requests_to("/feed.xml")
    assert "if-none-match" not in requests[0].headers
    assert requests[1].headers["if-none-match"] == '"v1"'
    assert requests[1].headers["if-modified-since"] == "Sun, 22 Nov 2026 08:00:00 GMT"
    assert "cnai-monitor" in requests[0].headers["user-agent"]
    assert "gzip" in requests[0].headers["accept-encoding"]
    with unit_of_work() as session:
        statuses = (
            session.execute(select(FetchLog.status_code).where(FetchLog.feed_id == feed_id).order_by(FetchLog.id))
            .scalars()
            .all()
        )
    assert statuses == [200, 304]
    assert feed(feed_id).consecutive_failures == 0


def test_gzip_and_deflate_bodies_are_decoded(http_server: LocalHTTPServer) -> None:
    http_server.routes["/gz"] = Response(200, gzip.compress(RSS), {"Content-Encoding": "gzip"})
    http_server.routes["/deflate"] = Response(200, zlib.compress(RSS), {"Content-Encoding": "deflate"})
    http_server.routes["/raw-deflate"] = Response(200, zlib.compress(RSS)[2:-4], {"Content-Encoding": "deflate"})
    settings = fetch_settings()
    for path in ("/gz", "/deflate", "/raw-deflate"):
        result = fetch_feed(http_server.url(path), settings)
        assert result.body == RSS, path
        assert result.wire_bytes < len(RSS)


def test_permanent_redirect_updates_the_stored_url_and_a_temporary_one_does_not(
    polling, http_server: LocalHTTPServer
) -> None:  # type: ignore[no-untyped-def]
    http_server.routes["/old.xml"] = Response(301, b"", {"Location": "/new.xml"})
    http_server.routes["/new.xml"] = Response(200, RSS, {"Content-Type": "application/rss+xml"})
    http_server.routes["/moving.xml"] = Response(302, b"", {"Location": "/new.xml"})
    moved = add(http_server.url("/old.xml"))
    temporary = add(http_server.url("/moving.xml"))

    assert poll(moved, polling).status == "ok"
    assert poll(temporary, polling).status == "ok"

    assert feed(moved).url == http_server.url("/new.xml")
    assert feed(temporary).url == http_server.url("/moving.xml")


def test_410_gone_disables_the_feed_with_that_reason(polling, http_server: LocalHTTPServer) -> None:  # type: ignore[no-untyped-def]
    http_server.routes["/gone.xml"] = Response(410, b"gone")
    feed_id = add(http_server.url("/gone.xml"))

    report = poll(feed_id, polling)

    row = feed(feed_id)
    assert report.status == "error"
    assert row.disabled_at is not None and "410" in (row.disabled_reason or "")


@pytest.mark.parametrize("status", [429, 503])
def test_retry_after_sets_the_next_poll(polling, http_server: LocalHTTPServer, status: int) -> None:  # type: ignore[no-untyped-def]
    http_server.routes["/busy.xml"] = Response(status, b"slow down", {"Retry-After": "3600"})
    feed_id = add(http_server.url("/busy.xml"))
    before = datetime.now(timezone.utc)

    poll(feed_id, polling)

    row = feed(feed_id)
    assert row.consecutive_failures == 1 and str(status) in (row.last_error or "")
    assert before + timedelta(seconds=3600) <= row.next_poll_at <= datetime.now(timezone.utc) + timedelta(seconds=3601)


def drip(seconds: float) -> Iterator[bytes]:
    yield b'<?xml version="1.0"?><rss version="2.0"><channel><title>slow</title>'
    while True:
        time.sleep(seconds)
        yield b" "


def test_a_server_dripping_bytes_is_cut_off_at_the_total_deadline(http_server: LocalHTTPServer) -> None:
    http_server.routes["/drip"] = Response(200, drip(0.2))
    settings = fetch_settings(FETCH_TIMEOUT_SECONDS="1", FETCH_DEADLINE_SECONDS="1.5")
    started = time.monotonic()
    with pytest.raises(FetchError, match="total deadline of 1.5s"):
        fetch_feed(http_server.url("/drip"), settings)
    assert time.monotonic() - started < 1.5 + 10, "the drip was not cut off at the deadline"


def test_a_server_that_never_answers_times_out() -> None:
    server = SilentServer()
    try:
        started = time.monotonic()
        with pytest.raises(FetchError, match="timed out"):
            fetch_feed(server.url(), fetch_settings(FETCH_TIMEOUT_SECONDS="0.5", FETCH_DEADLINE_SECONDS="3"))
        assert time.monotonic() - started < 2
    finally:
        server.stop()


def test_oversize_bodies_are_refused_declared_or_streamed(http_server: LocalHTTPServer) -> None:
    big = b"<rss>" + b"x" * 2_000_000 + b"</rss>"
    http_server.routes["/declared"] = Response(200, big)
    http_server.routes["/streamed"] = Response(200, iter([big[i : i + 65536] for i in range(0, len(big), 65536)]))
    settings = fetch_settings(FETCH_MAX_BYTES="1000000")
    with pytest.raises(
        FetchError, match=r"body of 2000011 bytes exceeds the limit of 1000000 bytes \(FETCH_MAX_BYTES\)"
    ):
        fetch_feed(http_server.url("/declared"), settings)
    with pytest.raises(FetchError, match=r"exceeds the limit of 1000000 bytes"):
        fetch_feed(http_server.url("/streamed"), settings)


@pytest.mark.parametrize("encoding", ["gzip", "gzip, gzip"])
def test_a_compression_bomb_is_stopped_at_the_limit(http_server: LocalHTTPServer, encoding: str) -> None:
    bomb = gzip.compress(b"\0" * 50_000_000, 9)
    if encoding == "gzip, gzip":
        bomb = gzip.compress(bomb, 9)
    http_server.routes["/bomb"] = Response(200, bomb, {"Content-Encoding": encoding})
    with pytest.raises(FetchError, match="decompressed body exceeds the limit of 1000000 bytes"):
        fetch_feed(http_server.url("/bomb"), fetch_settings(FETCH_MAX_BYTES="1000000"))


def test_redirect_loops_and_chains_end_with_a_clear_error(http_server: LocalHTTPServer) -> None:
    http_server.routes["/loop"] = Response(302, b"", {"Location": "/loop"})
    for i in range(8):
        http_server.routes[f"/hop{i}"] = Response(302, b"", {"Location": f"/hop{i + 1}"})
    with pytest.raises(FetchError, match="redirect loop"):
        fetch_feed(http_server.url("/loop"), fetch_settings())
    with pytest.raises(FetchError, match="too many redirects"):
        fetch_feed(http_server.url("/hop0"), fetch_settings())


def test_failures_back_off_and_disable_the_feed_after_the_limit(polling, env, http_server: LocalHTTPServer) -> None:  # type: ignore[no-untyped-def]
    from services.settings import get_settings

    env.setenv("FEED_MAX_FAILURES", "3")
    get_settings.cache_clear()
    settings = get_settings()
    http_server.routes["/broken.xml"] = Response(500, b"oops")
    feed_id = add(http_server.url("/broken.xml"))

    delays = []
    for _ in range(2):
        started = datetime.now(timezone.utc)
        poll(feed_id, settings)
        delays.append((feed(feed_id).next_poll_at - started).total_seconds())
    poll(feed_id, settings)

    assert 60 * 2 * 0.75 <= delays[0] <= 60 * 2 * 1.25 + 1
    assert 60 * 4 * 0.75 <= delays[1] <= 60 * 4 * 1.25 + 1
    row = feed(feed_id)
    assert row.consecutive_failures == 3
    assert row.disabled_at is not None and "3 failures in a row" in (row.disabled_reason or "")
    assert "HTTP 500" in (row.last_error or "")
    with unit_of_work() as session:
        errors = session.execute(select(FetchLog.error).where(FetchLog.feed_id == feed_id)).scalars().all()
    assert len(errors) == 3 and all("HTTP 500" in (e or "") for e in errors)
