"""Per-host politeness inside one process: at most N requests at once and a minimum gap between starts.

Across worker processes each process keeps its own limiter (FETCH_PER_HOST_CONCURRENCY
per process); feeds of one host are few and their polls are spread by the adaptive
schedule, so a shared Redis limiter is not needed at the current scale.
"""
from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field


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
