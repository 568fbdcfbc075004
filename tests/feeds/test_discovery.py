"""`cnai feeds add` given a web page finds the page's feeds; given a feed, keeps it."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from cli.main import cli
from services.feeds.discovery import discover_feed_urls, feed_links
from services.feeds.registry import FeedError
from services.settings import Settings
from tests.support.http import LocalHTTPServer, Response

PAGE = """<!doctype html><html><head><title>Harbour Daily</title>
<link rel="stylesheet" href="/style.css">
<link rel="alternate" type="application/rss+xml" title="All news" href="/feeds/all.rss">
<link rel="alternate" type="application/atom+xml" title="China desk" href="https://cdn.example/china.atom">
<link rel="alternate feed" type="application/feed+json" href="feeds/all.json">
<link rel="alternate" type="application/json" href="/wp-json/wp/v2/posts/1">
<link rel="alternate" hreflang="zh" href="/zh/">
</head><body><a href="/rss">not a link element</a></body></html>"""
RSS = b'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title><item><title>Hello</title><guid>1</guid></item></channel></rss>'


def settings() -> Settings:
    return Settings(
        FETCH_ALLOWED_NETWORKS="127.0.0.0/8",
        FETCH_TIMEOUT_SECONDS=1,
        FETCH_DEADLINE_SECONDS=2,
        FETCH_PER_HOST_GAP_SECONDS=0,
    )  # type: ignore[call-arg]


def test_feed_links_are_read_from_link_elements_only() -> None:
    assert feed_links(PAGE, "https://harbour.example/news/") == [
        "https://harbour.example/feeds/all.rss",
        "https://cdn.example/china.atom",
        "https://harbour.example/news/feeds/all.json",
    ]
    assert feed_links(
        '<base href="https://base.example/x/"><link rel=alternate type=application/rss+xml href=rss>',
        "https://a.example/",
    ) == ["https://base.example/x/rss"]


def test_a_page_is_replaced_by_its_feeds_and_a_feed_is_kept(http_server: LocalHTTPServer) -> None:
    http_server.routes["/"] = Response(200, PAGE.encode(), {"Content-Type": "text/html; charset=utf-8"})
    http_server.routes["/feed.xml"] = Response(200, RSS, {"Content-Type": "application/xml"})
    http_server.routes["/plain"] = Response(
        200, b"<html><head></head><body>nothing</body></html>", {"Content-Type": "text/html"}
    )

    assert discover_feed_urls(http_server.url("/"), settings())[:2] == [
        http_server.url("/feeds/all.rss"),
        "https://cdn.example/china.atom",
    ]
    assert discover_feed_urls(http_server.url("/feed.xml"), settings()) == [http_server.url("/feed.xml")]
    with pytest.raises(FeedError, match="links to no RSS, Atom or JSON feed"):
        discover_feed_urls(http_server.url("/plain"), settings())


def test_discovery_obeys_the_fetch_rules(http_server: LocalHTTPServer) -> None:
    http_server.routes["/"] = Response(200, PAGE.encode(), {"Content-Type": "text/html"})
    closed = Settings(FETCH_ALLOWED_NETWORKS="", FETCH_PER_HOST_GAP_SECONDS=0)  # type: ignore[call-arg]
    with pytest.raises(FeedError, match="loopback address; allow it with FETCH_ALLOWED_NETWORKS=127.0.0.0/8"):
        discover_feed_urls(http_server.url("/"), closed)


def test_cnai_feeds_add_discovers_from_a_page(
    env: pytest.MonkeyPatch, sqlite_url: str, http_server: LocalHTTPServer
) -> None:
    env.setenv("DATABASE_URL", sqlite_url)
    env.setenv("FETCH_ALLOWED_NETWORKS", "127.0.0.0/8")
    env.setenv("FETCH_PER_HOST_GAP_SECONDS", "0")
    http_server.routes["/"] = Response(200, PAGE.encode(), {"Content-Type": "text/html"})

    result = CliRunner().invoke(cli, ["feeds", "add", http_server.url("/"), "--folder", "News/Harbour"])
    assert result.exit_code == 0, result.output
    assert f"added feed 1: {http_server.url('/feeds/all.rss')}" in result.output
    assert "added feed 2: https://cdn.example/china.atom" in result.output

    listed = CliRunner().invoke(cli, ["feeds", "list", "--format", "json"])
    assert listed.exit_code == 0 and listed.output.count('"folder": "News/Harbour"') == 3
