"""Fetch a feed over HTTP: conditional GET, size and time limits, redirects, Retry-After, SSRF checks."""

from __future__ import annotations

import ipaddress
import os
import threading
import time
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from pathlib import Path
from urllib.parse import urljoin, urlsplit
from urllib.request import url2pathname

import httpx

from services.ingest.addresses import AddressPolicy, AddressRefused
from services.ingest.politeness import HostLimiter, host_limiter
from services.ingest.transport import GuardedTransport, fetch_deadline
from services.settings import Settings

MAX_REDIRECTS = 5
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
ACCEPT = (
    "application/rss+xml, application/atom+xml, application/feed+json, application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5"
)
MAX_RETRY_AFTER_S = 24 * 3600.0
#: Connections the per-process client keeps (open at once and idle keep-alive).
WORKER_CLIENT_CONNECTIONS = 32


class FetchError(Exception):
    """The feed could not be fetched; ``reason`` is what the operator sees."""

    def __init__(
        self, reason: str, status: int | None = None, retry_after: float | None = None, *, refused: bool = False
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status
        self.retry_after = retry_after
        self.refused = refused
        self.queued_s = 0.0


@dataclass
class FetchResult:
    status: int
    body: bytes
    url: str
    etag: str | None = None
    last_modified: str | None = None
    content_type: str | None = None
    permanent_redirect_to: str | None = None
    wire_bytes: int = 0
    queued_s: float = 0.0  # time spent waiting for the host's politeness slot, not fetching

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
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, (when - (now or datetime.now(timezone.utc))).total_seconds())


def build_client(settings: Settings, *, max_connections: int = 32) -> httpx.Client:
    """An HTTP client that connects only where AddressPolicy allows; reuse it for many fetches (thread-safe)."""
    transport = GuardedTransport(
        AddressPolicy(settings.allowed_networks),
        httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections),
    )
    timeout = httpx.Timeout(settings.fetch_timeout_s)
    return httpx.Client(transport=transport, timeout=timeout, follow_redirects=False, trust_env=False)


_clients: dict[tuple[object, ...], httpx.Client] = {}
_clients_lock = threading.Lock()


def _forget_clients() -> None:
    """In a forked child: the parent's pooled sockets are not ours; start with no client."""
    global _clients_lock
    _clients.clear()
    _clients_lock = threading.Lock()


os.register_at_fork(after_in_child=_forget_clients)


def worker_client(settings: Settings) -> httpx.Client:
    """This process's shared fetch client for these settings, built once and reused by every fetch.

    Reuse keeps one SSL context and the keep-alive connections of the process; every new
    connection still goes through the address policy (GuardedTransport), and the deadline,
    size and redirect limits are applied per fetch, so reuse relaxes no limit.
    """
    key = (settings.fetch_allowed_networks, settings.fetch_timeout_s)
    with _clients_lock:
        client = _clients.get(key)
        if client is None or client.is_closed:
            client = _clients[key] = build_client(settings, max_connections=WORKER_CLIENT_CONNECTIONS)
        return client


def fetch_feed(
    url: str,
    settings: Settings,
    *,
    etag: str | None = None,
    last_modified: str | None = None,
    client: httpx.Client | None = None,
    limiter: HostLimiter | None = None,
) -> FetchResult:
    """GET ``url`` once, within the configured limits; raise FetchError with a clear reason on failure."""
    scheme = urlsplit(url).scheme.lower()
    if scheme == "file":
        return _read_file(url, settings)
    if scheme not in {"http", "https"}:
        raise FetchError(
            f"refused to fetch {url}: only http, https (and file: with FETCH_ALLOW_FILE_URLS) are fetched", refused=True
        )
    headers = {"User-Agent": settings.fetch_user_agent, "Accept": ACCEPT, "Accept-Encoding": "gzip, deflate"}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    literal = _ip_literal(url)
    if literal is not None:  # refuse a forbidden IP at once: no politeness wait, no client, no socket
        reason = AddressPolicy(settings.allowed_networks).refusal(literal)
        if reason is not None:
            raise FetchError(f"refused to fetch {url}: {reason}", refused=True)
    client = client or worker_client(settings)
    limiter = limiter or host_limiter(settings.fetch_per_host_concurrency, settings.fetch_per_host_gap_s)
    return _get_following_redirects(client, limiter, url, headers, settings)


