"""`cnai subscriptions`: who gets which alerts, where, and when."""
from __future__ import annotations

import sys
from pathlib import Path

import click

CHANNEL_HELP = (
    "Where to send: KIND:TARGET (slack:https://hooks.slack.com/..., slack:env:NAME, email:a@x.org,b@x.org, "
    "apprise:tgram://..., console:stdout) or the name of an existing channel. Repeatable."
)


@click.group("subscriptions")
def subscriptions_group() -> None:
    """Add, list, remove, test and load alert subscriptions."""


def _channel_ref(subscription: str, value: str) -> object:
    from services.alerts.subscriptions import ChannelSpec

    kind, sep, target = value.partition(":")
    if sep and kind in {"slack", "email", "apprise", "console"}:
        return ChannelSpec(name=f"{subscription}-{kind}", kind=kind, target=target)  # type: ignore[arg-type]  # kind is checked against the channel kinds on the line above
    return value


@subscriptions_group.command("add")
@click.argument("name")
@click.option("--channel", "channels", multiple=True, required=True, help=CHANNEL_HELP)
@click.option("--min-score", type=click.FloatRange(0, 1), default=0.0, show_default=True, help="Lowest relevance score.")
@click.option("--topic", "topics", multiple=True, help="Only stories with this topic id (repeatable).")
@click.option("--entity", "entities", multiple=True, help="Only stories naming this entity (repeatable).")
@click.option("--language", "languages", multiple=True, help="Only these languages: en, zh (both scripts), zh-Hans, zh-Hant.")
@click.option("--source", "sources", multiple=True, help="Only feeds whose URL contains this (host or URL; repeatable).")
@click.option("--mode", type=click.Choice(["instant", "hourly", "daily"]), default="instant", show_default=True)
@click.option("--at", "at", help="Digest time HH:MM (daily) or minute :MM of each hour (hourly).")
@click.option("--tz", "tz", default="UTC", show_default=True, help="IANA time zone for --at and --quiet.")
@click.option("--quiet", help="Quiet hours START-END in --tz, e.g. 22:00-07:00; alerts are held until the end.")
@click.option("--disabled", is_flag=True, help="Add it switched off.")
def add(name: str, channels: tuple[str, ...], min_score: float, topics: tuple[str, ...], entities: tuple[str, ...],
        languages: tuple[str, ...], sources: tuple[str, ...], mode: str, at: str | None, tz: str,
        quiet: str | None, disabled: bool) -> None:
    """Add (or replace) the subscription NAME."""
    from pydantic import ValidationError

    from services.alerts.subscriptions import (
        SubscriptionError,
        SubscriptionSpec,
        describe_subscription,
        save_subscription,
        validation_message,
    )
    from services.database import unit_of_work

    try:
        spec = SubscriptionSpec(
            name=name,
            channels=[_channel_ref(name, c) for c in channels],  # type: ignore[misc]  # a list of names and specs, as SubscriptionSpec.channels accepts
            min_score=min_score,
            topics=list(topics),
            entities=list(entities),
            languages=list(languages),
            sources=list(sources),
            mode="instant" if mode == "instant" else "digest",
            schedule=None if mode == "instant" else mode,  # type: ignore[arg-type]  # click.Choice limits mode to the schedule names
            at=at,
            timezone=tz,
            quiet_hours=quiet,
            enabled=not disabled,
        )
    except ValidationError as exc:
        raise click.UsageError(validation_message(exc)) from None
    try:
        with unit_of_work() as session:
            described = describe_subscription(save_subscription(session, spec))
    except SubscriptionError as exc:
        raise click.UsageError(str(exc)) from None
    click.echo(f"saved subscription {described['name']}: {described['mode']}, {described['rules']}")
    for channel in described["channels"]:
        click.echo(f"  -> {channel}")


@subscriptions_group.command("list")
def list_subscriptions() -> None:
    """Every subscription with its rules, mode, quiet hours and channels (secrets masked)."""
    from sqlalchemy import select
    from sqlalchemy.orm import selectinload

    from db.models import Subscription
    from services.alerts.subscriptions import describe_subscription
    from services.database import unit_of_work

    with unit_of_work() as session:
        subscriptions = session.execute(
            select(Subscription).options(selectinload(Subscription.channels)).order_by(Subscription.name)
        ).scalars().all()
        described = [describe_subscription(s) for s in subscriptions]
    if not described:
        click.echo("no subscriptions (the default one is created by `cnai poll` or `cnai alerts test`)")
    for d in described:
        state = "" if d["enabled"] else " [disabled]"
        click.echo(f"{d['name']}{state}: {d['mode']}; {d['rules']}" + (f"; quiet {d['quiet_hours']}" if d["quiet_hours"] else ""))
        for channel in d["channels"]:
            click.echo(f"  -> {channel}")


@subscriptions_group.command("remove")
@click.argument("name")
def remove(name: str) -> None:
    """Remove the subscription NAME, its alert history, and channels no other subscription uses."""
    from services.alerts.subscriptions import SubscriptionError, remove_subscription
    from services.database import unit_of_work

    try:
        with unit_of_work() as session:
            alerts = remove_subscription(session, name)
    except SubscriptionError as exc:
        click.echo(f"cnai: {exc}", err=True)
        sys.exit(1)
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
        click.echo(f"cnai: {exc}", err=True)
        sys.exit(2)
    click.echo(f"loaded {len(channels)} channel(s) and {len(subscriptions)} subscription(s) from {file}")
    for d in described:
        click.echo(f"  {d['name']}: {d['mode']}; {d['rules']}")


@subscriptions_group.command("test")
@click.argument("name")
@click.option("--days", default=7, show_default=True, help="Look this far back for stories the rules would match.")
@click.option("--no-send", is_flag=True, help="Only show matching stories; send no test message.")
def test(name: str, days: int, no_send: bool) -> None:
    """Show which recent stories NAME's rules match, and send a test message to each of its channels."""
    from datetime import datetime, timedelta, timezone

    from sqlalchemy import select
    from sqlalchemy.orm import selectinload

    from db.models import Article, Classification, Subscription
    from services.alerts.content import AlertContent
    from services.alerts.outbox import subscription_matches
    from services.database import unit_of_work
    from services.settings import get_settings

    settings = get_settings()
    since = datetime.now(timezone.utc) - timedelta(days=days)
    with unit_of_work() as session:
        subscription = session.execute(
            select(Subscription).where(Subscription.name == name).options(selectinload(Subscription.channels))
        ).scalar_one_or_none()
        if subscription is None:
            click.echo(f"cnai: no subscription named {name!r}", err=True)
            sys.exit(1)
        rows = session.execute(
            select(Article, Classification)
            .join(Classification, Classification.article_id == Article.id)
            .where(Classification.relevant.is_(True), Article.fetched_at >= since)
            .order_by(Article.fetched_at.desc())
            .limit(2000)
        ).all()
        matched = [(a, c) for a, c in rows if subscription_matches(subscription, a, c)]
        channels = list(subscription.channels)
    click.echo(f"{len(matched)} of {len(rows)} relevant article(s) of the last {days} day(s) match {name}")
    for article, verdict in matched[:10]:
        click.echo(f"  {verdict.score:.2f}  {' '.join(article.title.split())[:100]}")
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
    from cli.alerts import send_test_to_each

    sys.exit(1 if send_test_to_each(channels, content, settings) else 0)


COMMANDS = [subscriptions_group]
