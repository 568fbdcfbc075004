"""Fetched bytes → normalised entries. Parsed once, by feedparser (XML) or our JSON Feed reader.

feedparser is given a file object, never a URL or a string it might open, and runs with
``sanitize_html=False, resolve_relative_uris=False`` (its sanitiser is half its time);
only what we keep is sanitised, by nh3. Before parsing, the document is decoded whatever
its declared charset (see charset.py), leading whitespace is dropped, and any DOCTYPE is
removed: entity declarations are the vehicle of billion-laughs, quadratic-blowup and XXE
attacks, and feeds have no use for them. (feedparser's expat parser also has external
entities switched off; removing the DOCTYPE makes that belt and braces.)
"""

from __future__ import annotations

import calendar
import io
import re
from datetime import datetime, timedelta, timezone
from urllib.parse import urljoin

import feedparser

from services.ingest.charset import as_utf8_document, decode_document
from services.ingest.entries import Entry, ParsedFeed, RawEntry, RawFeed
from services.ingest.jsonfeed import JSONFeedError, looks_like_json_feed, read_json_feed
from services.ingest.normalise import (
    canonical_url,
    clean_identifier,
    detect_language,
    fingerprint,
    plain_text,
    sanitised_html,
)
from services.ingest.schedule import publishing_rate
from services.ingest.stories import story_features

MAX_ENTRIES = 10_000
TITLE_LIMIT = 1000
SUMMARY_LIMIT = 5000
AUTHOR_LIMIT = 200
MAX_KEY_CHARS = 200
EARLIEST_PLAUSIBLE = datetime(1980, 1, 1, tzinfo=timezone.utc)
FUTURE_SLACK = timedelta(days=1)

_DOCTYPE_START = re.compile(r"<!DOCTYPE\b", re.I)
_FIRST_ELEMENT = re.compile(r"<[A-Za-z_]")
_BAD_OFFSET = re.compile(r"(?:[+-](?:1[5-9]|[2-9]\d):?\d\d|[+-]\d\d:?[6-9]\d)\s*$")


class ParseError(Exception):
    """The document is not a feed at all."""


def _remove_doctype(text: str) -> tuple[str, str | None]:
    """The document without its DOCTYPE, and a warning when the DOCTYPE declared entities."""
    first = _FIRST_ELEMENT.search(text)
    prolog_end = first.start() if first else len(text)
    start_match = _DOCTYPE_START.search(text, 0, prolog_end)
    if start_match is None:
        return text, None
    start = start_match.start()
    bracket = text.find("[", start, prolog_end)
    close = text.find(">", start)
    if bracket != -1 and (close == -1 or bracket < close):
        subset_end = text.find("]", bracket)
        end_match = re.compile(r"\]\s*>").search(text, subset_end if subset_end != -1 else bracket)
        if end_match is None:
            raise ParseError("malformed DOCTYPE: its internal subset never ends")
        end = end_match.end()
    elif close != -1:
        end = close + 1
    else:
        raise ParseError("malformed DOCTYPE: never closed")
    doctype = text[start:end]
    warning = None
    if "<!ENTITY" in doctype.upper():
        warning = "removed a DOCTYPE declaring entities (never expanded: billion-laughs/XXE protection)"
    elif "SYSTEM" in doctype.upper() or "PUBLIC" in doctype.upper():
        warning = (
            None if "netscape" in doctype.lower() else "removed a DOCTYPE referring to an external DTD (never fetched)"
        )
    return text[:start] + text[end:], warning


def _struct_time(value: object) -> datetime | None:
    try:
        return datetime.fromtimestamp(calendar.timegm(value), tz=timezone.utc)  # type: ignore[arg-type]  # feedparser gives a time.struct_time; anything else raises and returns None
    except (OverflowError, ValueError, OSError, TypeError):
        return None


def plausible_time(when: datetime | None, raw: str | None, now: datetime) -> datetime | None:
    """A publication time, or None when it is absurd (year 0/9999, impossible offsets, epoch placeholders).

    Slightly future times (a wrong zone) are clamped to ``now``; more than a day ahead is treated as missing.
    """
    if when is None or (raw and _BAD_OFFSET.search(raw.strip())):
        return None
    if when < EARLIEST_PLAUSIBLE or when > now + FUTURE_SLACK:
        return None
    return min(when, now)


