"""SSRF, checked from outside through a real cycle and the CLI: feed URLs that lead to loopback, private,
link-local or cloud-metadata addresses are refused before any connection, unless FETCH_ALLOWED_NETWORKS
opens them (and metadata addresses only when named exactly).

Traffic only ever goes to 127.0.0.1 / ::1. For private and metadata addresses the refusal happens before
connecting; were it missing, the very short timeouts below bound the one connection attempt it would make.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from db.models import Article, Feed, FeedEntry, FetchLog
from services.cycle import run_cycle
from services.database import unit_of_work
from services.feeds.registry import FeedSpec, add_feed
from services.settings import get_settings
from tests.hostile.corpus import CORPUS
from tests.hostile.servers import RawTCPServer, say_nothing
from tests.support.http import LocalHTTPServer, Response
from tests.support.services import unavailable

REPO_ROOT = Path(__file__).resolve().parents[2]
REFUSED = r"refus|not allowed|forbidden|blocked|loopback|private|link-local|metadata|unspecified|not a public|allow it"
GOOD = (CORPUS / "good.xml").read_bytes()


@pytest.fixture
def ssrf_env(env: pytest.MonkeyPatch, sqlite_url: str, http_server: LocalHTTPServer) -> pytest.MonkeyPatch:
    env.setenv("DATABASE_URL", sqlite_url)
    env.setenv("FETCH_TIMEOUT_SECONDS", "0.3")
    env.setenv("FETCH_DEADLINE_SECONDS", "0.6")
    env.setenv("FETCH_PER_HOST_GAP_SECONDS", "0")
    http_server.routes["/feed.xml"] = Response(200, GOOD, {"Content-Type": "application/rss+xml"})
    return env


@pytest.fixture
def ipv6_listener() -> Iterator[RawTCPServer]:
    try:
        server = RawTCPServer(say_nothing(give_up_s=2), host="::1")
    except OSError:
        unavailable("no IPv6 loopback on this machine (.ci/run enables it where the kernel has IPv6)")
    yield server
    server.stop()


def poll_all(urls: list[str]) -> dict[str, tuple[str | None, int, int]]:
    """Add every URL as a feed and run one cycle; per URL: (fetch_log.error, entries stored, poll duration in ms)."""
    with unit_of_work() as session:
        ids = {url: add_feed(session, FeedSpec(url=url))[0].id for url in urls}
    run_cycle(get_settings(), include_not_due=True)
    results = {}
    with unit_of_work() as session:
        for url, feed_id in ids.items():
            log = (
                session.execute(select(FetchLog).where(FetchLog.feed_id == feed_id).order_by(FetchLog.id))
                .scalars()
                .first()
            )
            entries = len(session.execute(select(FeedEntry).where(FeedEntry.feed_id == feed_id)).scalars().all())
            results[url] = (log.error if log else "never polled", entries, log.duration_ms if log else 0)
    return results


def refusal_problem(error: str | None, entries: int, also: str = "") -> str | None:
    """Why this poll does not count as a clear refusal, or None."""
    if not error or not re.search(REFUSED + also, error, re.I):
        return f"not refused: fetch_log.error = {error!r}"
    if "internal error" in error.lower():
        return f"refused only by a crash, not a clear error: {error!r}"
    if entries:
        return f"{entries} entries stored"
    return None


def assert_all_refused(
    results: dict[str, tuple[str | None, int, int]], also: str = "", max_ms: int | None = None
) -> None:
    problems = []
    for url, (error, entries, duration_ms) in results.items():
        problem = refusal_problem(error, entries, also)
        if problem is None and max_ms is not None and duration_ms > max_ms:
            problem = f"the refusal took {duration_ms} ms: a connection was probably attempted"
        if problem:
            problems.append(f"{url}: {problem}")
    assert not problems, "\n".join(problems)


LOOPBACK_FORMS = [
    "http://127.0.0.1:{port}/feed.xml",
    "http://127.1:{port}/feed.xml",
    "http://2130706433:{port}/feed.xml",
    "http://0x7f.0.0.1:{port}/feed.xml",
    "http://0177.0.0.1:{port}/feed.xml",
    "http://localhost:{port}/feed.xml",
    "http://LOCALHOST:{port}/feed.xml",
    "http://0.0.0.0:{port}/feed.xml",
    "http://[::ffff:127.0.0.1]:{port}/feed.xml",
    "http://[::ffff:7f00:1]:{port}/feed.xml",
    "http://news.example@127.0.0.1:{port}/feed.xml",
]
IPV6_LOOPBACK_FORMS = [
    "http://[::1]:{v6port}/feed.xml",
    "http://[::]:{v6port}/feed.xml",
    "http://[0:0:0:0:0:0:0:1]:{v6port}/feed.xml",
]
NON_LOCAL = [
    "http://10.0.0.1/feed.xml",
    "http://10.255.255.254:8080/feed.xml",
    "http://172.16.0.1/feed.xml",
    "http://172.31.255.1/feed.xml",
    "http://192.168.1.1/feed.xml",
    "http://169.254.1.1/feed.xml",
    "http://169.254.169.254/latest/meta-data/iam/security-credentials/",
    "http://100.100.100.200/latest/meta-data/",
    "http://100.64.0.1/feed.xml",
    "http://[fd00::1]/feed.xml",
    "http://[fe80::1]/feed.xml",
    "http://[fd00:ec2::254]/latest/meta-data/",
    "http://[::ffff:10.0.0.1]/feed.xml",
    "http://[::ffff:169.254.169.254]/latest/meta-data/",
    "http://[64:ff9b::a9fe:a9fe]/latest/meta-data/",
]


def test_loopback_in_any_spelling_is_refused_by_default(
    ssrf_env: pytest.MonkeyPatch, http_server: LocalHTTPServer, ipv6_listener: RawTCPServer
) -> None:
    urls = [u.format(port=http_server.port, v6port=ipv6_listener.port) for u in LOOPBACK_FORMS + IPV6_LOOPBACK_FORMS]
    results = poll_all(urls)
    assert_all_refused(results, also="|invalid")
    assert http_server.requests_to("/feed.xml") == [], "a refused loopback server received the request"
    assert ipv6_listener.connections == 0, "a connection reached the IPv6 loopback listener"


def test_private_link_local_and_metadata_are_refused_before_connecting(ssrf_env: pytest.MonkeyPatch) -> None:
    assert_all_refused(poll_all(NON_LOCAL), max_ms=250)


def test_loopback_is_fetched_when_allowed(ssrf_env: pytest.MonkeyPatch, http_server: LocalHTTPServer) -> None:
    ssrf_env.setenv("FETCH_ALLOWED_NETWORKS", "127.0.0.0/8")
    error, entries, _ = poll_all([http_server.url("/feed.xml")])[http_server.url("/feed.xml")]
    assert error is None and entries == 3
    assert len(http_server.requests_to("/feed.xml")) == 1


REDIRECT_TARGETS = [
    "http://169.254.169.254/latest/meta-data/",
    "http://10.0.0.1/feed.xml",
    "http://[::1]:{v6port}/feed.xml",
    "http://[fd00:ec2::254]/latest/meta-data/",
    "file:///etc/passwd",
]


def test_a_redirect_from_an_allowed_address_to_a_refused_one_is_refused(
    ssrf_env: pytest.MonkeyPatch, http_server: LocalHTTPServer, ipv6_listener: RawTCPServer
) -> None:
    ssrf_env.setenv("FETCH_ALLOWED_NETWORKS", "127.0.0.0/8")
    urls = []
    for i, target in enumerate(REDIRECT_TARGETS):
        http_server.routes[f"/moved-{i}"] = Response(302, b"", {"Location": target.format(v6port=ipv6_listener.port)})
        urls.append(http_server.url(f"/moved-{i}"))
    assert_all_refused(poll_all(urls), also=r"|scheme|not http|unsupported")
    assert ipv6_listener.connections == 0
    with unit_of_work() as session:
        assert session.execute(select(Article)).first() is None


def test_metadata_stays_refused_under_a_broad_allow_list(ssrf_env: pytest.MonkeyPatch) -> None:
    ssrf_env.setenv("FETCH_ALLOWED_NETWORKS", "0.0.0.0/0,::/0,169.254.0.0/16,100.64.0.0/10")
    results = poll_all(
        [
            "http://169.254.169.254/latest/meta-data/",
            "http://[fd00:ec2::254]/latest/meta-data/",
            "http://100.100.100.200/latest/meta-data/",
            "http://169.254.170.2/v2/credentials",
        ]
    )
    assert_all_refused(results, max_ms=250)
    assert all("metadata" in (error or "").lower() for error, _, _ in results.values()), results


def _cnai(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    cnai = Path(sys.executable).with_name("cnai")
    return subprocess.run(
        [str(cnai), *args], capture_output=True, text=True, timeout=60, cwd=REPO_ROOT, env={**os.environ, **env}
    )


def test_cnai_poll_reports_the_refusal_and_feeds_list_shows_it(
    sqlite_url: str, http_server: LocalHTTPServer, tmp_path: Path
) -> None:
    http_server.routes["/feed.xml"] = Response(200, GOOD, {"Content-Type": "application/rss+xml"})
    env = {
        "DATABASE_URL": sqlite_url,
        "FETCH_ALLOWED_NETWORKS": "",
        "FETCH_TIMEOUT_SECONDS": "0.3",
        "SLACK_WEBHOOK_URL": "",
        "SMTP_URL": "",
    }
    for url in (http_server.url("/feed.xml"), "http://169.254.169.254/latest/meta-data/"):
        added = _cnai(["feeds", "add", "--no-discover", url], env)
        assert added.returncode == 0, added.stderr

    polled = _cnai(["poll", "--all"], env)

    assert polled.returncode in (0, 1), polled.stderr
    assert "Traceback" not in polled.stderr
    assert len(re.findall(REFUSED, polled.stderr + polled.stdout, re.I)) >= 2, polled.stderr
    assert "metadata" in (polled.stderr + polled.stdout).lower()
    assert http_server.requests_to("/feed.xml") == []
    listed = _cnai(["feeds", "list", "--format", "json"], env)
    assert listed.returncode == 0, listed.stderr
    import json

    rows = json.loads(listed.stdout)
    assert len(rows) == 2 and all(
        r["consecutive_failures"] == 1 and re.search(REFUSED, r["last_error"] or "", re.I) for r in rows
    ), rows


def test_cnai_feeds_add_never_fetches_a_refused_address(sqlite_url: str, http_server: LocalHTTPServer) -> None:
    """Feed discovery on ``cnai feeds add`` goes through the same guard as polling."""
    http_server.routes["/page"] = Response(
        200,
        b'<html><link rel="alternate" type="application/rss+xml" href="/feed.xml"></html>',
        {"Content-Type": "text/html"},
    )
    env = {"DATABASE_URL": sqlite_url, "FETCH_ALLOWED_NETWORKS": "", "FETCH_TIMEOUT_SECONDS": "0.3"}
    result = _cnai(["feeds", "add", http_server.url("/page")], env)
    assert "Traceback" not in result.stderr
    assert http_server.requests == [], f"discovery fetched a loopback address: {[r.path for r in http_server.requests]}"
    with unit_of_work(sqlite_url) as session:
        assert session.execute(select(Feed.url)).scalars().all() in ([], [http_server.url("/page")])
