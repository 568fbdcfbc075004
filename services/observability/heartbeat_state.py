"""What a heartbeat file says, and what the Kubernetes probes conclude from it. Standard library only.

The worker and beat each run a heartbeat *thread* (``workers.heartbeat``) that rewrites the file every
HEARTBEAT_INTERVAL_SECONDS with a small JSON object:

    {"written_at": 1765123456.7, "pid": 12, "broker_connected": true, "loop_at": 1765123455.1}

- ``written_at``: when the thread last wrote; a stale file means the whole process is stuck (or gone).
- ``broker_connected``: the thread's own PING of the broker succeeded at that moment.
- ``loop_at``: when the Celery loop (worker timer, beat tick) last ran. While the broker is down
  Celery sits in its reconnect loop, so ``loop_at`` goes stale; that is tolerated. A loop that is
  stale while the broker answers is a wedged process.

The probe (``python -m workers.probe``) imports this module and nothing of Celery, Sentry or pydantic.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass
from enum import StrEnum
from pathlib import Path

DEFAULT_WORKER_HEARTBEAT_FILE = Path("/tmp/cnai/worker.heartbeat")
DEFAULT_BEAT_HEARTBEAT_FILE = Path("/tmp/cnai/beat.heartbeat")
#: Environment variable naming each role's heartbeat file (services/settings.py reads the same names).
HEARTBEAT_FILE_ENV = {"worker": "WORKER_HEARTBEAT_FILE", "beat": "BEAT_HEARTBEAT_FILE"}
DEFAULT_HEARTBEAT_FILES = {"worker": DEFAULT_WORKER_HEARTBEAT_FILE, "beat": DEFAULT_BEAT_HEARTBEAT_FILE}


class ProbeKind(StrEnum):
    LIVENESS = "liveness"
    READINESS = "readiness"


@dataclass(frozen=True)
class HeartbeatState:
    written_at: float
    pid: int
    broker_connected: bool | None = None
    loop_at: float | None = None


@dataclass(frozen=True)
class ProbeResult:
    ok: bool
    detail: str


def heartbeat_path(role: str, environ: dict[str, str] | None = None) -> Path:
    """The heartbeat file of ``role`` ("worker" or "beat") from the environment, as the settings read it."""
    env = os.environ if environ is None else environ
    value = env.get(HEARTBEAT_FILE_ENV[role]) or env.get(HEARTBEAT_FILE_ENV[role].lower())
    return Path(value) if value else DEFAULT_HEARTBEAT_FILES[role]


def write_state(path: Path, state: HeartbeatState) -> None:
    """Replace the file atomically (a probe never reads half a file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}")
    tmp.write_text(json.dumps(asdict(state)) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def read_state(path: Path) -> HeartbeatState | None:
    """The last state written, or None when there is no file; an old or unreadable body counts as a bare heartbeat."""
    try:
        stat = path.stat()
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    try:
        data = json.loads(text)
        return HeartbeatState(
            written_at=stat.st_mtime,  # the file is replaced whole, so its mtime is the write time (tests age it)
            pid=int(data.get("pid", 0)),
            broker_connected=data.get("broker_connected"),
            loop_at=None if data.get("loop_at") is None else float(data["loop_at"]),
        )
    except (ValueError, KeyError, TypeError):
        return HeartbeatState(written_at=stat.st_mtime, pid=0)


def judge(
    state: HeartbeatState | None,
    kind: ProbeKind,
    *,
    max_age: float,
    loop_max_age: float,
    now: float | None = None,
) -> ProbeResult:
    """Liveness: the heartbeat thread wrote within ``max_age`` and, when the broker answers, the loop ran
    within ``loop_max_age`` (a broker or database outage never fails it). Readiness: additionally the
    broker is connected and the loop ran within ``max_age``."""
    if state is None:
        return ProbeResult(False, "no heartbeat file (not started yet?)")
    now = time.time() if now is None else now
    age = max(0.0, now - state.written_at)
    if age > max_age:
        return ProbeResult(False, f"heartbeat {age:.0f}s old (limit {max_age:.0f}s): the process is stuck")
    loop_age = None if state.loop_at is None else max(0.0, now - state.loop_at)
    broker = {True: "connected", False: "disconnected", None: "unknown"}[state.broker_connected]
    loop_text = "loop never ran" if loop_age is None else f"loop {loop_age:.0f}s ago"
    if kind is ProbeKind.LIVENESS:
        if state.broker_connected is not False and loop_age is not None and loop_age > loop_max_age:
            return ProbeResult(False, f"broker {broker} but {loop_text} (limit {loop_max_age:.0f}s): wedged")
        return ProbeResult(True, f"alive: heartbeat {age:.0f}s ago, broker {broker}, {loop_text}")
    if state.broker_connected is not True:
        return ProbeResult(False, f"not ready: broker {broker}, {loop_text}")
    if loop_age is None or loop_age > max_age:
        return ProbeResult(False, f"not ready: {loop_text} (limit {max_age:.0f}s)")
    return ProbeResult(True, f"ready: heartbeat {age:.0f}s ago, broker connected, {loop_text}")
