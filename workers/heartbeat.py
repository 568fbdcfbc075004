"""Heartbeats for the Kubernetes probes (``python -m workers.probe``), written by a thread.

A daemon thread in the worker's and beat's main process rewrites the heartbeat file every
HEARTBEAT_INTERVAL_SECONDS with three facts (``services.observability.heartbeat_state``): it is
alive, whether its own PING of the broker succeeded, and when the Celery loop last ran. The loop
reports itself: the worker from a timer in its event loop, beat after each scheduler tick.

Why a thread: while Celery retries a lost broker its loop does not run, so a heartbeat written by
the loop went stale and liveness restarted every worker and beat during a Redis outage. Now the
file stays fresh, records ``broker_connected: false`` (readiness fails, liveness does not), and a
loop that is stale while the broker answers is what liveness treats as wedged.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from pathlib import Path
from typing import Any, ClassVar

from celery import bootsteps

from services.observability.heartbeat_state import HeartbeatState, write_state
from services.settings import get_settings

log = logging.getLogger(__name__)


class HeartbeatThread:
    """Pings the broker and writes the heartbeat every ``interval`` seconds until stopped."""

    def __init__(self, path: Path, broker_url: str, interval: float, name: str) -> None:
        self.path = path
        self.broker_url = broker_url
        self.interval = interval
        self.loop_at: float | None = None
        self.broker_connected: bool | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"cnai-heartbeat-{name}", daemon=True)
        self._client: Any = None

    def mark_loop(self) -> None:
        """Called from the Celery loop: it is running now."""
        self.loop_at = time.time()

    def start(self) -> None:
        self.beat_once()
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout=self.interval + 5)

    def beat_once(self) -> None:
        connected = self._ping()
        if connected != self.broker_connected:
            log.log(
                logging.INFO if connected else logging.WARNING,
                "heartbeat: broker %s",
                "connected" if connected else "unreachable",
            )
        self.broker_connected = connected
        try:
            write_state(self.path, HeartbeatState(time.time(), os.getpid(), connected, self.loop_at))
        except OSError as exc:
            log.warning("cannot write heartbeat %s: %s", self.path, exc)

    def _ping(self) -> bool:
        import redis

        timeout = max(0.5, min(3.0, self.interval / 2))
        try:
            if self._client is None:
                self._client = redis.Redis.from_url(
                    self.broker_url, socket_timeout=timeout, socket_connect_timeout=timeout
                )
            return bool(self._client.ping())
        except (redis.RedisError, OSError):
            self._client = None
            return False

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.beat_once()
            except Exception:  # the heartbeat must outlive any surprise; the probe sees a stale file otherwise
                log.exception("heartbeat failed")


def start_heartbeat(path: Path, name: str) -> HeartbeatThread:
    settings = get_settings()
    thread = HeartbeatThread(path, settings.broker_url, settings.heartbeat_interval_s, name)
    thread.start()
    return thread


class WorkerHeartbeat(bootsteps.StartStopStep):
    """Start the heartbeat thread with the worker; mark the loop from the worker's timer."""

    requires: ClassVar[set[str]] = {"celery.worker.components:Timer"}

    def __init__(self, worker: Any, **kwargs: Any) -> None:
        super().__init__(worker, **kwargs)
        self.thread: HeartbeatThread | None = None
        self.timer_entry: Any = None

    def start(self, worker: Any) -> None:
        settings = get_settings()
        self.thread = HeartbeatThread(
            settings.worker_heartbeat_file, settings.broker_url, settings.heartbeat_interval_s, "worker"
        )
        self.thread.start()
        self.timer_entry = worker.timer.call_repeatedly(
            max(0.5, settings.heartbeat_interval_s / 2), self.thread.mark_loop, priority=10
        )

    def stop(self, worker: Any) -> None:
        if self.timer_entry is not None:
            self.timer_entry.cancel()
            self.timer_entry = None
        if self.thread is not None:
            self.thread.stop()
            self.thread = None


def install_beat_heartbeat(scheduler: Any, path: Path) -> HeartbeatThread:
    """Start the heartbeat thread for beat and mark the loop after every tick of ``scheduler``.

    A tick that cannot reach Redis (a restart, a failover) is retried a second later instead of
    ending beat. If the outage outlived the RedBeat lock, the next renewal raises LockNotOwnedError:
    beat takes the lock again when it is free (no other beat started meanwhile), and exits when
    another beat owns the schedule now (before, it always exited, and a restart in CrashLoopBackOff
    delayed the schedule after every long outage).
    """
    import redis
    from redis.exceptions import LockNotOwnedError

    thread = start_heartbeat(path, "beat")
    tick = scheduler.tick

    def tick_and_mark(*args: Any, **kwargs: Any) -> Any:
        try:
            interval = tick(*args, **kwargs)
        except (redis.ConnectionError, redis.TimeoutError) as exc:
            log.warning("beat: Redis unreachable (%s); retrying in 1s", type(exc).__name__)
            return 1.0
        except LockNotOwnedError:
            lock = getattr(scheduler, "lock", None)
            if lock is not None and lock.acquire(blocking=False):
                log.warning("beat: the RedBeat lock expired during the outage and was free; took it again")
                thread.mark_loop()
                return 1.0
            log.error("beat: another beat owns the RedBeat lock now; exiting")
            raise SystemExit(1) from None
        thread.mark_loop()
        return interval

    scheduler.tick = tick_and_mark
    thread.mark_loop()
    return thread
