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
from services.database import unit_of_work
from services.feeds.registry import FeedSpec, add_feed
from services.poll import run_cycle
from services.settings import get_settings
from tests.hostile.corpus import CORPUS
from tests.hostile.servers import RawTCPServer, say_nothing
from tests.support.http import LocalHTTPServer, Response

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
        pytest.skip("SKIPPED LOUDLY: no IPv6 loopback on this machine")
    yield server
    server.stop()


def poll_one(url: str) -> tuple[str | None, int, int]:
    """Add ``url`` as the only feed, run one cycle; (error, entries stored, poll duration in ms)."""
    with unit_of_work() as session:
        feed, _ = add_feed(session, FeedSpec(url=url))
        feed_id = feed.id
    run_cycle(get_settings(), include_not_due=True)
    with unit_of_work() as session:
        log = session.execute(select(FetchLog).where(FetchLog.feed_id == feed_id)).scalar_one()
        entries = len(session.execute(select(FeedEntry).where(FeedEntry.feed_id == feed_id)).scalars().all())
        return log.error, entries, log.duration_ms


def assert_refused(error: str | None, entries: int, also: str = "") -> None:
    assert error and re.search(REFUSED + also, error, re.I), f"not refused: fetch_log.error = {error!r}"
    assert "internal error" not in error.lower(), f"refused only by a crash, not a clear error: {error!r}"
    assert entries == 0


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


@pytest.mark.parametrize("form", LOOPBACK_FORMS)
def test_loopback_in_any_spelling_is_refused_by_default(form: str, ssrf_env: pytest.MonkeyPatch, http_server: LocalHTTPServer) -> None:
    error, entries = poll_one(form.format(port=http_server.port))[:2]
    assert_refused(error, entries, also="|invalid")
    assert http_server.requests_to("/feed.xml") == [], "the refused server received the request"


@pytest.mark.parametrize("form", ["http://[::1]:{port}/feed.xml", "http://[::]:{port}/feed.xml", "http://[0:0:0:0:0:0:0:1]:{port}/feed.xml"])
def test_ipv6_loopback_is_refused_by_default(form: str, ssrf_env: pytest.MonkeyPatch, ipv6_listener: RawTCPServer) -> None:
    error, entries = poll_one(form.format(port=ipv6_listener.port))[:2]
    assert_refused(error, entries)
    assert ipv6_listener.connections == 0, "a connection reached the IPv6 loopback listener"


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


@pytest.mark.parametrize("url", NON_LOCAL)
def test_private_link_local_and_metadata_are_refused_before_connecting(url: str, ssrf_env: pytest.MonkeyPatch) -> None:
    error, entries, duration_ms = poll_one(url)
    assert_refused(error, entries)
    assert duration_ms < 250, f"the refusal took {duration_ms} ms: a connection was probably attempted"


def test_loopback_is_fetched_when_allowed(ssrf_env: pytest.MonkeyPatch, http_server: LocalHTTPServer) -> None:
    ssrf_env.setenv("FETCH_ALLOWED_NETWORKS", "127.0.0.0/8")
    error, entries = poll_one(http_server.url("/feed.xml"))[:2]
    assert error is None and entries == 3
    assert len(http_server.requests_to("/feed.xml")) == 1


@pytest.mark.parametrize("target", [
    "http://169.254.169.254/latest/meta-data/",
    "http://10.0.0.1/feed.xml",
    "http://[::1]:{v6port}/feed.xml",
    "http://[fd00:ec2::254]/latest/meta-data/",
    "file:///etc/passwd",
])
def test_a_redirect_from_an_allowed_address_to_a_refused_one_is_refused(
    target: str, ssrf_env: pytest.MonkeyPatch, http_server: LocalHTTPServer, ipv6_listener: RawTCPServer
) -> None:
    ssrf_env.setenv("FETCH_ALLOWED_NETWORKS", "127.0.0.0/8")
    http_server.routes["/moved"] = Response(302, b"", {"Location": target.format(v6port=ipv6_listener.port)})
    error, entries = poll_one(http_server.url("/moved"))[:2]
    assert error and re.search(REFUSED + r"|scheme|not http|unsupported", error, re.I), f"redirect followed: {error!r}"
    assert entries == 0
    assert ipv6_listener.connections == 0
    with unit_of_work() as session:
        assert session.execute(select(Article)).first() is None


@pytest.mark.parametrize("url", [
    "http://169.254.169.254/latest/meta-data/",
    "http://[fd00:ec2::254]/latest/meta-data/",
    "http://100.100.100.200/latest/meta-data/",
    "http://169.254.170.2/v2/credentials",
])
def test_metadata_stays_refused_under_a_broad_allow_list(url: str, ssrf_env: pytest.MonkeyPatch) -> None:
    ssrf_env.setenv("FETCH_ALLOWED_NETWORKS", "0.0.0.0/0,::/0,169.254.0.0/16,100.64.0.0/10")
    error, entries, duration_ms = poll_one(url)
    assert_refused(error, entries)
    assert re.search("metadata", error or "", re.I), error
    assert duration_ms < 250


def _cnai(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    cnai = Path(sys.executable).with_name("cnai")
    return subprocess.run([str(cnai), *args], capture_output=True, text=True, timeout=60, cwd=REPO_ROOT,
                          env={**os.environ, **env})


def test_cnai_poll_reports_the_refusal_and_feeds_list_shows_it(sqlite_url: str, http_server: LocalHTTPServer, tmp_path: Path) -> None:
    http_server.routes["/feed.xml"] = Response(200, GOOD, {"Content-Type": "application/rss+xml"})
    env = {"DATABASE_URL": sqlite_url, "FETCH_ALLOWED_NETWORKS": "", "FETCH_TIMEOUT_SECONDS": "0.3", "SLACK_WEBHOOK_URL": "", "SMTP_URL": ""}
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
    assert len(rows) == 2 and all(r["consecutive_failures"] == 1 and re.search(REFUSED, r["last_error"] or "", re.I) for r in rows), rows


def test_cnai_feeds_add_never_fetches_a_refused_address(sqlite_url: str, http_server: LocalHTTPServer) -> None:
    """Feed discovery on ``cnai feeds add`` goes through the same guard as polling."""
    http_server.routes["/page"] = Response(200, b'<html><link rel="alternate" type="application/rss+xml" href="/feed.xml"></html>', {"Content-Type": "text/html"})
    env = {"DATABASE_URL": sqlite_url, "FETCH_ALLOWED_NETWORKS": "", "FETCH_TIMEOUT_SECONDS": "0.3"}
    result = _cnai(["feeds", "add", http_server.url("/page")], env)
    assert "Traceback" not in result.stderr
    assert http_server.requests == [], f"discovery fetched a loopback address: {[r.path for r in http_server.requests]}"
    with unit_of_work(sqlite_url) as session:
        assert session.execute(select(Feed.url)).scalars().all() in ([], [http_server.url("/page")])
