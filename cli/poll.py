"""`cnai poll`: one full cycle, now, in this process."""

from __future__ import annotations

import logging
import sys

import click

from db.enums import PollStatus


@click.command("poll")
@click.option("--all", "include_not_due", is_flag=True, help="Poll every active feed, due or not.")
def poll(include_not_due: bool) -> None:
    """Fetch due feeds, parse, drop duplicates, classify, store, and deliver alerts before returning."""
    from datetime import datetime, timezone

    from services.alerts.deliver import deliver_all_due
    from services.alerts.history import held_for_digest
    from services.cycle import run_cycle
    from services.database import unit_of_work
    from services.feeds.registry import feed_overview
    from services.observability.logs import configure_logging
    from services.settings import get_settings

    settings = get_settings()
    configure_logging(settings)
    for handler in logging.getLogger().handlers:
        handler.addFilter(_without_feed_failures)  # listed below, once each
    started = datetime.now(timezone.utc)
    cycle = run_cycle(settings, include_not_due=include_not_due, now=started)
    delivered = deliver_all_due(settings)
    with unit_of_work() as session:
        held = held_for_digest(session, started)
    failed = sorted((feed for feed in cycle.feeds if feed.status == PollStatus.ERROR), key=lambda feed: feed.feed_id)
    if failed:
        with unit_of_work() as session:
            urls = {f.id: f.url for f in feed_overview(session)}
        for feed in failed:
            url = urls.get(feed.feed_id, "")
            named = f"feed {feed.feed_id}" + (f" ({url})" if url and url not in (feed.error or "") else "")
            click.echo(f"cnai: {named} failed: {feed.error}", err=True)
    channels = ", ".join(f"{name}: {n}" for name, n in sorted(delivered.sent_by_channel.items())) or "none"
    click.echo(
        f"polled {cycle.feeds_polled} feed(s) ({cycle.feeds_failed} failed); {cycle.new_articles} new article(s), "
        f"{cycle.relevant} relevant; {cycle.alerts_queued} alert(s) queued; deliveries sent: {delivered.sent} ({channels}), "
        f"failed: {delivered.failed}, to retry: {delivered.retrying}"
    )
    if held:
        click.echo(f"{held} alert(s) held for their subscription's digest (low priority goes to the daily digest)")
    if cycle.backfilled:
        click.echo(
            f"{cycle.backfilled} relevant article(s) older than {settings.alert_backfill_hours:g} h on a feed's first poll "
            "stored without alerts (ALERT_BACKFILL_HOURS)"
        )
    if not cycle.feeds_polled:
        click.echo("no feed is due (use --all to poll every feed now)")
    elif not cycle.new_articles and len(failed) < cycle.feeds_polled:
        click.echo("nothing new since the last poll")
    if failed:
        click.echo(
            f"cnai: {len(failed)} of {cycle.feeds_polled} feed(s) failed (`cnai feeds list` shows each feed's health)",
            err=True,
        )
        sys.exit(1)


def _without_feed_failures(record: logging.LogRecord) -> bool:
    """Drop the poll's per-feed failure warnings: `cnai poll` lists each failure itself."""
    return not (
        record.levelno == logging.WARNING
        and record.name.startswith("services.")
        and isinstance(record.msg, str)
        and record.msg.startswith("feed %s (%s) failed")
    )


COMMANDS = [poll]
