"""Threads a test starts: started together, joined with a deadline, and checked (alive or raised is a failure)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from typing import Any


class CheckedThread(threading.Thread):
    """A thread that keeps the exception its target raised, so the test can report it."""

    def __init__(self, target: Callable[..., Any], *args: Any, name: str | None = None) -> None:
        super().__init__(target=target, args=args, name=name, daemon=True)
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            super().run()
        except BaseException as exc:  # noqa: BLE001 - handed to the test by join_all
            self.error = exc


def join_all(threads: Iterable[threading.Thread], timeout: float) -> None:
    """Join every thread within one shared deadline; fail if one is still running or (CheckedThread) raised."""
    deadline = time.monotonic() + timeout
    threads = list(threads)
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    alive = [t.name for t in threads if t.is_alive()]
    assert not alive, f"threads still running after {timeout}s: {alive}"
    errors = [(t.name, t.error) for t in threads if isinstance(t, CheckedThread) and t.error is not None]
    if errors:
        raise AssertionError(f"threads raised: {errors}") from errors[0][1]
