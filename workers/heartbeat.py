"""Heartbeat files for the liveness probes (`cnai health worker|beat`), written from each loop itself.

The worker touches WORKER_HEARTBEAT_FILE from its own timer, which runs in the worker's event
loop: a wedged loop stops the heartbeat, a slow broker does not (no broker round trip involved).
Beat runs ``redbeat.RedBeatScheduler`` unchanged (the deployment names it on the command line),
so the heartbeat is written after each scheduler tick by wrapping that scheduler's ``tick``.
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from celery import bootsteps

from services.observability.health import write_heartbeat
from services.settings import get_settings

log = logging.getLogger(__name__)

HEARTBEAT_INTERVAL_S = 5.0


def touch(path: Path) -> None:
    try:
        write_heartbeat(path)
    except OSError as exc:
        log.warning("cannot write heartbeat %s: %s", path, exc)


class WorkerHeartbeat(bootsteps.StartStopStep):
    """Touch the worker heartbeat file at start and every HEARTBEAT_INTERVAL_S from the worker's timer."""

    requires = {"celery.worker.components:Timer"}

    def __init__(self, worker: Any, **kwargs: Any) -> None:
        super().__init__(worker, **kwargs)
        self.path = get_settings().worker_heartbeat_file
        self.timer_entry: Any = None

    def start(self, worker: Any) -> None:
        touch(self.path)
        self.timer_entry = worker.timer.call_repeatedly(HEARTBEAT_INTERVAL_S, touch, (self.path,), priority=10)

    def stop(self, worker: Any) -> None:
        if self.timer_entry is not None:
            self.timer_entry.cancel()
            self.timer_entry = None


def install_beat_heartbeat(scheduler: Any, path: Path) -> None:
    """Touch ``path`` now and after every tick of ``scheduler`` (beat ticks at least every 10 s).

    A tick that cannot reach Redis (a restart, a failover) is retried a second later instead of
    ending beat; the heartbeat stays stale meanwhile. If the outage outlived the RedBeat lock,
    the next renewal raises LockNotOwnedError and beat exits: another beat may own the schedule now.
    """
    import redis

    tick = scheduler.tick

    def tick_and_touch(*args: Any, **kwargs: Any) -> Any:
        try:
            interval = tick(*args, **kwargs)
        except (redis.ConnectionError, redis.TimeoutError) as exc:
            log.warning("beat: Redis unreachable (%s); retrying in 1s", type(exc).__name__)
            return 1.0
        touch(path)
        return interval

    scheduler.tick = tick_and_touch
    touch(path)
