"""`cnai run`: the long-running service (Celery beat + a worker) against REDIS_URL."""
from __future__ import annotations

import click


@click.command("run")
@click.option("--concurrency", default=2, show_default=True, help="Worker processes.")
@click.option("--queues", default="poll,classify,deliver", show_default=True, help="Queues the worker consumes.")
def run(concurrency: int, queues: str) -> None:
    """Run beat and one worker in the foreground until Ctrl-C (production runs them as separate deployments)."""
    from services.settings import get_settings
    from workers.app import app

    settings = get_settings()
    click.echo(f"cnai run: broker {settings.broker_url.split('@')[-1]}, queues {queues}; Ctrl-C to stop")
    worker = app.Worker(concurrency=concurrency, queues=queues.split(","), beat=True, loglevel="INFO",
                        schedule_filename=str(_beat_state_path()))
    worker.start()


def _beat_state_path():  # type: ignore[no-untyped-def]
    from pathlib import Path

    path = Path("var") / "celerybeat-schedule"
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


COMMANDS = [run]
