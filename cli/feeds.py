"""`cnai feeds`: the feed registry."""
from __future__ import annotations

import sys
from pathlib import Path

import click


@click.group("feeds")
def feeds_group() -> None:
    """Add, list, remove, import and export the feeds to watch."""


def _fail(message: str) -> None:
    click.echo(f"cnai: {message}", err=True)
    sys.exit(1)


@feeds_group.command("add")
@click.argument("url")
@click.option("--title", help="Title to show for the feed.")
@click.option("--folder", help="Folder (category) to file the feed under.")
@click.option("--language", help="Language of the feed (en, zh-Hans, zh-Hant).")
@click.option("--note", help="One-line note on the source.")
@click.option("--no-discover", is_flag=True, help="Store URL as given, without looking for feed links in a web page.")
def add(url: str, title: str | None, folder: str | None, language: str | None, note: str | None, no_discover: bool) -> None:
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
            _fail(f"cannot add {url}: {exc} (--no-discover adds the URL as given)")
        if urls != [url]:
            click.echo(f"{url} links to {len(urls)} feed(s)")
    try:
        with unit_of_work() as session:
            for feed_url in urls:
                named = title if len(urls) == 1 else None  # several feeds: each keeps the title its document gives
                feed, created = add_feed(session, FeedSpec(url=feed_url, title=named, folder=folder, language=language, note=note))
                click.echo(f"{'added' if created else 'updated'} feed {feed.id}: {feed.url}")
    except FeedError as exc:
        _fail(str(exc))


@feeds_group.command("list")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
def list_command(fmt: str) -> None:
    """List feeds with their health."""
    import json

    from services.database import unit_of_work
    from services.feeds.registry import list_feeds

    with unit_of_work() as session:
        feeds = list_feeds(session)
        if fmt == "json":
            rows = [
                {"id": f.id, "url": f.url, "title": f.title, "folder": f.folder, "language": f.language,
                 "next_poll_at": f.next_poll_at.isoformat(), "last_success_at": f.last_success_at.isoformat() if f.last_success_at else None,
                 "consecutive_failures": f.consecutive_failures, "last_error": f.last_error, "disabled_reason": f.disabled_reason}
                for f in feeds
            ]
            click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
            return
        for f in feeds:
            state = f"DISABLED ({f.disabled_reason})" if f.disabled_at else (f"failing x{f.consecutive_failures}: {f.last_error}" if f.consecutive_failures else "ok")
            click.echo(f"{f.id:>4}  {f.title or '-':40.40}  {f.url}  [{state}]")
        click.echo(f"{len(feeds)} feed(s)")


@feeds_group.command("remove")
@click.argument("feed")
def remove(feed: str) -> None:
    """Remove FEED (id or URL) and what was seen only through it."""
    from services.database import unit_of_work
    from services.feeds.registry import FeedError, remove_feed

    try:
        with unit_of_work() as session:
            removed = remove_feed(session, feed)
            click.echo(f"removed feed {removed.id}: {removed.url}")
    except FeedError as exc:
        _fail(str(exc))


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
        _fail(str(exc))


@feeds_group.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path), required=False)
@click.option("--defaults", is_flag=True, help="Import the default feed list (FEEDS_FILE).")
@click.option("--folder", "folders", multiple=True,
              help="Import only this folder (and its sub-folders); repeatable. Default: FEEDS_FOLDERS, else every folder.")
def import_command(path: Path | None, defaults: bool, folders: tuple[str, ...]) -> None:
    """Import feeds from an OPML (.opml/.xml) or YAML file (titles and folders kept). Idempotent:
    a feed already present is updated, never doubled."""
    from services.database import unit_of_work
    from services.feeds.catalogue import load_catalogue, resolve_sources
    from services.feeds.files import read_feed_file
    from services.feeds.folders import in_folders, parse_folder_list
    from services.feeds.registry import FeedError, add_feed
    from services.settings import get_settings

    settings = get_settings()
    if path is None:
        if not defaults:
            _fail("give a PATH, or --defaults for the default feed list")
        path = settings.feeds_file
    chosen = list(folders) or parse_folder_list(settings.feeds_folders)
    skipped: list[str] = []
    try:
        if defaults:
            resolved = resolve_sources(in_folders(load_catalogue(path), chosen), settings.rsshub_base_url)
            specs, skipped = resolved.specs, resolved.skipped
        else:
            specs = in_folders(read_feed_file(path), chosen)
        with unit_of_work() as session:
            created = sum(add_feed(session, spec)[1] for spec in specs)
    except (FeedError, OSError) as exc:
        _fail(str(exc))
    for note in skipped:
        click.echo(note)
    where = f" (folders: {', '.join(chosen)})" if chosen else ""
    extra = f"; {len(skipped)} RSSHub source(s) skipped: set RSSHUB_BASE_URL" if skipped else ""
    click.echo(f"imported {len(specs)} feed(s) from {path}{where}: {created} new, {len(specs) - created} updated{extra}")


@feeds_group.command("export")
@click.option("--format", "fmt", type=click.Choice(["opml", "yaml"]), default="opml", show_default=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="File to write (default: stdout).")
def export(fmt: str, output: Path | None) -> None:
    """Export feeds as OPML or YAML."""
    from services.database import unit_of_work
    from services.feeds.files import write_opml, write_yaml
    from services.feeds.registry import FeedSpec, list_feeds

    with unit_of_work() as session:
        specs = [FeedSpec(f.url, f.title, f.folder, f.language, f.note, f.site_url) for f in list_feeds(session)]
    text = write_opml(specs) if fmt == "opml" else write_yaml(specs)
    if output:
        output.write_text(text, encoding="utf-8")
        click.echo(f"wrote {len(specs)} feed(s) to {output}")
    else:
        click.echo(text, nl=False)


COMMANDS = [feeds_group]
