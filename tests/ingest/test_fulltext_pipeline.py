"""Full text through the real poll pipeline (services/poll.py): a local server publishes feeds whose items
link to real article pages (English, Chinese in GBK and with a lying charset, a page that times out, one too
large, a redirect to a private address, one robots.txt forbids); the poll stores the extracted text and the
verdict made with it, and stores the failures with their feed text only."""

from __future__ import annotations

import time
from urllib.parse import urlsplit
from xml.sax.saxutils import escape

import pytest
from sqlalchemy import select

from db.enums import FullTextMode
from db.models import Article, Classification, FetchLog
from services.cycle import run_cycle
from services.database import unit_of_work
from services.feeds.registry import FeedSpec, add_feed
from services.settings import Settings, get_settings
from tests.ingest.polling import poll
from tests.ingest.test_fulltext import EN_BODY, ZH_BODY, page
from tests.support.http import LocalHTTPServer, Response

HTML = {"Content-Type": "text/html; charset=utf-8"}


def rss(server: LocalHTTPServer, items: list[tuple[str, str]]) -> bytes:
    body = "".join(
        f"<item><title>{escape(title)}</title><link>{server.url(path)}</link><guid>{path}</guid>"
        "<pubDate>Mon, 07 Dec 2026 08:00:00 +0000</pubDate></item>"
        for title, path in items
    )
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>Wire</title>'
        f"<link>{server.url('/')}</link>{body}</channel></rss>"
    ).encode()


# (title, page): headlines alone are one-sided (a regulator without an AI term, or the reverse) or clear.
AUTO_ITEMS = [
    ("Cyberspace Administration issues notice", "/en/notice"),
    ("网信办发布通知", "/zh/gbk"),
    ("网信办发布另一份通知", "/zh/lying"),
    ("Local bakery wins prize for its sourdough loaf", "/bakery"),
    ("Zhipu releases a new open-weight model", "/zhipu"),
    ("Cyberspace Administration issues a second notice", "/slow"),
    ("Cyberspace Administration issues a third notice", "/huge"),
    ("Cyberspace Administration issues a fourth notice", "/to-private"),
    ("Cyberspace Administration issues a fifth notice", "/private/notice"),
]
FETCHED_OK = {"/en/notice", "/zh/gbk", "/zh/lying"}
FAILING = {
    "/slow": "timed out",
    "/huge": "exceeds the limit",
    "/to-private": "10.255.255.1",
    "/private/notice": "robots.txt forbids it",
}
NEVER_FETCHED = {"/bakery", "/zhipu"}


@pytest.fixture
def site(http_server: LocalHTTPServer) -> LocalHTTPServer:
    routes = http_server.routes
    routes["/robots.txt"] = Response(200, b"User-agent: *\nDisallow: /private/\n", {"Content-Type": "text/plain"})
    routes["/en/notice"] = Response(200, page("Draft rules on labelling AI content", EN_BODY).encode(), HTML)
    routes["/zh/gbk"] = Response(
        200, page("标识办法征求意见", ZH_BODY, "gbk").encode("gbk"), {"Content-Type": "text/html; charset=gbk"}
    )
    routes["/zh/lying"] = Response(200, page("标识办法征求意见", ZH_BODY, "utf-8").encode("gbk"), HTML)
    for path in ("/bakery", "/zhipu", "/plain", "/never"):
        routes[path] = Response(200, page("Other", EN_BODY).encode(), HTML)
    routes["/slow"] = Response(200, page("Slow", EN_BODY).encode(), HTML, delay_s=6)
    routes["/huge"] = Response(200, page("Huge", EN_BODY * 3000).encode(), HTML)
    routes["/to-private"] = Response(302, b"", {"Location": "http://10.255.255.1/article"})
    routes["/private/notice"] = Response(200, page("Hidden", EN_BODY).encode(), HTML)
    routes["/auto.xml"] = Response(200, rss(http_server, AUTO_ITEMS), {"Content-Type": "application/rss+xml"})
    routes["/never.xml"] = Response(
        200,
        rss(http_server, [("Cyberspace Administration issues a notice nobody fetches", "/never")]),
        {"Content-Type": "application/rss+xml"},
    )
    routes["/always.xml"] = Response(
        200, rss(http_server, [("New draft measures published", "/plain")]), {"Content-Type": "application/rss+xml"}
    )
    return http_server


