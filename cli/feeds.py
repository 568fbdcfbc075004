"""`cnai feeds`: the feed registry."""

from __future__ import annotations

from pathlib import Path

import click

from cli.output import confirm_or_stop, echo_json, fail, format_option, render_table, yes_option
from db.enums import FeedHealth, FullTextMode


@click.group("feeds")
def feeds_group() -> None:
    """Add, list, disable, remove, import and export the feeds to watch."""


@feeds_group.command("add")
@click.argument("url")
@click.option("--title", help="Title to show for the feed.")
@click.option("--folder", help="Folder (category) to file the feed under.")
@click.option("--language", help="Language of the feed (en, zh-Hans, zh-Hant).")
@click.option("--note", help="One-line note on the source.")
@click.option(
    "--full-text",
    "full_text",
    type=click.Choice([m.value for m in FullTextMode]),
    help="Fetch article pages for their main text: auto (thin text, uncertain verdict; the default), always or never.",
)
@click.option("--no-discover", is_flag=True, help="Store URL as given, without looking for feed links in a web page.")
def add(
    url: str,
    title: str | None,
    folder: str | None,
    language: str | None,
    note: str | None,
    full_text: str | None,
    no_discover: bool,
) -> None:
    """Add the RSS/Atom/JSON feed at URL (a web page: its feed links are found)."""
    from services.database import unit_of_work
    from services.feeds.registry import FeedError, FeedSpec, add_feed
    from services.settings import get_settings

    settings = get_settings()
    urls = [url]
    if not no_discover and not url.startswith("file:"):
        from services.feeds.discovery import discover_feed_urls

        try:
            urls = discover_feed_urls(url, settings)
        except FeedError as exc:
            fail(f"cannot add {url}: {exc} (--no-discover adds the URL as given)")
        if urls != [url]:
            click.echo(f"{url} links to {len(urls)} feed(s)")
    try:
        with unit_of_work() as session:
            for feed_url in urls:
                named = title if len(urls) == 1 else None  # several feeds: each keeps the title its document gives
                spec = FeedSpec(
                    url=feed_url,
                    title=named,
                    folder=folder,
                    language=language,
                    note=note,
                    full_text=FullTextMode(full_text) if full_text else None,
                )
                feed, created = add_feed(session, spec)
                click.echo(f"{'added' if created else 'updated'} feed {feed.id}: {feed.url}")
    except FeedError as exc:
        fail(str(exc))


@feeds_group.command("list")
@click.option("--folder", help="Only the feeds of this folder.")
@format_option()
def list_command(folder: str | None, fmt: str) -> None:
    """List feeds with their health, by id."""
    from services.database import unit_of_work
    from services.feeds.registry import feed_overview

    with unit_of_work() as session:
        feeds = feed_overview(session, folder=folder)
    if fmt == "json":
        echo_json(feeds)
        return
    if not feeds:
        click.echo("no feeds (add one with `cnai feeds add URL` or `cnai feeds import FILE`)")
        return
    rows = []
    for f in feeds:
        if f.health == FeedHealth.DISABLED:
            state = f"disabled: {f.disabled_reason or '-'}"
        elif f.health == FeedHealth.FAILING:
            state = f"failing x{f.consecutive_failures}: {f.last_error or '-'}"
        else:
            state = "ok"
        rows.append((f.id, f.title, f.folder, f.url, f.full_text, f.last_success_at, state))
    click.echo(
        render_table(
            ("ID", "TITLE", "FOLDER", "URL", "FULL TEXT", "LAST OK (UTC)", "HEALTH"),
            rows,
            max_widths={"TITLE": 40, "FOLDER": 24, "URL": 60},
        )
    )
    click.echo(f"{len(feeds)} feed(s)")


@feeds_group.command("remove")
@click.argument("feed")
@yes_option("removing the feed")
def remove(feed: str, assume_yes: bool) -> None:
    """Remove FEED (id or URL) and what was seen only through it."""
    from services.database import unit_of_work
    from services.feeds.registry import FeedError, find_feed, remove_feed

    try:
        with unit_of_work() as session:
            found = find_feed(session, feed)
            confirm_or_stop(f"Remove feed {found.id} ({found.url}) and the articles seen only through it?", assume_yes)
            removed = remove_feed(session, feed)
            click.echo(f"removed feed {removed.id}: {removed.url}")
    except FeedError as exc:
        fail(str(exc))


