"""`cnai health`: is the monitor working? `cnai health worker|beat`: the Kubernetes probes."""

from __future__ import annotations

import sys

import click

MAX_AGE_HELP = "Fail when the last heartbeat is older than this many seconds."


@click.group("health", invoke_without_command=True)
@click.option("--max-age", default=120.0, show_default=True, help="Heartbeat age limit for the table.")
@click.pass_context
def health(ctx: click.Context, max_age: float) -> None:
    """Database, broker, feeds, deliveries and heartbeats as a table; exit 1 when something is wrong."""
    if ctx.invoked_subcommand is not None:
        return
    from datetime import datetime, timezone

    from sqlalchemy.exc import SQLAlchemyError

    from services.database import unit_of_work
    from services.observability.health import (
        FAIL,
        OK,
        Check,
        broker_check,
        database_checks,
        heartbeat_check,
        overall_ok,
        pipeline_checks,
    )
    from services.settings import get_settings

    settings = get_settings()
    checks = database_checks(settings.database_url)
    if overall_ok(checks):
        try:
            with unit_of_work(settings.database_url) as session:
                checks += pipeline_checks(session, datetime.now(timezone.utc))
        except SQLAlchemyError as exc:
            checks.append(Check("pipeline", FAIL, f"cannot read: {type(exc).__name__}"))
    checks.append(broker_check(settings.broker_url))
    checks.append(heartbeat_check("worker heartbeat", settings.worker_heartbeat_file, max_age, missing=OK))
    checks.append(heartbeat_check("beat heartbeat", settings.beat_heartbeat_file, max_age, missing=OK))

    secrets = settings.secrets()
    width = max(len(check.name) for check in checks)
    for check in checks:
        detail = check.detail
        for secret in secrets:
            detail = detail.replace(secret, "[redacted]")
        click.echo(f"{check.name:<{width}}  {check.status.upper():<4}  {detail}")
    healthy = overall_ok(checks)
    click.echo("healthy" if healthy else "UNHEALTHY")
    sys.exit(0 if healthy else 1)


def _probe(name: str, path_setting: str, max_age: float) -> None:
    from services.observability.health import FAIL, heartbeat_check
    from services.settings import get_settings

    check = heartbeat_check(name, getattr(get_settings(), path_setting), max_age)
    click.echo(f"{name}: {check.detail}", err=check.status == FAIL)
    sys.exit(1 if check.status == FAIL else 0)


@health.command("worker")
@click.option("--max-age", default=120.0, show_default=True, help=MAX_AGE_HELP)
def worker(max_age: float) -> None:
    """Liveness of the Celery worker on this host (WORKER_HEARTBEAT_FILE)."""
    _probe("worker", "worker_heartbeat_file", max_age)


@health.command("beat")
@click.option("--max-age", default=120.0, show_default=True, help=MAX_AGE_HELP)
def beat(max_age: float) -> None:
    """Liveness of Celery beat on this host (BEAT_HEARTBEAT_FILE)."""
    _probe("beat", "beat_heartbeat_file", max_age)


COMMANDS = [health]