@pytest.fixture(params=["sqlite", "postgres"])
def settings(env: pytest.MonkeyPatch, request: pytest.FixtureRequest) -> Settings:
    env.setenv("DATABASE_URL", request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "pg_url"))
    env.setenv("FETCH_ALLOWED_NETWORKS", "127.0.0.0/8")
    env.setenv("FETCH_PER_HOST_GAP_SECONDS", "0")
    env.setenv("FULL_TEXT_MAX_WAIT_SECONDS", "2")
    env.setenv("FULL_TEXT_POLL_BUDGET_SECONDS", "20")
    return get_settings()


def add(url: str, mode: FullTextMode | None = None) -> int:
    with unit_of_work() as session:
        feed, _ = add_feed(session, FeedSpec(url=url, full_text=mode))
        return feed.id


def stored(feed_id: int) -> dict[str, tuple[str | None, bool]]:
    """Article path -> (full text, current verdict)."""
    with unit_of_work() as session:
        rows = session.execute(
            select(Article.url, Article.full_text, Classification.relevant)
            .join(Classification, Classification.article_id == Article.id)
            .where(Article.feed_id == feed_id)
        ).all()
    return {urlsplit(str(url)).path: (text, relevant) for url, text, relevant in rows}


def test_thin_uncertain_items_are_rescored_with_their_page_and_failures_keep_the_feed_text(
    site: LocalHTTPServer, settings: Settings
) -> None:
    feed_id = add(site.url("/auto.xml"))
    report = poll(feed_id, settings)
    assert report.new_articles == len(AUTO_ITEMS)
    articles = stored(feed_id)
    assert set(articles) == {path for _, path in AUTO_ITEMS}, "every item is stored, failures included"
    for path in FETCHED_OK:
        text, relevant = articles[path]
        assert text and "\ufffd" not in text, path
        assert ("生成式人工智能服务" if path.startswith("/zh") else "visible marks to synthetic text") in text
        assert "Contact" not in text and "Copyright" not in text
        assert relevant, f"{path}: the page supplies the AI half the headline lacked"
    for path in FAILING:
        assert articles[path] == (None, False), f"{path}: stored with the feed text only"
    assert articles["/bakery"] == (None, False) and articles["/zhipu"] == (None, True)
    for path in NEVER_FETCHED:
        assert not site.requests_to(path), f"{path}: a clear verdict fetches nothing"
    assert not site.requests_to("/private/notice"), "robots.txt is read before the page"
    assert report.relevant == len(FETCHED_OK) + 1
    with unit_of_work() as session:
        note = session.execute(select(FetchLog.error).where(FetchLog.feed_id == feed_id)).scalar_one()
    assert note is not None
    for reason in FAILING.values():
        assert "full text 127.0.0.1: " in note and reason in note, note

    pages_before = len(site.requests)
    again = poll(feed_id, settings)
    assert again.new_articles == 0
    assert [r.path for r in site.requests[pages_before:]] == ["/auto.xml"], "seen entries fetch no page again"


def test_the_feed_setting_always_fetches_and_never_does_not(site: LocalHTTPServer, settings: Settings) -> None:
    never = add(site.url("/never.xml"), FullTextMode.NEVER)
    always = add(site.url("/always.xml"), FullTextMode.ALWAYS)
    cycle = run_cycle(settings, include_not_due=True)  # both feeds in one batch, on the fetch threads
    assert cycle.feeds_polled == 2 and cycle.new_articles == 2
    assert not site.requests_to("/never")
    assert stored(never) == {"/never": (None, False)}
    text, relevant = stored(always)["/plain"]
    assert text and "visible marks" in text
    assert relevant, "a headline with no evidence at all is decided by the page when the feed says always"


def test_a_poll_waits_for_pages_no_longer_than_its_budget(
    site: LocalHTTPServer, settings: Settings, env: pytest.MonkeyPatch
) -> None:
    env.setenv("FULL_TEXT_POLL_BUDGET_SECONDS", "1.5")
    get_settings.cache_clear()
    items = [(f"Cyberspace Administration issues slow notice {n}", f"/slow{n}") for n in range(4)]
    for _, path in items:
        site.routes[path] = Response(200, page("Slow", EN_BODY).encode(), HTML, delay_s=6)
    site.routes["/slow.xml"] = Response(200, rss(site, items), {"Content-Type": "application/rss+xml"})
    feed_id = add(site.url("/slow.xml"))
    began = time.monotonic()
    report = poll(feed_id, get_settings())
    took = time.monotonic() - began
    assert report.new_articles == 4
    assert took < 1.5 + 2.0, f"the poll waited {took:.1f}s for pages"
    assert all(text is None for text, _ in stored(feed_id).values())
    with unit_of_work() as session:
        note = session.execute(select(FetchLog.error).where(FetchLog.feed_id == feed_id)).scalar_one()
    assert note and "poll budget spent" in note