def _xml_feed(document: bytes) -> RawFeed:
    result = feedparser.parse(io.BytesIO(document), sanitize_html=False, resolve_relative_uris=False)
    feed = result.get("feed", {})
    warnings = []
    if result.get("bozo"):
        exc = result.get("bozo_exception")
        warnings.append(f"malformed feed: {type(exc).__name__}: {exc}"[:500])
    version = result.get("version", "") or ""
    if not result.entries and not version:
        reason = warnings[0] if warnings else "no RSS, Atom or RDF root element"
        raise ParseError(f"not a feed: {reason}")
    entries = []
    for raw in result.entries[:MAX_ENTRIES]:
        html = raw.get("summary") or ""
        if not html and raw.get("content"):
            html = raw["content"][0].get("value") or ""
        published = None
        published_raw = None
        for key in ("published", "updated", "created"):
            parsed = raw.get(key + "_parsed")
            if parsed:
                published, published_raw = _struct_time(parsed), raw.get(key)
                break
        entries.append(
            RawEntry(
                guid=raw.get("id") or None,
                link=raw.get("link") or None,
                title=raw.get("title"),
                summary_html=html or None,
                published_raw=published_raw,
                published=published,
                author=raw.get("author"),
            )
        )
    if len(result.entries) > MAX_ENTRIES:
        warnings.append(f"{len(result.entries)} entries; only the first {MAX_ENTRIES} are kept")
    return RawFeed(
        title=feed.get("title"),
        site_url=feed.get("link"),
        language=feed.get("language"),
        version=version or "unknown",
        entries=entries,
        warnings=warnings,
    )


def read_document(body: bytes, content_type: str | None = None) -> RawFeed:
    """Decode and parse a feed document into raw entries; raise ParseError if it is not a feed."""
    if not body.strip():
        raise ParseError("not a feed: empty document")
    decoded = decode_document(body, content_type)
    warnings = [decoded.warning] if decoded.warning else []
    text = decoded.text.lstrip("\ufeff \t\r\n")
    if looks_like_json_feed(text, content_type):
        try:
            raw = read_json_feed(text)
        except JSONFeedError as exc:
            raise ParseError(str(exc)) from None
    else:
        text, doctype_warning = _remove_doctype(text)
        if doctype_warning:
            warnings.append(doctype_warning)
        raw = _xml_feed(as_utf8_document(text))
    raw.warnings[:0] = warnings
    return raw


def entry_key(guid: str | None, canonical: str | None, fp: str) -> str:
    """What identifies an entry within its feed: GUID, else canonical link, else content fingerprint.

    Long keys are replaced by a hash so the (feed_id, entry_key) index stays small on every backend.
    """
    if guid:
        key = "guid:" + guid
    elif canonical:
        key = "url:" + canonical
    else:
        return "fp:" + fp
    if len(key) > MAX_KEY_CHARS:
        import hashlib

        key = key.split(":", 1)[0] + ":sha256:" + hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()
    return key


def absolute_link(link: str | None, base: str | None) -> str | None:
    """An http(s) link, relative ones resolved against the feed's own URL; None for anything else."""
    if not link:
        return None
    if base and not link.lower().startswith(("http://", "https://")):
        link = urljoin(base, link)
    return link if link.lower().startswith(("http://", "https://")) else None


def normalise_entries(raw: RawFeed, now: datetime, url: str | None = None) -> ParsedFeed:
    """Plain text, sanitised HTML, canonical links, plausible UTC times, dedupe keys; one entry per key."""
    parsed = ParsedFeed(
        title=plain_text(raw.title, limit=500) or None,
        site_url=clean_identifier(raw.site_url),
        language=plain_text(raw.language, limit=16) or None,
        version=raw.version,
        warnings=list(raw.warnings),
    )
    base = url if url and url.lower().startswith(("http://", "https://")) else parsed.site_url
    seen: set[str] = set()
    dropped = duplicates = 0
    for item in raw.entries:
        title = plain_text(item.title, limit=TITLE_LIMIT)
        summary = plain_text(item.summary_html, limit=SUMMARY_LIMIT)
        if not title and not summary:
            dropped += 1
            continue
        guid = clean_identifier(item.guid)
        link = absolute_link(clean_identifier(item.link), base)
        canonical = canonical_url(link)
        fp = fingerprint(title, summary)
        key = entry_key(guid, canonical, fp)
        if key in seen:
            duplicates += 1
            continue
        seen.add(key)
        parsed.entries.append(
            Entry(
                key=key,
                guid=guid,
                link=link,
                canonical_url=canonical,
                title=title or summary[:200],
                summary=summary,
                summary_html=sanitised_html(item.summary_html),
                published=plausible_time(item.published, item.published_raw, now),
                author=plain_text(item.author, limit=AUTHOR_LIMIT) or None,
                language=detect_language(title + " " + summary[:500]),
                fingerprint=fp,
            )
        )
    story_features(parsed.entries)
    if duplicates:
        parsed.warnings.append(f"{duplicates} duplicate entries (same GUID or link) skipped")
    if dropped:
        parsed.warnings.append(f"{dropped} entries without title or summary skipped")
    parsed.entries_per_day = publishing_rate([e.published for e in parsed.entries], now)
    return parsed


def parse_feed(
    body: bytes, url: str | None = None, *, content_type: str | None = None, now: datetime | None = None
) -> ParsedFeed:
    """Entries of an RSS/Atom/RDF/JSON Feed document; raise ParseError if nothing in it is a feed."""
    return normalise_entries(read_document(body, content_type), now or datetime.now(timezone.utc), url)
