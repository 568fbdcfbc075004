"""`cnai db`: schema migrations."""
from __future__ import annotations

import click


@click.group("db")
def db_group() -> None:
    """Database schema (Alembic migrations)."""


@db_group.command("upgrade")
@click.argument("revision", default="head")
def upgrade(revision: str) -> None:
    """Migrate the database at DATABASE_URL up to REVISION (default: head)."""
    from services.migrations import current_revision, upgrade_database
    from services.settings import get_settings

    url = get_settings().database_url
    upgrade_database(url, revision)
    click.echo(f"database at revision {current_revision(url)}")


@db_group.command("downgrade")
@click.argument("revision")
def downgrade(revision: str) -> None:
    """Migrate the database down to REVISION ('base' removes every table)."""
    from services.migrations import current_revision, downgrade_database
    from services.settings import get_settings

    url = get_settings().database_url
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
