"""Feeds the monitor polls."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from db.enums import FeedHealth, FullTextMode
from db.models import Feed


class FeedError(ValueError):
    """A feed cannot be added or found; the message says why."""


@dataclass
class FeedSpec:
    url: str
    title: str | None = None
    folder: str | None = None
    language: str | None = None
    note: str | None = None
    site_url: str | None = None
    #: When the poll fetches article pages for their main text; None keeps the feed's setting (auto for a new feed).
    full_text: FullTextMode | None = None


def parse_full_text_mode(value: object) -> FullTextMode:
    """A ``full_text`` setting as given in a file or on the command line: auto, always or never."""
    try:
        return FullTextMode(str(value).strip().lower())
    except ValueError:
        raise FeedError(f"full_text must be one of {', '.join(m.value for m in FullTextMode)}, not {value!r}") from None


def validate_feed_url(url: str) -> str:
    url = url.strip()
    parts = urlsplit(url)
    if parts.scheme == "file":
        return url
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise FeedError(f"not an http(s) feed URL: {url!r}")
    return url


def add_feed(session: Session, spec: FeedSpec, now: datetime | None = None) -> tuple[Feed, bool]:
    """Add a feed (due at once), or update the details of an existing one. Returns (feed, created)."""
    url = validate_feed_url(spec.url)
    feed = session.execute(select(Feed).where(Feed.url == url)).scalar_one_or_none()
    created = feed is None
    if feed is None:
        feed = Feed(url=url, next_poll_at=now or datetime.now(timezone.utc), consecutive_failures=0)
        session.add(feed)
    for name in ("title", "folder", "language", "note", "site_url", "full_text"):
        value = getattr(spec, name)
        if value:
            setattr(feed, name, value)
    session.flush()
    return feed, created


def find_feed(session: Session, ref: str) -> Feed:
    """A feed by id or URL."""
    feed = (
        session.get(Feed, int(ref))
        if ref.isdigit()
        else session.execute(select(Feed).where(Feed.url == ref.strip())).scalar_one_or_none()
    )
    if feed is None:
        raise FeedError(f"no feed {ref!r} (give its id or URL; see `cnai feeds list`)")
    return feed


def remove_feed(session: Session, ref: str) -> Feed:
    feed = find_feed(session, ref)
    session.delete(feed)
    session.flush()
    return feed


def list_feeds(session: Session) -> list[Feed]:
    return list(session.execute(select(Feed).order_by(Feed.folder, Feed.id)).scalars())


@dataclass
class FeedView:
    """A feed as `cnai feeds list` (and a web page) shows it."""

    id: int
    url: str
    title: str | None
    folder: str | None
    language: str | None
    health: FeedHealth
    consecutive_failures: int
    last_error: str | None
    last_success_at: datetime | None
    next_poll_at: datetime
    disabled_reason: str | None
    full_text: str = FullTextMode.AUTO


def feed_overview(session: Session, *, folder: str | None = None) -> list[FeedView]:
    """Every feed (or those of ``folder``) with its health, by id."""
    query = select(Feed).order_by(Feed.id)
    if folder:
        query = query.where(Feed.folder == folder)
    return [
        FeedView(
            id=f.id,
            url=f.url,
            title=f.title,
            folder=f.folder,
            language=f.language,
            health=FeedHealth.DISABLED
            if f.disabled_at
            else (FeedHealth.FAILING if f.consecutive_failures else FeedHealth.OK),
            consecutive_failures=f.consecutive_failures,
            last_error=f.last_error,
            last_success_at=f.last_success_at,
            next_poll_at=f.next_poll_at,
            disabled_reason=f.disabled_reason,
            full_text=f.full_text,
        )
        for f in session.execute(query).scalars()
    ]


def feed_specs(session: Session) -> list[FeedSpec]:
    """Every feed as a spec, for export."""
    return [
        FeedSpec(f.url, f.title, f.folder, f.language, f.note, f.site_url, FullTextMode(f.full_text))
        for f in list_feeds(session)
    ]


def switch_off_feed(
    session: Session, *, ref: str, reason: str = "disabled by an operator", now: datetime | None = None
) -> Feed:
    """Stop polling the feed ``ref`` (id or URL) until `cnai feeds enable`; its articles stay."""
    feed = find_feed(session, ref)
    if feed.disabled_at is None:
        feed.disabled_at = now or datetime.now(timezone.utc)
        feed.disabled_reason = reason
        session.flush()
    return feed


def enable_feed(session: Session, ref: str, now: datetime | None = None) -> Feed:
    feed = find_feed(session, ref)
    if feed.disabled_at is not None:
        feed.backfill_pending = True  # its first poll after re-enabling does not alert the old items missed meanwhile
    feed.disabled_at = feed.disabled_reason = None
    feed.consecutive_failures = 0
    feed.next_poll_at = now or datetime.now(timezone.utc)
    session.flush()
    return feed
