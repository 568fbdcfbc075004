"""The source catalogue (config/default_feeds.yaml): a schema, offline validation, and RSSHub resolution.

Each entry names its folder, language, kind and a one-line note, and is reached either by a direct
feed ``url`` or by an RSSHub ``rsshub`` route (``/gov/miit/zcwj``) for sources that publish no feed.
Routes are resolved against RSSHUB_BASE_URL; without it they are skipped, each with a note saying so.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Literal
from urllib.parse import urlsplit

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from db.enums import FullTextMode
from services.feeds.registry import FeedError, FeedSpec

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from services.feeds.files import FeedImport


class SourceKind(StrEnum):
    REGULATOR = "regulator"
    STATE_MEDIA = "state_media"
    TECH_PRESS = "tech_press"
    LAB = "lab"
    THINK_TANK = "think_tank"
    NEWSLETTER = "newsletter"
    FINANCIAL_PRESS = "financial_press"
    US_GOVERNMENT = "us_government"


#: Kinds that count as regulators or government bodies.
GOVERNMENT_KINDS = frozenset({SourceKind.REGULATOR, SourceKind.US_GOVERNMENT})
RSSHUB_ROUTE = re.compile(r"^/[a-z0-9][a-z0-9_-]*(/[A-Za-z0-9_.%=&-]+)*$")
_HOST = re.compile(r"^(?=.{4,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")


class CatalogueEntry(BaseModel):
    """One source. Exactly one of ``url`` and ``rsshub``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    title: str = Field(min_length=2, max_length=120)
    folder: str = Field(min_length=2, max_length=60)
    language: Literal["en", "zh-Hans", "zh-Hant"]
    kind: SourceKind
    note: str = Field(min_length=10, max_length=200)
    url: str | None = None
    rsshub: str | None = None
    #: Full text setting for the feed; unset: ``always`` for RSSHub routes (they give titles only), else ``auto``.
    full_text: FullTextMode | None = None

    @field_validator("title", "folder", "note")
    @classmethod
    def _one_line(cls, value: str) -> str:
        if value != value.strip() or "\n" in value or "\r" in value:
            raise ValueError("must be one line without surrounding spaces")
        return value

    @field_validator("url")
    @classmethod
    def _url_shape(cls, value: str | None) -> str | None:
        if value is None:
            return value
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not _HOST.match(parts.hostname or "") or " " in value:
            raise ValueError(f"not an http(s) feed URL with a public host name: {value!r}")
        return value

    @field_validator("rsshub")
    @classmethod
    def _route_shape(cls, value: str | None) -> str | None:
        if value is not None and not RSSHUB_ROUTE.match(value):
            raise ValueError(f"not an RSSHub route like /gov/miit/zcwj: {value!r}")
        return value

    @model_validator(mode="after")
    def _one_way_in(self) -> CatalogueEntry:
        if (self.url is None) == (self.rsshub is None):
            raise ValueError("give exactly one of url and rsshub")
        return self

    @property
    def is_chinese(self) -> bool:
        return self.language.startswith("zh")


@dataclass(frozen=True)
class Resolved:
    specs: list[FeedSpec]
    skipped: list[str]


def load_catalogue(path: Path) -> list[CatalogueEntry]:
    """Every entry of the catalogue, validated; FeedError naming the entry and field otherwise."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise FeedError(f"{path}: not valid YAML: {str(exc).splitlines()[0]}") from None
    items = data.get("feeds") if isinstance(data, dict) else None
    if not isinstance(items, list):
        raise FeedError(f"{path}: expected a list of sources under 'feeds:'")
    entries = []
    for number, item in enumerate(items, 1):
        try:
            entries.append(CatalogueEntry.model_validate(item))
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or "entry"
            title = item.get("title") if isinstance(item, dict) else None
            raise FeedError(f"{path}: source #{number} ({title or '?'}): {where}: {first['msg']}") from None
    duplicates = [key for key, count in Counter(e.url or e.rsshub for e in entries).items() if count > 1]
    duplicates += [title for title, count in Counter(e.title.casefold() for e in entries).items() if count > 1]
    if duplicates:
        raise FeedError(f"{path}: listed twice: {', '.join(map(str, duplicates))}")
    return entries


def rsshub_url(base_url: str, route: str) -> str:
    return base_url.rstrip("/") + route


def resolve_sources(entries: Sequence[CatalogueEntry], rsshub_base_url: str | None) -> Resolved:
    """Feed specs for the entries; RSSHub routes need ``rsshub_base_url`` and are skipped, with a note, without it."""
    specs: list[FeedSpec] = []
    skipped: list[str] = []
    for entry in entries:
        if entry.url is not None:
            url = entry.url
        elif rsshub_base_url:
            url = rsshub_url(rsshub_base_url, entry.rsshub or "")
        else:
            skipped.append(f"skipped {entry.title} (rsshub:{entry.rsshub}): RSSHUB_BASE_URL is not set")
            continue
        mode = entry.full_text or (FullTextMode.ALWAYS if entry.url is None else None)
        specs.append(
            FeedSpec(
                url=url,
                title=entry.title,
                folder=entry.folder,
                language=entry.language,
                note=entry.note,
                full_text=mode,
            )
        )
    return Resolved(specs, skipped)


def import_catalogue(
    session: Session, path: Path, folders: Sequence[str], rsshub_base_url: str | None
) -> tuple[FeedImport, list[str]]:
    """Add (or update) the catalogue's sources in ``folders`` (all when empty); return the import and the
    notes of the RSSHub sources skipped for want of ``rsshub_base_url``."""
    from services.feeds.files import add_specs
    from services.feeds.folders import in_folders

    resolved = resolve_sources(in_folders(load_catalogue(path), folders), rsshub_base_url)
    return add_specs(session, path, resolved.specs, []), resolved.skipped
