"""`cnai subscriptions`: who gets which alerts, where, and when."""

from __future__ import annotations

import sys
from datetime import datetime, timezone
from pathlib import Path

import click

from cli.output import confirm_or_stop, echo_json, fail, format_option, render_table, yes_option

CHANNEL_HELP = (
    "Where to send: KIND:TARGET (slack:https://hooks.slack.com/..., slack:env:NAME, email:a@x.org,b@x.org, "
    "apprise:tgram://..., console:stdout; an unknown KIND lists the known ones) or the name of an existing channel. "
    "Repeatable."
)


@click.group("subscriptions")
def subscriptions_group() -> None:
    """Add, list, remove, test and load alert subscriptions."""


def _channel_ref(subscription: str, value: str) -> object:
    from services.alerts.channels import channel_kinds
    from services.alerts.subscriptions import ChannelSpec

    kind, sep, target = value.partition(":")
    if sep and kind in channel_kinds():
        return ChannelSpec(name=f"{subscription}-{kind}", kind=kind, target=target)
    if sep and kind.isalpha() and not target.startswith("//"):
        fail(
            f"--channel {value.split(':')[0]}:...: unknown channel kind {kind!r}; known: {', '.join(channel_kinds())}",
            code=2,
        )
    return value


@subscriptions_group.command("add")
@click.argument("name")
@click.option("--channel", "channels", multiple=True, required=True, help=CHANNEL_HELP)
@click.option(
    "--min-score", type=click.FloatRange(0, 1), default=0.0, show_default=True, help="Lowest relevance score."
)
@click.option("--topic", "topics", multiple=True, help="Only stories with this topic id (repeatable).")
@click.option("--entity", "entities", multiple=True, help="Only stories naming this catalogue entity (repeatable).")
@click.option(
    "--language", "languages", multiple=True, help="Only these languages: en, zh (both scripts), zh-Hans, zh-Hant."
)
@click.option(
    "--source", "sources", multiple=True, help="Only feeds whose URL contains this (host or URL; repeatable)."
)
@click.option("--mode", type=click.Choice(["instant", "hourly", "daily"]), default="instant", show_default=True)
@click.option("--at", "at", help="Digest time HH:MM (daily) or minute :MM of each hour (hourly).")
@click.option("--tz", "tz", default="UTC", show_default=True, help="IANA time zone for --at and --quiet.")
@click.option("--quiet", help="Quiet hours START-END in --tz, e.g. 22:00-07:00; alerts are held until the end.")
@click.option("--disabled", is_flag=True, help="Add it switched off.")
@click.option(
    "--priority",
    "priorities",
    multiple=True,
    metavar="PRIORITY=instant|digest",
    help="Which priorities (high, normal, low) and how, e.g. --priority high=instant --priority low=digest; "
    "unlisted priorities are not sent. Default: high and normal instant, low in a daily digest "
    "(everything in the digest for --mode hourly/daily). Repeatable.",
)
def add(
    name: str,
    channels: tuple[str, ...],
    min_score: float,
    topics: tuple[str, ...],
    entities: tuple[str, ...],
    languages: tuple[str, ...],
    sources: tuple[str, ...],
    mode: str,
    at: str | None,
    tz: str,
    quiet: str | None,
    disabled: bool,
    priorities: tuple[str, ...],
) -> None:
    """Add (or replace) the subscription NAME.

    Topics, entities and languages that no story could carry are refused, naming the valid or nearest ones.
    """
    from pydantic import ValidationError

    from services.alerts.subscriptions import (
        SubscriptionError,
        SubscriptionSpec,
        describe_subscription,
        save_subscription,
        validation_message,
    )
    from services.database import unit_of_work

    routes: dict[str, str] = {}
    for value in priorities:
        for piece in filter(None, (p.strip() for p in value.split(","))):
            priority, sep, how = piece.partition("=")
            if not sep:
                raise click.BadParameter(
                    f"{piece!r}: use PRIORITY=instant|digest, e.g. low=digest", param_hint="--priority"
                )
            routes[priority.strip().lower()] = how.strip().lower()
    try:
        spec = SubscriptionSpec.model_validate(
            {
                "name": name,
                "channels": [_channel_ref(name, c) for c in channels],
                "min_score": min_score,
                "topics": list(topics),
                "entities": list(entities),
                "languages": list(languages),
                "sources": list(sources),
                "mode": "instant" if mode == "instant" else "digest",
                "schedule": None if mode == "instant" else mode,
                "at": at,
                "timezone": tz,
                "quiet_hours": quiet,
                "enabled": not disabled,
                "priorities": routes or None,
            }
        )
    except ValidationError as exc:
        fail(validation_message(exc), code=2)
    try:
        with unit_of_work() as session:
            described = describe_subscription(save_subscription(session, spec))
    except SubscriptionError as exc:
        fail(str(exc), code=2)
    click.echo(
        f"saved subscription {described['name']}: {described['mode']}, {described['rules']}; {described['priorities']}"
    )
    for channel in described["channels"]:
        click.echo(f"  -> {channel}")


