"""`cnai db wait [--timeout S]`: exit 0 once the database is reachable and at the head revision.

Workers and beat run it as an initContainer (deploy/k8s), so no pod consumes tasks on an old schema.
"""

from __future__ import annotations

import sys

import click

from cli.db import db_group


@db_group.command("wait")
@click.option(
    "--timeout",
    "timeout",
    type=click.FloatRange(min=0),
    default=60.0,
    show_default=True,
    help="Give up after this many seconds.",
)
@click.option("--interval", type=click.FloatRange(min=0.1), default=2.0, show_default=True, hidden=True)
def wait(timeout: float, interval: float) -> None:
    """Wait until DATABASE_URL is reachable and migrated to head; one line, exit 1 on timeout."""
    from services.schema import wait_for_schema
    from services.settings import get_settings

    status = wait_for_schema(get_settings().database_url, timeout, interval_s=interval)
    if status.at_head:
        click.echo(status.line())
        return
    click.echo(f"cnai db wait: {status.line()} (gave up after {timeout:g}s)", err=True)
    sys.exit(1)


#: Registered on the `db` group at import (cli.main imports this module).
COMMANDS: list[click.Command] = []
