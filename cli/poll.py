"""`cnai poll`: one full cycle, now, in this process."""
from __future__ import annotations

import click


@click.command("poll")
@click.option("--all", "include_not_due", is_flag=True, help="Poll every active feed, due or not.")
def poll(include_not_due: bool) -> None:
    """Fetch due feeds, parse, drop duplicates, classify, store, and deliver alerts before returning."""
    from services.alerts.deliver import deliver_all_due
    from services.cycle import run_cycle
    from services.observability.logs import configure_logging
    from services.settings import get_settings

    settings = get_settings()
    configure_logging(settings)
    cycle = run_cycle(settings, include_not_due=include_not_due)
    delivered = deliver_all_due(settings)
    for feed in cycle.feeds:
        if feed.status == "error":
            click.echo(f"feed {feed.feed_id}: error: {feed.error}", err=True)
    channels = ", ".join(f"{name}: {n}" for name, n in sorted(delivered.sent_by_channel.items())) or "none"
    click.echo(
        f"polled {cycle.feeds_polled} feed(s) ({cycle.feeds_failed} failed); {cycle.new_articles} new article(s), "
        f"{cycle.relevant} relevant; {cycle.alerts_queued} alert(s) queued; deliveries sent: {delivered.sent} ({channels}), "
        f"failed: {delivered.failed}, to retry: {delivered.retrying}"
    )
    if cycle.feeds_polled and not cycle.new_articles:
        click.echo("nothing new since the last poll")
    elif not cycle.feeds_polled:
        click.echo("no feed is due (use --all to poll every feed now)")


COMMANDS = [poll]
