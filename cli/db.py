"""`cnai db`: schema migrations."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import click

from cli.output import confirm_or_stop, fail, yes_option


@click.group("db")
def db_group() -> None:
    """Database schema (Alembic migrations)."""


@contextmanager
def _revision_errors() -> Iterator[None]:
    """Alembic's complaints about a revision (unknown, ambiguous) as one line, exit 2."""
    from alembic.util import CommandError

    try:
        yield
    except CommandError as exc:
        fail(f"{exc} (revision ids are the file name prefixes in alembic/versions/, or head, base)", code=2)


@db_group.command("upgrade")
@click.argument("revision", default="head")
def upgrade(revision: str) -> None:
    """Migrate the database at DATABASE_URL up to REVISION (default: head)."""
    from services.migrations import current_revision, upgrade_database
    from services.settings import get_settings

    url = get_settings().database_url
    with _revision_errors():
        upgrade_database(url, revision)
    click.echo(f"database at revision {current_revision(url)}")


@db_group.command("downgrade")
@click.argument("revision")
@yes_option("migrating down (data in dropped tables and columns is lost)")
def downgrade(revision: str, assume_yes: bool) -> None:
    """Migrate the database down to REVISION ('base' removes every table)."""
    from services.migrations import current_revision, downgrade_database
    from services.settings import get_settings

    url = get_settings().database_url
    confirm_or_stop(
        f"Migrate the database from revision {current_revision(url)} down to {revision}? "
        "Data in the tables and columns it drops is lost",
        assume_yes,
    )
    with _revision_errors():
        downgrade_database(url, revision)
    click.echo(f"database at revision {current_revision(url)}")


@db_group.command("check")
def check() -> None:
    """Fail when the models and the migrations have drifted apart."""
    from services.migrations import check_database
    from services.settings import get_settings

    check_database(get_settings().database_url)
    click.echo("models and migrations agree")


COMMANDS = [db_group]
