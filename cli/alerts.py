"""`cnai alerts`: what was sent, to whom, when and why; test messages; retries."""

from __future__ import annotations

import re
import sys
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING

import click

from cli.output import echo_json, fail, format_option, render_table
from db.enums import AlertStatus

#: Alert states `--status` accepts.
ALERT_STATUSES = [status.value for status in AlertStatus]

if TYPE_CHECKING:
    from services.alerts.channels import ChannelTest

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
@click.option("--status", type=click.Choice(ALERT_STATUSES), help="Only alerts in this state.")
@click.option("--since", help="Only alerts created since: 30m, 6h, 2d, 1w or an ISO date/time.")
@click.option("--limit", default=50, show_default=True, help="At most this many, newest (highest id) first.")
@format_option()
def list_alerts(status: str | None, since: str | None, limit: int, fmt: str) -> None:
    """Recent alerts, newest first: id, time, status, subscription, channels, article and story ids, title."""
    from services.alerts.history import recent_alerts
    from services.database import unit_of_work

    with unit_of_work() as session:
        rows = recent_alerts(session, status=status, since=parse_since(since), limit=limit)
    rows.sort(key=lambda row: row.id, reverse=True)
    if fmt == "json":
        echo_json(rows)
        return
    if not rows:
        click.echo("no alerts")
        return
    table = render_table(
        (
            "ID",
            "CREATED (SUBSCRIPTION'S ZONE)",
            "PRIORITY",
            "STATUS",
            "SUBSCRIPTION",
            "CHANNELS",
            "ARTICLE",
            "STORY",
            "TITLE",
        ),
        [
            (r.id, r.created_local, r.priority, r.status, r.subscription, r.channels, r.article_id, r.story_id, r.title)
            for r in rows
        ],
        max_widths={"SUBSCRIPTION": 20, "CHANNELS": 48, "TITLE": 90},
    ).split("\n")
    click.echo(table[0])
    for row, line in zip(rows, table[1:]):
        click.echo(line)
        if row.english:  # Chinese items: the English line, then why (at most three reader sentences)
            click.echo(f"{'':8}{' '.join(row.english.split())[:300]}")
        if row.why:
            click.echo(f"{'':8}Why: " + " ".join(" ".join(r.split()) for r in row.why)[:400])


@alerts_group.command("show")
@click.argument("alert_id", type=int)
@format_option()
def show(alert_id: int, fmt: str) -> None:
    """What was sent, to whom, when and why: the story, the reasons, each delivery's attempts and errors."""
    from services.alerts.history import alert_detail
    from services.database import unit_of_work

    with unit_of_work() as session:
        detail = alert_detail(session, alert_id)
    if detail is None:
        fail(f"no alert {alert_id} (`cnai alerts list` shows the recent ones)")
    if fmt == "json":
        echo_json(detail)
        return
    item = detail.content
    click.echo(f"Alert {detail.id} · {detail.status} · created {_when(detail.created_at)}")
    click.echo(f"Subscription: {detail.subscription} ({detail.mode})")
    click.echo(
        f"Article: {detail.article_id} · Story: {detail.story_id}"
        f"  (label with `cnai label {detail.article_id} relevant|irrelevant` or `cnai label story:{detail.story_id} ...`)"
    )
    click.echo(f"Title: {' '.join(item.title.split())}")
    if item.english:
        click.echo(f"{item.english.label}: {' '.join(item.english.text.split())}")
        if item.english.summary:
            click.echo(f"  {' '.join(item.english.summary.split())}")
    click.echo(f"Link: {item.url or '-'}")
    click.echo(f"Source: {item.source} · published {item.when} · language {item.language or '-'}")
    click.echo(f"Priority: {item.priority or '-'} · score {item.score:.2f}")
    click.echo("In short:")
    for reason in item.why or ["-"]:
        click.echo(f"  - {' '.join(reason.split())}")
    click.echo(f"Topics: {', '.join(item.topics) or '-'}")
    click.echo(f"Entities: {', '.join(item.entities) or '-'}")
    click.echo("Evidence (all of it):")
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
    from services.alerts.channels import send_test_messages
    from services.alerts.content import AlertContent
    from services.alerts.subscriptions import all_channels, ensure_default_subscription
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
        priority="normal",
        reader_reasons=["A test message sent by `cnai alerts test`."],
    )
    with unit_of_work() as session:
        ensure_default_subscription(session, settings)
        channels = all_channels(session)
    failures = print_channel_tests(send_test_messages(channels, content, settings))
    click.echo(f"{len(channels) - failures} of {len(channels)} channel(s) succeeded")
    sys.exit(1 if failures else 0)


def print_channel_tests(results: list[ChannelTest]) -> int:
    """Print OK/FAILED per channel; the number of failures."""
    for result in results:
        if result.error is None:
            click.echo(f"OK      {result.channel} ({result.kind})")
        else:
            click.echo(f"FAILED  {result.channel} ({result.kind}): {result.error}")
    return sum(result.error is not None for result in results)


COMMANDS = [alerts_group]
