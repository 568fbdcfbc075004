"""Per-host politeness shared through the real Redis: more workers do not hit one host more often."""

from __future__ import annotations

import threading
import time
import uuid

import pytest
import redis

from services.ingest.politeness import SharedHostLimiter
from tests.support.services import PrivateRedis

pytestmark = pytest.mark.redis

GAP_S = 0.2


def starts_through(limiters: list[SharedHostLimiter], host: str, per_limiter: int) -> list[float]:
    """Each limiter (one per 'worker') starts ``per_limiter`` requests to ``host`` from its own threads at once."""
    starts: list[float] = []
    lock = threading.Lock()

    def request(limiter: SharedHostLimiter) -> None:
        with limiter.slot(host):
            with lock:
                starts.append(time.monotonic())

    threads = [threading.Thread(target=request, args=(limiter,)) for limiter in limiters for _ in range(per_limiter)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return sorted(starts)


def test_three_workers_together_keep_one_gap_per_host(private_redis: PrivateRedis) -> None:
    host = f"feeds-{uuid.uuid4().hex[:8]}.example"
    limiters = [SharedHostLimiter(redis.Redis.from_url(private_redis.url), 4, GAP_S) for _ in range(3)]
    starts = starts_through(limiters, host, 3)
    assert len(starts) == 9
    gaps = [later - earlier for earlier, later in zip(starts, starts[1:])]
    assert min(gaps) >= GAP_S * 0.8, f"starts closer than the gap across workers: {gaps}"
    assert starts[-1] - starts[0] >= 8 * GAP_S * 0.9
    other = starts_through(limiters, f"other-{host}", 1)  # another host is not held back by the first
    assert other[-1] - other[0] < 3 * GAP_S


def test_process_local_limiters_alone_would_multiply_the_rate() -> None:
    """The contrast that makes the shared limiter necessary: three local limiters start together."""
    from services.ingest.politeness import HostLimiter

    limiters = [HostLimiter(4, GAP_S) for _ in range(3)]
    starts: list[float] = []
    for limiter in limiters:
        with limiter.slot("same.example"):
            starts.append(time.monotonic())
    assert starts[-1] - starts[0] < GAP_S


def test_without_redis_each_worker_keeps_its_own_gap() -> None:
    unreachable = redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2, socket_timeout=0.2)
    limiter = SharedHostLimiter(unreachable, 2, GAP_S)
    started = time.monotonic()
    for _ in range(3):
        with limiter.slot("down.example"):
            pass
    assert time.monotonic() - started >= 2 * GAP_S * 0.9
