"""JSON Feed 1.0/1.1 (https://jsonfeed.org/version/1.1): a small reader into the same raw entries feedparser gives."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

from services.ingest.entries import RawEntry, RawFeed


class JSONFeedError(ValueError):
    pass


def looks_like_json_feed(text: str, content_type: str | None = None) -> bool:
    if content_type and "json" in content_type.lower():
        return True
    return text[:1] == "{"


def _text(value: Any) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None


def _date(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        when = datetime.fromisoformat(value.strip().replace("z", "Z"))
    except ValueError:
        return None
    return when.replace(tzinfo=timezone.utc) if when.tzinfo is None else when.astimezone(timezone.utc)


def _author(item: dict[str, Any]) -> str | None:
    authors = item.get("authors")
    if isinstance(authors, list):
        names = [a["name"] for a in authors if isinstance(a, dict) and isinstance(a.get("name"), str)]
        if names:
            return ", ".join(names)
    author = item.get("author")
    return _text(author.get("name")) if isinstance(author, dict) else None


def read_json_feed(text: str) -> RawFeed:
    """Entries of a JSON Feed document; raise JSONFeedError when it is not one."""
    try:
        data = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise JSONFeedError(f"not a JSON Feed: invalid JSON ({exc})"[:300]) from None
    if not isinstance(data, dict) or not isinstance(data.get("items"), list):
        raise JSONFeedError("not a JSON Feed: no 'items' list")
    version = str(data.get("version") or "")
    entries = []
    for item in data["items"]:
        if not isinstance(item, dict):
            continue
        html = _text(item.get("content_html")) or _text(item.get("summary")) or _text(item.get("content_text"))
        entries.append(
            RawEntry(
                guid=_text(str(item["id"])) if item.get("id") is not None else None,
                link=_text(item.get("url")) or _text(item.get("external_url")),
                title=_text(item.get("title")),
                summary_html=html,
                published_raw=_text(item.get("date_published")) or _text(item.get("date_modified")),
                published=_date(item.get("date_published")) or _date(item.get("date_modified")),
                author=_author(item),
            )
        )
    return RawFeed(
        title=_text(data.get("title")),
        site_url=_text(data.get("home_page_url")),
        language=_text(data.get("language")),
        version="json" + (version.rsplit("/", 1)[-1].replace(".", "") if version else ""),
        entries=entries,
    )
