"""What every worker and beat process sets up, hooked on Celery's signals.

worker main process: JSON or text logging, a schema check (nothing is consumed until the
database is at the head revision), Sentry, the Prometheus endpoint (METRICS_PORT), the heartbeat
thread (``workers.heartbeat``); each pool process: a fresh database pool, log context and
duration of each task; beat: logging, Sentry (beat tasks become cron monitors) and its heartbeat.
"""

from __future__ import annotations

import logging
import os
import shutil
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from celery.signals import (
    beat_init,
    celeryd_after_setup,
    celeryd_init,
    setup_logging,
    task_postrun,
    task_prerun,
    worker_init,
    worker_process_init,
    worker_ready,
    worker_shutdown,
)

from services.settings import get_settings

log = logging.getLogger(__name__)

_running: dict[str, tuple[float, Any]] = {}
_own_metrics_dir: Path | None = None


@setup_logging.connect
def configure_process_logging(loglevel: int | str | None = None, **_: Any) -> None:
    """Connected, so Celery leaves the root logger to us (JSON with LOG_FORMAT=json)."""
    from services.observability.logs import configure_logging

    configure_logging(get_settings(), loglevel)


@celeryd_after_setup.connect
def redirect_worker_output(instance: Any = None, **_: Any) -> None:
    """Send what tasks print (the console alert channel) through logging, as Celery does without our logging."""
    if instance is not None and instance.redirect_stdouts:
        instance.app.log.redirect_stdouts(instance.redirect_stdouts_level)


@celeryd_init.connect
def choose_metrics_dir(**_: Any) -> None:
    """Give this worker's processes one multiprocess directory before any metric exists.

    PROMETHEUS_MULTIPROC_DIR when set (it must not be shared with another worker), else a
    directory of this worker's own next to the heartbeat file, removed again at shutdown.
    """
    global _own_metrics_dir
    from services.observability.metrics import MULTIPROC_ENV, prepare_multiprocess_dir

    if "prometheus_client.values" in sys.modules:
        log.warning("metrics: prometheus_client was imported before start-up; pool processes' metrics will be missing")
    configured = os.environ.get(MULTIPROC_ENV)
    if configured:
        path = Path(configured)
    else:
        parent = get_settings().worker_heartbeat_file.parent
        _remove_dead_metrics_dirs(parent)
        path = _own_metrics_dir = parent / f"metrics-{os.getpid()}"
        os.environ[MULTIPROC_ENV] = str(path)
    prepare_multiprocess_dir(path)


def _remove_dead_metrics_dirs(parent: Path) -> None:
    for candidate in parent.glob("metrics-*"):
        pid = candidate.name.removeprefix("metrics-")
        if pid.isdigit() and not Path(f"/proc/{pid}").exists():
            shutil.rmtree(candidate, ignore_errors=True)


def sub_minute_beat_entries(app: Any) -> list[str]:
    """Beat entries Sentry Crons cannot monitor: it only accepts intervals of whole minutes."""
    if app is None:
        return []
    names = []
    for name, entry in app.conf.beat_schedule.items():
        every = entry["schedule"]
        seconds = every.total_seconds() if isinstance(every, timedelta) else every
        if isinstance(seconds, (int, float)) and seconds % 60:
            names.append(name)
    return names


@worker_init.connect
def refuse_old_schema(**_: Any) -> None:
    """Consume nothing until the schema is at head: wait up to SCHEMA_WAIT_SECONDS, then exit 1.

    The initContainer (`cnai db wait`) normally guarantees it; this covers a worker started by
    hand or a Deployment without the initContainer. SystemExit is the one exception Celery's
    signal dispatch lets through, so the worker stops before its consumer starts.
    """
    from services.schema import wait_for_schema

    settings = get_settings()
    status = wait_for_schema(
        settings.database_url,
        settings.schema_wait_s,
        on_wait=lambda s: log.warning("worker: not consuming yet: %s", s.line()),
    )
    if not status.at_head:
        log.error("worker: refusing to consume: %s (waited %ss)", status.line(), f"{settings.schema_wait_s:g}")
        raise SystemExit(1)


@worker_init.connect
def start_worker_services(sender: Any = None, **_: Any) -> None:
    from services.alerts.render import use_console_lines
    from services.observability.metrics import QUEUES, serve_metrics
    from services.observability.sentry import init_sentry

    use_console_lines()  # the console channel logs one line per alert in workers (and `cnai run`), not the body
    settings = get_settings()
    init_sentry(settings, "worker", unmonitored_beat_entries=sub_minute_beat_entries(sender.app if sender else None))
    if settings.metrics_port:
        serve_metrics(settings.metrics_port, settings.broker_url, QUEUES)


@worker_init.connect
def load_knowledge_before_fork(**_: Any) -> None:
    """The pool processes fork from this one: compile the lexicon and catalogues once, here."""
    from services.poll import load_knowledge

    load_knowledge()


@worker_ready.connect
def dispatch_at_start_up(sender: Any = None, **_: Any) -> None:
    """A worker that polls asks for a dispatch as soon as it is ready, not a beat interval later.

    Harmless when several start at once: a dispatch leases only feeds nobody holds (services.dispatch).
    """
    app = getattr(sender, "app", None)
    if app is None:
        return
    consumed = set(getattr(app.amqp.queues, "consume_from", None) or app.amqp.queues)
    if "dispatch" not in consumed and "poll" not in consumed:
        return
    try:
        app.send_task("cnai.poll.dispatch", queue="dispatch")
    except Exception as exc:  # broker away at start-up: the beat's dispatch comes anyway
        log.warning("could not queue the start-up dispatch: %s", exc)


@worker_shutdown.connect
def remove_metrics_dir(**_: Any) -> None:
    if _own_metrics_dir is not None:
        shutil.rmtree(_own_metrics_dir, ignore_errors=True)


@worker_process_init.connect
def dispose_engine_after_fork(**_: Any) -> None:
    """A forked pool process must not reuse the parent's database connections."""
    from services.database import dispose_engines

    dispose_engines()


@task_prerun.connect
def bind_task_context(task_id: str | None = None, task: Any = None, **_: Any) -> None:
    from services.observability.logs import set_log_context

    if task_id is None:
        return
    token = set_log_context(task_id=task_id, task_name=getattr(task, "name", None))
    _running[task_id] = (time.monotonic(), token)


@task_postrun.connect
def record_task_end(task_id: str | None = None, task: Any = None, state: str | None = None, **_: Any) -> None:
    from services.observability.logs import reset_log_context
    from services.observability.metrics import observe_task

    started = _running.pop(task_id or "", None)
    if started is None:
        return
    began, token = started
    observe_task(getattr(task, "name", "unknown"), state or "UNKNOWN", time.monotonic() - began)
    try:
        reset_log_context(token)
    except ValueError:
        pass  # postrun ran in another context than prerun (e.g. an eager call); nothing to undo


@beat_init.connect
def start_beat_services(sender: Any = None, **_: Any) -> None:
    from services.observability.sentry import init_sentry
    from workers.heartbeat import install_beat_heartbeat

    settings = get_settings()
    init_sentry(settings, "beat", unmonitored_beat_entries=sub_minute_beat_entries(sender.app))
    install_beat_heartbeat(sender.scheduler, settings.beat_heartbeat_file)
