"""Per-host politeness: at most N requests at once and a minimum gap between request starts.

``HostLimiter`` keeps both inside one process (the in-process cycle of `cnai poll` uses it).
``SharedHostLimiter`` keeps the gap across every worker process and host through Redis, so
adding workers does not multiply the rate at which one site is hit: each start reserves the
host's next free moment in one atomic Lua call (a token bucket with a burst of one, i.e.
FETCH_PER_HOST_GAP_SECONDS between starts cluster-wide), on Redis's own clock. The
concurrency cap (FETCH_PER_HOST_CONCURRENCY) stays per process. If Redis cannot be reached
the limiter falls back to the process's own gap, so a broker outage never stops polling.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger(__name__)


@dataclass
class _Host:
    slots: threading.Semaphore
    lock: threading.Lock = field(default_factory=threading.Lock)
    next_start: float = 0.0


class HostLimiter:
    def __init__(self, concurrency: int, gap_s: float) -> None:
        self.concurrency = concurrency
        self.gap_s = gap_s
        self._hosts: dict[str, _Host] = {}
        self._lock = threading.Lock()

    def _host(self, host: str) -> _Host:
        with self._lock:
            state = self._hosts.get(host)
            if state is None:
                state = self._hosts[host] = _Host(threading.Semaphore(self.concurrency))
            return state

    @contextmanager
    def slot(self, host: str) -> Iterator[None]:
        """Wait for a free request slot of ``host`` and its minimum gap, then hold the slot."""
        state = self._host(host.lower())
        state.slots.acquire()
        try:
            with state.lock:
                now = time.monotonic()
                start = max(now, state.next_start)
                state.next_start = start + self.gap_s
            if start > now:
                time.sleep(start - now)
            yield
        finally:
            state.slots.release()


_shared: dict[tuple[int, float], HostLimiter] = {}
_shared_lock = threading.Lock()


def host_limiter(concurrency: int, gap_s: float) -> HostLimiter:
    """The process-wide limiter for these settings."""
    with _shared_lock:
        key = (concurrency, gap_s)
        if key not in _shared:
            _shared[key] = HostLimiter(concurrency, gap_s)
        return _shared[key]


#: KEYS[1] host key; ARGV[1] gap in microseconds. Reserves the host's next start, returns the wait in microseconds.
_RESERVE = """
local now = redis.call('TIME')
local t = tonumber(now[1]) * 1000000 + tonumber(now[2])
local gap = tonumber(ARGV[1])
local nxt = tonumber(redis.call('GET', KEYS[1]) or '0')
local start = math.max(t, nxt)
redis.call('SET', KEYS[1], tostring(start + gap), 'PX', math.floor((start + gap - t) / 1000) + 60000)
return start - t
"""


class SharedHostLimiter(HostLimiter):
    """The per-host gap shared by every process through Redis; concurrency capped per process."""

    KEY_PREFIX = "cnai:politeness:"

    def __init__(self, client: Any, concurrency: int, gap_s: float) -> None:
        super().__init__(concurrency, gap_s)
        self._client = client
        self._reserve = client.register_script(_RESERVE)
        self._warned = False

    def reserve(self, host: str) -> float:
        """Seconds to wait before this start of a request to ``host``; the reservation is taken."""
        wait_us = self._reserve(keys=[self.KEY_PREFIX + host], args=[int(self.gap_s * 1_000_000)])
        return max(0.0, int(wait_us) / 1_000_000)

    @contextmanager
    def slot(self, host: str) -> Iterator[None]:
        if self.gap_s <= 0:
            with super().slot(host):
                yield
            return
        host = host.lower()
        state = self._host(host)
        state.slots.acquire()
        try:
            try:
                wait = self.reserve(host)
            except Exception as exc:  # Redis away: keep this process's own gap
                if not self._warned:
                    log.warning(
                        "politeness: Redis unavailable (%s); using this process's own per-host gap", type(exc).__name__
                    )
                    self._warned = True
                with state.lock:
                    now = time.monotonic()
                    start = max(now, state.next_start)
                    state.next_start = start + self.gap_s
                wait = start - now
            else:
                self._warned = False
            if wait > 0:
                time.sleep(wait)
            yield
        finally:
            state.slots.release()


_shared_by_url: dict[tuple[str, int, float], SharedHostLimiter] = {}


def shared_host_limiter(redis_url: str, concurrency: int, gap_s: float) -> SharedHostLimiter:
    """The process's Redis-backed limiter for these settings (one Redis connection pool per process)."""
    import redis

    with _shared_lock:
        key = (redis_url, concurrency, gap_s)
        if key not in _shared_by_url:
            client = redis.Redis.from_url(redis_url, socket_timeout=2, socket_connect_timeout=2)
            _shared_by_url[key] = SharedHostLimiter(client, concurrency, gap_s)
        return _shared_by_url[key]
