"""`cnai alerts`: what was sent, to whom, when and why; test messages; retries."""
from __future__ import annotations

import sys

import click


@click.group("alerts")
def alerts_group() -> None:
    """See, test and retry alerts."""


@alerts_group.command("test")
def test() -> None:
    """Send one test alert to every configured channel and say which succeeded."""
    from datetime import datetime, timezone

    from services.alerts.channels import DeliveryError, send
    from services.alerts.content import AlertContent
    from services.alerts.subscriptions import ensure_default_subscription
    from services.database import unit_of_work
    from services.settings import get_settings

    settings = get_settings()
    content = AlertContent(
        alert_id=0,
        title="cnai-monitor test alert: channel works",
        url="https://example.com/cnai-monitor/test",
        source="cnai-monitor",
        published_at=datetime.now(timezone.utc),
        language="en",
        score=1.0,
        topics=["regulation"],
        entities=["cnai-monitor"],
        reasons=["this is a test sent by `cnai alerts test`"],
        summary="If you can read this, alerts reach this channel.",
    )
    failures = 0
    with unit_of_work() as session:
        from db.models import Channel
        from sqlalchemy import select

        ensure_default_subscription(session, settings)
        channels = list(session.execute(select(Channel).order_by(Channel.id)).scalars())
        for channel in channels:
            try:
                send(channel, content, settings)
            except DeliveryError as exc:
                failures += 1
                click.echo(f"FAILED  {channel.name} ({channel.kind}): {exc}")
            else:
                click.echo(f"OK      {channel.name} ({channel.kind})")
    click.echo(f"{len(channels) - failures} of {len(channels)} channel(s) succeeded")
    sys.exit(1 if failures else 0)


COMMANDS = [alerts_group]
