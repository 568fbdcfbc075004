"""Fetch a feed over HTTP: conditional GET, size and time limits, redirects, Retry-After."""
from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from pathlib import Path
from urllib.parse import urlsplit
from urllib.request import url2pathname

import httpx

from services.settings import Settings


class FetchError(Exception):
    """The feed could not be fetched; ``reason`` is what the operator sees."""

    def __init__(self, reason: str, status: int | None = None, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status
        self.retry_after = retry_after


@dataclass
class FetchResult:
    status: int
    body: bytes
    url: str
    etag: str | None = None
    last_modified: str | None = None
    content_type: str | None = None
    permanent_redirect_to: str | None = None

    @property
    def not_modified(self) -> bool:
        return self.status == 304


def retry_after_seconds(value: str | None, now: datetime | None = None) -> float | None:
    """Retry-After as seconds: either delta-seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, (when - (now or datetime.now(timezone.utc))).total_seconds())


def fetch_feed(
    url: str,
    settings: Settings,
    *,
    etag: str | None = None,
    last_modified: str | None = None,
    client: httpx.Client | None = None,
) -> FetchResult:
    """GET ``url`` once, within the configured limits; raise FetchError with a clear reason on failure."""
    if url.startswith("file:"):
        return _read_file(url, settings)
    headers = {"User-Agent": settings.fetch_user_agent, "Accept": "application/rss+xml, application/atom+xml, application/feed+json, application/xml;q=0.9, */*;q=0.8"}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    own_client = client is None
    client = client or httpx.Client(timeout=httpx.Timeout(settings.fetch_timeout_s), follow_redirects=False)
    try:
        return _get_following_redirects(client, url, headers, settings)
    except httpx.TimeoutException as exc:
        raise FetchError(f"timed out: {type(exc).__name__}") from exc
    except httpx.HTTPError as exc:
        raise FetchError(f"network error: {type(exc).__name__}: {exc}") from exc
    finally:
        if own_client:
            client.close()


def _get_following_redirects(client: httpx.Client, url: str, headers: dict[str, str], settings: Settings) -> FetchResult:
    deadline = time.monotonic() + settings.fetch_deadline_s
    permanent_to: str | None = None
    all_permanent = True
    for _ in range(6):
        with client.stream("GET", url, headers=headers) as response:
            if response.is_redirect:
                location = response.headers.get("Location")
                if not location:
                    raise FetchError(f"HTTP {response.status_code} redirect without Location", response.status_code)
                url = str(response.url.join(location))
                if response.status_code in (301, 308) and all_permanent:
                    permanent_to = url
                else:
                    all_permanent = False
                    permanent_to = None
                continue
            if response.status_code == 304:
                return FetchResult(304, b"", url, etag=headers.get("If-None-Match"), last_modified=headers.get("If-Modified-Since"), permanent_redirect_to=permanent_to)
            if response.status_code >= 400:
                raise FetchError(
                    f"HTTP {response.status_code} {response.reason_phrase}".strip(),
                    response.status_code,
                    retry_after_seconds(response.headers.get("Retry-After")),
                )
            body = _read_limited(response, settings.fetch_max_bytes, deadline)
            return FetchResult(
                response.status_code,
                body,
                url,
                etag=response.headers.get("ETag"),
                last_modified=response.headers.get("Last-Modified"),
                content_type=response.headers.get("Content-Type"),
                permanent_redirect_to=permanent_to,
            )
    raise FetchError("too many redirects (more than 5)")


def _read_limited(response: httpx.Response, max_bytes: int, deadline: float) -> bytes:
    declared = response.headers.get("Content-Length")
    if declared and declared.isdigit() and int(declared) > max_bytes:
        raise FetchError(f"body of {int(declared)} bytes exceeds the limit of {max_bytes} bytes", response.status_code)
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_bytes():
        size += len(chunk)
        if size > max_bytes:
            raise FetchError(f"body exceeds the limit of {max_bytes} bytes", response.status_code)
        if time.monotonic() > deadline:
            raise FetchError("timed out: total deadline for the fetch exceeded", response.status_code)
        chunks.append(chunk)
    return b"".join(chunks)


def _read_file(url: str, settings: Settings) -> FetchResult:
    if not settings.fetch_allow_file_urls:
        raise FetchError("file: URLs are refused; set FETCH_ALLOW_FILE_URLS=true to read local sample feeds")
    path = Path(url2pathname(urlsplit(url).path))
    try:
        size = path.stat().st_size
        if size > settings.fetch_max_bytes:
            raise FetchError(f"file of {size} bytes exceeds the limit of {settings.fetch_max_bytes} bytes")
        return FetchResult(200, path.read_bytes(), url)
    except OSError as exc:
        raise FetchError(f"cannot read {path}: {exc.strerror}") from exc
