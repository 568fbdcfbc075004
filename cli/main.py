"""`cnai`: the command line of cnai-monitor. Heavy imports stay inside the commands so start-up is fast."""
from __future__ import annotations

import sys

import click


class SettingsAwareGroup(click.Group):
    """Turns configuration errors into one clear line and exit code 2 instead of a traceback."""

    def invoke(self, ctx: click.Context) -> object:
        from services.settings import SettingsError

        try:
            return super().invoke(ctx)
        except SettingsError as exc:
            click.echo(f"cnai: {exc}", err=True)
            sys.exit(2)


@click.group(cls=SettingsAwareGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="cnai-monitor")
def cli() -> None:
    """cnai-monitor: watch feeds for news on China's LLM and AI-policy space and alert on what matters."""
    from services.observability.sentry import init_cli_sentry

    init_cli_sentry()


def _register() -> None:
    from cli import alerts, db, feeds, health, model, poll, run, subscriptions, web

    for module in (db, feeds, poll, alerts, run, health, subscriptions, web, model):
        for command in module.COMMANDS:
            cli.add_command(command)
    from cli import classify

    for name in ("classify", "eval_command", "train", "label", "reclassify"):
        command = getattr(classify, name, None)
        if command is not None:
            cli.add_command(command)


_register()
