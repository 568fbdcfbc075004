"""`cnai alerts`: what was sent, to whom, when and why; test messages; retries."""
from __future__ import annotations

import re
import sys
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from db.models import Channel
    from services.alerts.content import AlertContent
    from services.settings import Settings

_RELATIVE = re.compile(r"^(\d+)\s*([mhdw])$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_since(value: str | None) -> datetime | None:
    """``30m``, ``6h``, ``2d``, ``1w`` ago, or an ISO date/time (UTC unless it says otherwise)."""
    if not value:
        return None
    match = _RELATIVE.match(value.strip().lower())
    if match:
        return datetime.now(timezone.utc) - timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        raise click.BadParameter("use 30m, 6h, 2d, 1w or an ISO date/time such as 2026-11-20T08:00") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def _when(moment: datetime | None) -> str:
    return f"{moment:%Y-%m-%d %H:%M:%S} UTC" if moment else "-"


@click.group("alerts")
def alerts_group() -> None:
    """See, test and retry alerts."""


@alerts_group.command("list")
@click.option("--status", type=click.Choice(["pending", "sent", "partial", "failed", "digested"]), help="Only alerts in this state.")
@click.option("--since", help="Only alerts created since: 30m, 6h, 2d, 1w or an ISO date/time.")
@click.option("--limit", default=50, show_default=True, help="At most this many, newest first.")
def list_alerts(status: str | None, since: str | None, limit: int) -> None:
    """Recent alerts: id, time, status, subscription, channels and title."""
    from services.alerts.history import recent_alerts
    from services.database import unit_of_work

    with unit_of_work() as session:
        rows = recent_alerts(session, status=status, since=parse_since(since), limit=limit)
    if not rows:
        click.echo("no alerts")
        return
    click.echo(f"{'ID':>6}  {'CREATED (UTC)':16}  {'STATUS':8}  {'SUBSCRIPTION':16}  {'CHANNELS':30}  TITLE")
    for row in rows:
        title = " ".join(row.title.split())
        click.echo(
            f"{row.id:>6}  {row.created_at:%Y-%m-%d %H:%M}  {row.status:8}  {row.subscription[:16]:16}  "
            f"{', '.join(row.channels)[:30]:30}  {title[:90]}"
        )


@alerts_group.command("show")
@click.argument("alert_id", type=int)
def show(alert_id: int) -> None:
    """What was sent, to whom, when and why: the story, the reasons, each delivery's attempts and errors."""
    from services.alerts.history import alert_detail
    from services.database import unit_of_work

    with unit_of_work() as session:
        detail = alert_detail(session, alert_id)
    if detail is None:
        click.echo(f"no alert {alert_id}", err=True)
        sys.exit(1)
    item = detail.content
    click.echo(f"Alert {detail.id} · {detail.status} · created {_when(detail.created_at)}")
    click.echo(f"Subscription: {detail.subscription} ({detail.mode})")
    click.echo(f"Title: {' '.join(item.title.split())}")
    click.echo(f"Link: {item.url or '-'}")
    click.echo(f"Source: {item.source} · published {_when(item.published_at)} · language {item.language or '-'}")
    click.echo(f"Score: {item.score:.2f}")
    click.echo(f"Topics: {', '.join(item.topics) or '-'}")
    click.echo(f"Entities: {', '.join(item.entities) or '-'}")
    click.echo("Why:")
    for reason in item.reasons or ["-"]:
        click.echo(f"  - {reason}")
    if item.other_outlets:
        click.echo("Also reported by: " + ", ".join(o.name for o in item.other_outlets))
    click.echo("Deliveries:")
    for d in detail.deliveries:
        click.echo(f"  #{d.id} {d.channel} ({d.kind}) to {d.to}: {d.status}, {d.attempts} attempt(s)")
        if d.sent_at:
            click.echo(f"      sent {_when(d.sent_at)}" + (f" as {d.message_ref}" if d.message_ref else ""))
        if d.carried_by:
            click.echo(f"      carried in {d.carried_by}")
        if d.next_attempt_at:
            click.echo(f"      next attempt {_when(d.next_attempt_at)}")
        if d.last_error:
            click.echo(f"      last error: {d.last_error}")


@alerts_group.command("retry")
@click.argument("alert_ids", type=int, nargs=-1)
@click.option("--all-failed", is_flag=True, help="Retry every failed delivery.")
def retry(alert_ids: tuple[int, ...], all_failed: bool) -> None:
    """Send failed deliveries again (of the given alerts, or all of them with --all-failed)."""
    from services.alerts.deliver import deliver_due, requeue_failed
    from services.database import unit_of_work
    from services.observability.logs import configure_logging
    from services.settings import get_settings

    if not alert_ids and not all_failed:
        raise click.UsageError("name alert ids, or use --all-failed")
    settings = get_settings()
    configure_logging(settings)
    with unit_of_work() as session:
        requeued = requeue_failed(session, datetime.now(timezone.utc), None if all_failed else list(alert_ids))
    click.echo(f"requeued {requeued} failed deliver{'y' if requeued == 1 else 'ies'}")
    if not requeued:
        return
    report = deliver_due(settings)
    click.echo(
        f"sent {report.sent} ({report.digested} folded into digests), failed {report.failed}, to retry {report.retrying}"
    )
    sys.exit(1 if report.failed else 0)


@alerts_group.command("test")
def test() -> None:
    """Send one test alert to every configured channel and say which succeeded (exit 1 if any failed)."""
    from sqlalchemy import select

    from db.models import Channel
    from services.alerts.content import AlertContent
    from services.alerts.subscriptions import ensure_default_subscription
    from services.database import unit_of_work
    from services.settings import get_settings

    settings = get_settings()
    content = AlertContent(
        alert_id=0,
        title="cnai-monitor test alert: this channel works",
        url="https://example.com/cnai-monitor/test",
        source="cnai-monitor",
        published_at=datetime.now(timezone.utc),
        language="en",
        score=1.0,
        topics=["regulation"],
        entities=["cnai-monitor"],
        reasons=["a test sent by `cnai alerts test`"],
        summary="If you can read this, alerts reach this channel.",
    )
    with unit_of_work() as session:
        ensure_default_subscription(session, settings)
        channels = list(session.execute(select(Channel).order_by(Channel.id)).scalars())
    failures = send_test_to_each(channels, content, settings)
    click.echo(f"{len(channels) - failures} of {len(channels)} channel(s) succeeded")
    sys.exit(1 if failures else 0)


def send_test_to_each(channels: list[Channel], content: AlertContent, settings: Settings) -> int:
    """Send ``content`` to every channel, print OK/FAILED per channel, return the number of failures."""
    import uuid

    from services.alerts.channels import DeliveryError, send

    failures = 0
    for channel in channels:
        try:
            send(channel, content, settings, f"test-{uuid.uuid4().hex[:12]}")
        except DeliveryError as exc:
            failures += 1
            click.echo(f"FAILED  {channel.name} ({channel.kind}): {exc}")
        else:
            click.echo(f"OK      {channel.name} ({channel.kind})")
    return failures


COMMANDS = [alerts_group]