@subscriptions_group.command("list")
@format_option()
def list_subscriptions(fmt: str) -> None:
    """Every subscription by id with its rules, mode, quiet hours and channels (secrets masked)."""
    from services.alerts.subscriptions import subscription_overview
    from services.database import unit_of_work

    with unit_of_work() as session:
        described = subscription_overview(session)
    if fmt == "json":
        echo_json(described)
        return
    if not described:
        click.echo("no subscriptions (the default one is created by `cnai poll` or `cnai alerts test`)")
        return
    click.echo(
        render_table(
            ("ID", "NAME", "STATE", "MODE", "RULES", "PRIORITIES", "QUIET", "CHANNELS"),
            [
                (
                    d["id"],
                    d["name"],
                    "enabled" if d["enabled"] else "disabled",
                    d["mode"],
                    d["rules"],
                    d["priorities"],
                    d["quiet_hours"],
                    d["channels"],
                )
                for d in described
            ],
        )
    )


@subscriptions_group.command("remove")
@click.argument("name")
@yes_option("removing the subscription and its alert history")
def remove(name: str, assume_yes: bool) -> None:
    """Remove the subscription NAME, its alert history, and channels no other subscription uses."""
    from services.alerts.subscriptions import SubscriptionError, find_subscription, remove_subscription
    from services.database import unit_of_work

    try:
        with unit_of_work() as session:
            find_subscription(session, name=name)
            confirm_or_stop(f"Remove subscription {name} with its alert history?", assume_yes)
            alerts = remove_subscription(session, name)
    except SubscriptionError as exc:
        fail(str(exc))
    click.echo(f"removed subscription {name} ({alerts} alert(s) of history)")


@subscriptions_group.command("load")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def load(file: Path) -> None:
    """Create or update the channels and subscriptions of a YAML FILE (see config/subscriptions.example.yaml)."""
    from services.alerts.subscriptions import SubscriptionError, describe_subscription, load_subscriptions
    from services.database import unit_of_work

    try:
        with unit_of_work() as session:
            channels, subscriptions = load_subscriptions(session, file)
            described = [describe_subscription(s) for s in subscriptions]
    except SubscriptionError as exc:
        fail(str(exc), code=2)
    click.echo(f"loaded {len(channels)} channel(s) and {len(subscriptions)} subscription(s) from {file}")
    for d in described:
        click.echo(f"  {d['name']}: {d['mode']}; {d['rules']}")


@subscriptions_group.command("test")
@click.argument("name")
@click.option("--days", default=7, show_default=True, help="Look this far back for stories the rules would match.")
@click.option("--no-send", is_flag=True, help="Only show matching stories; send no test message.")
def test(name: str, days: int, no_send: bool) -> None:
    """Show which recent stories NAME's rules match, and send a test message to each of its channels."""
    from services.alerts.channels import send_test_messages
    from services.alerts.content import AlertContent
    from services.alerts.subscriptions import SubscriptionError, preview_subscription
    from services.database import unit_of_work
    from services.settings import get_settings

    settings = get_settings()
    try:
        with unit_of_work() as session:
            preview = preview_subscription(session, name=name, days=days)
            subscription = preview.subscription
            channels = list(subscription.channels)
    except SubscriptionError as exc:
        fail(str(exc))
    click.echo(
        f"{len(preview.matched)} of {preview.scanned} relevant article(s) of the last {days} day(s) match {name}"
    )
    for match in preview.matched[:10]:
        click.echo(f"  {match.score:.2f}  article {match.article_id}  {match.title[:100]}")
    if no_send:
        return
    content = AlertContent(
        alert_id=0,
        title=f"cnai-monitor test for subscription {name}",
        url="https://example.com/cnai-monitor/test",
        source="cnai-monitor",
        published_at=datetime.now(timezone.utc),
        language="en",
        score=1.0,
        topics=list(subscription.topics)[:3],
        entities=list(subscription.entities)[:3],
        reasons=[f"a test sent by `cnai subscriptions test {name}`"],
        summary="If you can read this, this subscription's alerts reach this channel.",
    )
    from cli.alerts import print_channel_tests

    sys.exit(1 if print_channel_tests(send_test_messages(channels, content, settings)) else 0)


COMMANDS = [subscriptions_group]
