"""`cnai`: the command line of cnai-monitor. Heavy imports stay inside the commands so start-up is fast."""

from __future__ import annotations

import sys

import click


class SettingsAwareGroup(click.Group):
    """Turns configuration and database errors into one clear line instead of a traceback.

    A bad setting exits 2; a database that cannot be reached, does not exist or was never migrated exits 1
    with what to do. Every command runs inside this, so none of them handles these cases itself.
    """

    def invoke(self, ctx: click.Context) -> object:
        from services.settings import SettingsError

        try:
            return super().invoke(ctx)
        except SettingsError as exc:
            click.echo(f"cnai: {exc}", err=True)
            sys.exit(2)
        except Exception as exc:
            # Only commands that used the database imported SQLAlchemy: `cnai classify` stays fast.
            sqlalchemy_errors = sys.modules.get("sqlalchemy.exc")
            if sqlalchemy_errors is None or not isinstance(exc, sqlalchemy_errors.SQLAlchemyError):
                raise
            from services.database import describe_database_error

            described = describe_database_error(exc)
            if described is None:
                first = (str(getattr(exc, "orig", None) or exc).strip().splitlines() or [type(exc).__name__])[0]
                described = f"database error: {type(exc).__name__}: {first}"
            click.echo(f"cnai: {described}", err=True)
            sys.exit(1)


@click.group(cls=SettingsAwareGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="cnai-monitor")
def cli() -> None:
    """cnai-monitor: watch feeds for news on China's LLM and AI-policy space and alert on what matters."""
    from services.observability.sentry import init_cli_sentry
    from services.settings import get_settings

    get_settings()  # every setting is checked before any command runs: a bad one stops here, naming it
    init_cli_sentry()


def _register() -> None:
    from cli import alerts, db, db_wait, feeds, health, model, poll, run, stories, subscriptions, web

    for module in (
        db,
        db_wait,
        feeds,
        poll,
        alerts,
        run,
        health,
        subscriptions,
        stories,
        web,
        model,
    ):  # db_wait adds `cnai db wait` to db
        for command in module.COMMANDS:
            cli.add_command(command)
    from cli import classify

    for name in ("classify", "eval_command", "train", "label", "reclassify"):
        command = getattr(classify, name, None)
        if command is not None:
            cli.add_command(command)


_register()
