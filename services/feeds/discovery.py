"""Find the feeds of a web page: `cnai feeds add https://example.com/` adds the site's RSS/Atom/JSON feeds.

The page is fetched like a feed (same SSRF checks, size and time limits). If it already is a
feed, its URL is the answer; otherwise the page's ``<link rel="alternate">`` elements with a
feed type are read (relative links resolved against ``<base href>`` or the page URL).
"""

from __future__ import annotations

from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

from services.feeds.registry import FeedError
from services.ingest.charset import decode_document
from services.ingest.fetch import FetchError, fetch_feed
from services.ingest.parse import ParseError, read_document
from services.settings import Settings

FEED_TYPES = frozenset(
    {
        "application/rss+xml",
        "application/atom+xml",
        "application/feed+json",
        "application/json",
        "application/rdf+xml",
        "application/x.atom+xml",
        "application/x-atom+xml",
        "text/xml",
        "application/xml",
    }
)


class _FeedLinks(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.base: str | None = None
        self.links: list[tuple[str, str]] = []  # (href, type)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k.lower(): (v or "").strip() for k, v in attrs}
        if tag == "base" and values.get("href") and self.base is None:
            self.base = values["href"]
        elif tag == "link":
            rels = values.get("rel", "").lower().split()
            kind = values.get("type", "").lower().split(";")[0].strip()
            if "alternate" in rels and kind in FEED_TYPES and values.get("href"):
                self.links.append((values["href"], kind))

    handle_startendtag = handle_starttag


def feed_links(html: str, page_url: str) -> list[str]:
    """Absolute http(s) URLs of the feeds a page links to with ``<link rel="alternate" type="...">``, in page order."""
    parser = _FeedLinks()
    parser.feed(html)
    parser.close()
    base = urljoin(page_url, parser.base) if parser.base else page_url
    found: list[str] = []
    for href, kind in parser.links:
        if kind == "application/json" and "feed" not in href.lower():
            continue  # a generic JSON alternate (e.g. oEmbed, an API) is not a feed
        url = urljoin(base, href)
        if urlsplit(url).scheme in {"http", "https"} and url not in found:
            found.append(url)
    return found


def discover_feed_urls(url: str, settings: Settings) -> list[str]:
    """The feed URLs for ``url``: itself when it is a feed, else the feeds its page links to."""
    try:
        result = fetch_feed(url, settings)
    except FetchError as exc:
        raise FeedError(exc.reason) from None
    final_url = result.permanent_redirect_to or url
    content_type = (result.content_type or "").lower()
    if "html" not in content_type:
        try:
            raw = read_document(result.body, result.content_type)
        except ParseError:
            raw = None
        if raw is not None and (raw.entries or raw.version != "unknown"):
            return [final_url]
    links = feed_links(decode_document(result.body, result.content_type).text, result.url)
    if not links:
        raise FeedError(f'{url} is not a feed and links to no RSS, Atom or JSON feed (no <link rel="alternate">)')
    return links
