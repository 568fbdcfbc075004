"""`cnai run`: the long-running service (Celery beat + a worker) on this machine, against REDIS_URL."""

from __future__ import annotations

import sys

import click


@click.command("run")
@click.option("--concurrency", default=2, show_default=True, help="Tasks run at once (worker threads).")
@click.option(
    "--queues", default="dispatch,poll,classify,deliver", show_default=True, help="Queues the worker consumes."
)
def run(concurrency: int, queues: str) -> None:
    """Run beat and one worker in the foreground until Ctrl-C.

    Production runs beat and the workers as separate deployments (docs/architecture.md); this
    is the same code in one process tree, with beat embedded in the worker. The worker runs its
    tasks in threads: on one machine nothing needs process isolation, and a prefork pool can
    hold Ctrl-C up for 30 s when a task ends just as the shutdown starts (billiard waits for its
    result to be read).
    """
    from services.observability.health import broker_check
    from services.settings import get_settings

    settings = get_settings()
    where = settings.broker_url.split("@")[-1]
    broker = broker_check(settings.broker_url)
    if broker.status != "ok":
        click.echo(f"cnai run: the broker at {where} is {broker.detail}; start Redis or set REDIS_URL", err=True)
        sys.exit(2)
    from workers.app import app
    from workers.celeryconfig import QUEUES

    wanted = [q.strip() for q in queues.split(",") if q.strip()]
    unknown = sorted(set(wanted) - set(QUEUES))
    if unknown:
        raise click.BadParameter(
            f"unknown queue(s) {', '.join(unknown)}; known: {', '.join(QUEUES)}", param_hint="--queues"
        )
    from celery.platforms import EX_FAILURE
    from celery.signals import worker_shutting_down

    signals_received: list[str] = []
    worker_shutting_down.connect(lambda sig=None, **_: signals_received.append(sig), weak=False)

    click.echo(f"cnai run: broker {where}, queues {','.join(wanted)}; Ctrl-C to stop")
    worker = app.Worker(
        concurrency=concurrency,
        pool="threads",
        queues=wanted,
        beat=True,
        scheduler="redbeat.RedBeatScheduler",
        loglevel="INFO",
        quiet=True,
    )
    worker.start()
    code = worker.exitcode or 0
    if code == EX_FAILURE and "SIGINT" in signals_received:
        code = 0  # Celery exits 1 after Ctrl-C; for `cnai run` Ctrl-C is the normal way to stop
    sys.exit(code)


COMMANDS = [run]