@feeds_group.command("enable")
@click.argument("feed")
def enable(feed: str) -> None:
    """Re-enable a disabled FEED (id or URL) and poll it at the next cycle."""
    from services.database import unit_of_work
    from services.feeds.registry import FeedError, enable_feed

    try:
        with unit_of_work() as session:
            f = enable_feed(session, feed)
            click.echo(f"enabled feed {f.id}: {f.url}")
    except FeedError as exc:
        fail(str(exc))


@feeds_group.command("disable")
@click.argument("feed")
@click.option("--reason", default="disabled by an operator", show_default=True, help="Shown in `cnai feeds list`.")
def disable(feed: str, reason: str) -> None:
    """Stop polling FEED (id or URL) until `cnai feeds enable`; what it brought stays."""
    from services.database import unit_of_work
    from services.feeds.registry import FeedError, switch_off_feed

    try:
        with unit_of_work() as session:
            f = switch_off_feed(session, ref=feed, reason=reason)
            click.echo(f"disabled feed {f.id}: {f.url} ({f.disabled_reason})")
    except FeedError as exc:
        fail(str(exc))


@feeds_group.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path), required=False)
@click.option("--defaults", is_flag=True, help="Import the source catalogue (FEEDS_FILE).")
@click.option(
    "--folder",
    "folders",
    multiple=True,
    help="Import only this folder (and its sub-folders); repeatable. With --defaults the default is FEEDS_FOLDERS.",
)
def import_command(path: Path | None, defaults: bool, folders: tuple[str, ...]) -> None:
    """Import feeds from an OPML (.opml/.xml) or YAML file (titles and folders kept), or the source catalogue.

    Idempotent: a feed already present is updated, never doubled. Every good entry is added; each bad one is
    listed with its reason, and the exit code is then 1. Catalogue sources reached through RSSHub are skipped,
    each with a note, while RSSHUB_BASE_URL is unset.
    """
    from services.database import unit_of_work
    from services.feeds.catalogue import import_catalogue
    from services.feeds.files import import_feed_file
    from services.feeds.folders import parse_folder_list
    from services.feeds.registry import FeedError
    from services.settings import get_settings

    notes: list[str] = []
    chosen = list(folders)
    try:
        if path is None:
            if not defaults:
                fail("give a PATH, or --defaults for the default feed list", code=2)
            settings = get_settings()
            chosen = chosen or parse_folder_list(settings.feeds_folders)
            with unit_of_work() as session:
                result, notes = import_catalogue(session, settings.feeds_file, chosen, settings.rsshub_base_url)
        else:
            with unit_of_work() as session:
                result = import_feed_file(session, path=path, folders=chosen)
    except FeedError as exc:
        fail(str(exc))
    for note in notes:
        click.echo(note)
    for bad in result.rejected:
        click.echo(f"cnai: skipped {bad.where}: {bad.problem}", err=True)
    where = f" (folders: {', '.join(chosen)})" if chosen else ""
    click.echo(
        f"imported {result.created + result.updated} feed(s) from {result.path}{where}: "
        f"{result.created} new, {result.updated} updated"
        + (f", {len(result.rejected)} skipped" if result.rejected else "")
        + (f"; {len(notes)} RSSHub source(s) skipped: set RSSHUB_BASE_URL" if notes else "")
    )
    if result.rejected:
        raise SystemExit(1)


@feeds_group.command("export")
@click.option("--format", "fmt", type=click.Choice(["opml", "yaml"]), default="opml", show_default=True)
@click.option(
    "-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="File to write (default: stdout)."
)
def export(fmt: str, output: Path | None) -> None:
    """Export feeds as OPML or YAML."""
    from services.database import unit_of_work
    from services.feeds.files import write_opml, write_yaml
    from services.feeds.registry import feed_specs

    with unit_of_work() as session:
        specs = feed_specs(session)
    text = write_opml(specs) if fmt == "opml" else write_yaml(specs)
    if output:
        output.write_text(text, encoding="utf-8")
        click.echo(f"wrote {len(specs)} feed(s) to {output}")
    else:
        click.echo(text, nl=False)


COMMANDS = [feeds_group]
