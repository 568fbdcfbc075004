"""The fetcher's HTTP transport: connects only to allowed addresses and never runs past the fetch deadline.

Every new connection (the first request and each redirect hop) resolves the host
itself, checks every resolved address against the AddressPolicy and connects to an
allowed *IP*; the URL keeps the host name, so the Host header, TLS SNI and certificate
checks are unchanged. Checking the address actually connected to closes the DNS
rebinding gap of "validate the name, then let the library resolve it again".

The total deadline of a fetch is a socket-level watchdog: each blocking socket
operation (DNS, connect, TLS handshake, every read and write) gets at most the time
left until the deadline of the fetch running on this thread, so a server dripping one
byte a second, or sending headers forever, is cut off at the deadline even though
httpx's own read timeout is per chunk.
"""

from __future__ import annotations

import socket
import ssl
import threading
import time
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from contextlib import contextmanager
from typing import Any

import httpcore
import httpx

from services.ingest.addresses import AddressPolicy, AddressRefused

_local = threading.local()
_resolver = ThreadPoolExecutor(max_workers=8, thread_name_prefix="cnai-dns")


@contextmanager
def fetch_deadline(deadline: float) -> Iterator[None]:
    """Bound every socket operation on this thread by ``deadline`` (a time.monotonic() value)."""
    previous = getattr(_local, "deadline", None)
    _local.deadline = deadline
    try:
        yield
    finally:
        _local.deadline = previous


def _bounded(timeout: float | None, error: type[Exception] = httpcore.ReadTimeout) -> float | None:
    deadline = getattr(_local, "deadline", None)
    if deadline is None:
        return timeout
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise error("the total deadline of the fetch was reached")
    return remaining if timeout is None else min(timeout, remaining)


class _DeadlineStream(httpcore.NetworkStream):
    def __init__(self, stream: httpcore.NetworkStream) -> None:
        self._stream = stream

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._stream.read(max_bytes, _bounded(timeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._stream.write(buffer, _bounded(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._stream.close()

    def start_tls(
        self, ssl_context: ssl.SSLContext, server_hostname: str | None = None, timeout: float | None = None
    ) -> httpcore.NetworkStream:
        return _DeadlineStream(
            self._stream.start_tls(ssl_context, server_hostname, _bounded(timeout, httpcore.ConnectTimeout))
        )

    def get_extra_info(self, info: str) -> Any:
        return self._stream.get_extra_info(info)


class GuardedBackend(httpcore.NetworkBackend):
    """Resolve, check each address against the policy, connect to an allowed IP."""

    def __init__(self, policy: AddressPolicy) -> None:
        self.policy = policy
        self._backend = httpcore.SyncBackend()

    def _resolve(self, host: str, port: int, timeout: float | None) -> list[str]:
        future = _resolver.submit(socket.getaddrinfo, host, port, 0, socket.SOCK_STREAM)
        try:
            infos = future.result(timeout=_bounded(timeout, httpcore.ConnectTimeout))
        except FutureTimeout:
            raise httpcore.ConnectTimeout(f"resolving {host} timed out") from None
        except socket.gaierror as exc:
            raise httpcore.ConnectError(f"cannot resolve {host}: {exc.strerror}") from None
        seen: list[str] = []
        for _family, _type, _proto, _name, sockaddr in infos:
            address = str(sockaddr[0]).split("%")[0]
            if address not in seen:
                seen.append(address)
        return seen

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        addresses = self._resolve(host, port, timeout)
        refusals: list[str] = []
        last_error: Exception | None = None
        for address in addresses:
            try:
                self.policy.check(address, host)
            except AddressRefused as exc:
                refusals.append(exc.reason)
                continue
            try:
                stream = self._backend.connect_tcp(
                    address, port, _bounded(timeout, httpcore.ConnectTimeout), local_address, socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                last_error = exc
                continue
            return _DeadlineStream(stream)
        if last_error is not None:
            raise last_error
        if refusals:
            raise AddressRefused(refusals[0])
        raise httpcore.ConnectError(f"{host} has no address")

    def connect_unix_socket(self, *args: Any, **kwargs: Any) -> httpcore.NetworkStream:
        raise AddressRefused("unix sockets are never fetched")

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


_ssl_lock = threading.Lock()
_ssl_context: ssl.SSLContext | None = None


def shared_ssl_context() -> ssl.SSLContext:
    """The process's one client SSL context (certificate verification on, system CA bundle).

    Building one loads the whole CA bundle (~25 ms of CPU), so it is built once per process
    and shared by every client; an SSLContext is safe to share between threads.
    """
    global _ssl_context
    with _ssl_lock:
        if _ssl_context is None:
            _ssl_context = httpx.create_ssl_context(trust_env=False)
        return _ssl_context


class GuardedTransport(httpx.HTTPTransport):
    """httpx's transport with the guarded network backend, no proxies from the environment."""

    def __init__(self, policy: AddressPolicy, limits: httpx.Limits) -> None:
        context = shared_ssl_context()
        super().__init__(verify=context, limits=limits, trust_env=False)
        self._pool = httpcore.ConnectionPool(
            ssl_context=context,
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=GuardedBackend(policy),
        )