@contextmanager
def _plain_errors(hop: list[str], settings: Settings, deadline: float, queued: float) -> Iterator[None]:
    """Turn transport exceptions into FetchError with the operator's wording; note the politeness wait."""
    try:
        try:
            yield
        except AddressRefused as exc:
            raise FetchError(f"refused to fetch {hop[0]}: {exc.reason}", refused=True) from None
        except httpx.TimeoutException as exc:
            if time.monotonic() >= deadline - 0.05:
                raise FetchError(
                    f"timed out: no complete response within the total deadline of {settings.fetch_deadline_s:g}s "
                    "(FETCH_DEADLINE_SECONDS)"
                ) from None
            raise FetchError(_timeout_reason(exc, settings)) from None
        except httpx.InvalidURL as exc:
            raise FetchError(f"invalid URL {hop[0]!r}: {exc}") from None
        except httpx.HTTPError as exc:
            raise FetchError(f"network error: {type(exc).__name__}: {exc}") from None
    except FetchError as exc:
        exc.queued_s = queued
        raise


def _ip_literal(url: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        host = urlsplit(url).hostname
        return ipaddress.ip_address(host.split("%")[0]) if host else None
    except ValueError:
        return None


def _timeout_reason(exc: httpx.TimeoutException, settings: Settings) -> str:
    kind = {
        "ConnectTimeout": "connecting",
        "ReadTimeout": "waiting for data",
        "WriteTimeout": "sending",
        "PoolTimeout": "waiting for a connection",
    }
    return f"timed out {kind.get(type(exc).__name__, '')} after {settings.fetch_timeout_s:g}s (FETCH_TIMEOUT_SECONDS)".replace(
        "  ", " "
    )


def _get_following_redirects(
    client: httpx.Client, limiter: HostLimiter, url: str, headers: dict[str, str], settings: Settings
) -> FetchResult:
    """GET, following up to MAX_REDIRECTS redirects within one politeness slot and one deadline."""
    permanent_to: str | None = None
    all_permanent = True
    visited = {url}
    hop = [url]
    asked = time.monotonic()
    with limiter.slot(urlsplit(url).hostname or ""):
        deadline = time.monotonic() + settings.fetch_deadline_s
        queued = time.monotonic() - asked
        with fetch_deadline(deadline), _plain_errors(hop, settings, deadline, queued):
            for _hop in range(MAX_REDIRECTS + 1):
                hop[0] = url
                with client.stream("GET", url, headers=headers) as response:
                    if response.status_code not in REDIRECT_STATUSES:
                        result = _result(response, url, headers, permanent_to, settings, deadline)
                        result.queued_s = queued
                        return result
                    target = _redirect_target(response, url)
                if target in visited:
                    raise FetchError(f"redirect loop: {url} redirects back to {target}", response.status_code)
                visited.add(target)
                if response.status_code in (301, 308) and all_permanent:
                    permanent_to = target
                else:
                    all_permanent, permanent_to = False, None
                url = target
            raise FetchError(f"too many redirects (more than {MAX_REDIRECTS})")
    raise AssertionError("unreachable")


def _redirect_target(response: httpx.Response, url: str) -> str:
    location = response.headers.get("Location")
    if not location:
        raise FetchError(f"HTTP {response.status_code} redirect without Location", response.status_code)
    target = urljoin(url, location.strip())
    if urlsplit(target).scheme.lower() not in {"http", "https"}:
        raise FetchError(
            f"refused to follow the redirect from {url} to {target}: only http and https redirects are followed",
            response.status_code,
            refused=True,
        )
    return target


def _result(
    response: httpx.Response,
    url: str,
    headers: dict[str, str],
    permanent_to: str | None,
    settings: Settings,
    deadline: float,
) -> FetchResult:
    status = response.status_code
    if status == 304:
        return FetchResult(
            304,
            b"",
            url,
            etag=response.headers.get("ETag") or headers.get("If-None-Match"),
            last_modified=response.headers.get("Last-Modified") or headers.get("If-Modified-Since"),
            permanent_redirect_to=permanent_to,
        )
    if status >= 400 or status < 200:
        retry_after = None
        if status in (429, 503):
            retry_after = retry_after_seconds(response.headers.get("Retry-After"))
            if retry_after is not None:
                retry_after = min(retry_after, MAX_RETRY_AFTER_S)
        raise FetchError(f"HTTP {status} {response.reason_phrase}".strip(), status, retry_after)
    body, wire = _read_limited(response, settings.fetch_max_bytes, deadline)
    return FetchResult(
        status,
        body,
        url,
        etag=response.headers.get("ETag"),
        last_modified=response.headers.get("Last-Modified"),
        content_type=response.headers.get("Content-Type"),
        permanent_redirect_to=permanent_to,
        wire_bytes=wire,
    )


class _Decoder:
    """Undoes the Content-Encoding chain (e.g. "gzip" or "gzip, gzip") chunk by chunk, every stage capped at
    ``limit`` bytes of output, so a compression bomb is stopped after ``limit`` bytes, not after it exploded."""

    def __init__(self, header: str, limit: int, status: int) -> None:
        names = [n.strip().lower() for n in header.split(",") if n.strip() and n.strip().lower() != "identity"]
        for name in names:
            if name not in ("gzip", "x-gzip", "deflate"):
                raise FetchError(f"unsupported Content-Encoding {name!r}", status)
        if len(names) > 3:
            raise FetchError(f"Content-Encoding chain too long: {header!r}", status)
        self.names = list(reversed(names))  # the last applied is undone first
        self.stages: list[zlib._Decompress | None] = [None] * len(self.names)
        self.sizes = [0] * len(self.names)
        self.limit = limit
        self.status = status

    @property
    def active(self) -> bool:
        return bool(self.names)

    def _stage(self, i: int, data: bytes) -> zlib._Decompress:
        if self.stages[i] is None:
            if self.names[i] == "deflate" and not (
                len(data) >= 2 and data[0] & 0x0F == 8 and (data[0] << 8 | data[1]) % 31 == 0
            ):
                self.stages[i] = zlib.decompressobj(-zlib.MAX_WBITS)  # raw deflate, as some servers send
            else:
                self.stages[i] = zlib.decompressobj(
                    16 + zlib.MAX_WBITS if self.names[i] != "deflate" else zlib.MAX_WBITS
                )
        return self.stages[i]  # type: ignore[return-value]  # the stage was created just above

    def feed(self, data: bytes, final: bool = False) -> bytes:
        for i, name in enumerate(self.names):
            if not data and not final:
                return b""
            stage = self._stage(i, data) if data else self.stages[i]
            if stage is None:
                return b""
            try:
                out = stage.decompress(data, self.limit + 1 - self.sizes[i]) if data else b""
                if final and not stage.unconsumed_tail:
                    out += stage.flush()
            except zlib.error as exc:
                raise FetchError(f"corrupt {name} body: {exc}", self.status) from None
            self.sizes[i] += len(out)
            if self.sizes[i] > self.limit or stage.unconsumed_tail:
                raise FetchError(
                    f"decompressed body exceeds the limit of {self.limit} bytes (FETCH_MAX_BYTES): a compression bomb?",
                    self.status,
                )
            data = out
        return data


def _read_limited(response: httpx.Response, max_bytes: int, deadline: float) -> tuple[bytes, int]:
    """The body, decompressed here (not by httpx) so both the wire size and the decoded size stay under the limit."""
    status = response.status_code
    declared = response.headers.get("Content-Length", "").strip()
    if declared.isdigit() and int(declared) > max_bytes:
        raise FetchError(
            f"body of {int(declared)} bytes exceeds the limit of {max_bytes} bytes (FETCH_MAX_BYTES)", status
        )
    decoder = _Decoder(response.headers.get("Content-Encoding", ""), max_bytes, status)
    body = bytearray()
    wire = 0
    for chunk in response.iter_raw():
        wire += len(chunk)
        if wire > max_bytes:
            raise FetchError(f"body exceeds the limit of {max_bytes} bytes (FETCH_MAX_BYTES)", status)
        if time.monotonic() > deadline:
            raise httpx.ReadTimeout("the total deadline of the fetch was reached")
        body += decoder.feed(chunk) if decoder.active else chunk
    if decoder.active:
        body += decoder.feed(b"", final=True)
    if len(body) > max_bytes:
        raise FetchError(f"decompressed body exceeds the limit of {max_bytes} bytes (FETCH_MAX_BYTES)", status)
    return bytes(body), wire


def _read_file(url: str, settings: Settings) -> FetchResult:
    if not settings.fetch_allow_file_urls:
        raise FetchError(
            f"refused to fetch {url}: file: URLs are refused; set FETCH_ALLOW_FILE_URLS=true to read local sample feeds",
            refused=True,
        )
    path = Path(url2pathname(urlsplit(url).path))
    try:
        size = path.stat().st_size
        if size > settings.fetch_max_bytes:
            raise FetchError(
                f"file of {size} bytes exceeds the limit of {settings.fetch_max_bytes} bytes (FETCH_MAX_BYTES)"
            )
        body = path.read_bytes()
    except OSError as exc:
        raise FetchError(f"cannot read {path}: {exc.strerror}") from exc
    return FetchResult(200, body, url, wire_bytes=len(body))
