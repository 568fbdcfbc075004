"""Parse fetched bytes into entries with feedparser (which never fetches anything itself)."""
from __future__ import annotations

import calendar
from dataclasses import dataclass, field
from datetime import datetime, timezone

import feedparser

from services.ingest.normalise import plain_text


class ParseError(Exception):
    """The document is not a feed at all."""


@dataclass
class Entry:
    guid: str | None
    link: str | None
    title: str
    summary: str
    summary_html: str | None
    published: datetime | None
    author: str | None


@dataclass
class ParsedFeed:
    title: str | None
    site_url: str | None
    language: str | None
    entries: list[Entry] = field(default_factory=list)
    warning: str | None = None


def _entry_time(entry: feedparser.FeedParserDict) -> datetime | None:
    for key in ("published_parsed", "updated_parsed", "created_parsed"):
        value = entry.get(key)
        if value:
            try:
                return datetime.fromtimestamp(calendar.timegm(value), tz=timezone.utc)
            except (OverflowError, ValueError, OSError):
                continue
    return None


def parse_feed(body: bytes, url: str | None = None) -> ParsedFeed:
    """Entries of an RSS/Atom document; raise ParseError if nothing in it is a feed."""
    body = body.lstrip()
    result = feedparser.parse(body, sanitize_html=False, resolve_relative_uris=False)
    feed = result.get("feed", {})
    warning = None
    if result.get("bozo"):
        exc = result.get("bozo_exception")
        warning = f"malformed feed: {type(exc).__name__}: {exc}"[:500]
    if not result.entries and not feed.get("title") and result.get("version", "") == "":
        raise ParseError(warning or "not a feed: no RSS, Atom or RDF document found")
    entries = []
    for raw in result.entries:
        html = raw.get("summary") or ""
        if not html and raw.get("content"):
            html = raw["content"][0].get("value") or ""
        entries.append(
            Entry(
                guid=(raw.get("id") or None),
                link=(raw.get("link") or None),
                title=plain_text(raw.get("title"), limit=1000),
                summary=plain_text(html, limit=5000),
                summary_html=html or None,
                published=_entry_time(raw),
                author=plain_text(raw.get("author"), limit=200) or None,
            )
        )
    return ParsedFeed(
        title=plain_text(feed.get("title"), limit=500) or None,
        site_url=feed.get("link") or None,
        language=feed.get("language") or None,
        entries=entries,
        warning=warning,
    )
