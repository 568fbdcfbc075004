"""What a feed document yields: raw entries as published, then entries normalised and ready to store."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass
class RawEntry:
    """One entry as the document gives it (from feedparser or the JSON Feed reader), before normalisation."""

    guid: str | None
    link: str | None
    title: str | None
    summary_html: str | None
    published_raw: str | None = None
    published: datetime | None = None
    author: str | None = None


@dataclass
class RawFeed:
    title: str | None
    site_url: str | None
    language: str | None
    version: str
    entries: list[RawEntry] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


@dataclass
class Entry:
    """A normalised entry: plain-text title and summary, sanitised HTML, canonical URL, UTC time, dedupe keys."""

    key: str
    guid: str | None
    link: str | None
    canonical_url: str | None
    title: str
    summary: str
    summary_html: str | None
    published: datetime | None
    author: str | None
    language: str
    fingerprint: str
    features: list[int] = field(default_factory=list)
    #: Main text of the article's page, when the poll fetched it (services.ingest.fulltext).
    full_text: str | None = None


@dataclass
class ParsedFeed:
    title: str | None
    site_url: str | None
    language: str | None
    version: str
    entries: list[Entry] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    entries_per_day: float | None = None

    @property
    def warning(self) -> str | None:
        return "; ".join(self.warnings)[:2000] or None
