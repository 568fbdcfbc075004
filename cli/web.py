"""`cnai web`, `cnai users`, `cnai tokens`, `cnai feedback`: the web app and its accounts, and readers' feedback."""

from __future__ import annotations

import json
import sys

import click


@click.command("web")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on (0.0.0.0 in a container).")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535), help="Port to listen on.")
def web(host: str, port: int) -> None:
    """Serve the readers' web app (stories, feedback, Slack interactions, /api) with uvicorn."""
    import uvicorn

    from services.observability.logs import configure_logging
    from services.settings import get_settings
    from web.app import create_app

    settings = get_settings()
    configure_logging(settings)
    app = create_app(settings)  # fails with one line when WEB_SECRET_KEY is required and missing
    forwarded = settings.web_trusted_proxies.replace(" ", "") or "127.0.0.1"
    click.echo(f"cnai web: serving on http://{host}:{port}", err=True)
    uvicorn.run(
        app, host=host, port=port, proxy_headers=True, forwarded_allow_ips=forwarded, access_log=False, log_config=None
    )


def _password(stdin: bool) -> str:
    if stdin:
        value = sys.stdin.readline().rstrip("\r\n")
    else:
        value = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    if not value:
        raise click.ClickException("empty password")
    return value


@click.group("users")
def users() -> None:
    """People who may sign in to the web app."""


@users.command("add")
@click.argument("name")
@click.option("--role", type=click.Choice(["reader", "admin"]), default="reader", show_default=True)
@click.option("--password-stdin", is_flag=True, help="Read the password from the first line of stdin (else prompt).")
def users_add(name: str, role: str, password_stdin: bool) -> None:
    """Add a user; the password is stored as an argon2id hash."""
    from services.accounts import AccountError, add_user
    from services.database import unit_of_work

    password = _password(password_stdin)
    try:
        with unit_of_work() as session:
            add_user(session, name, role, password)
    except AccountError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"user {name} added ({role})")


@users.command("list")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
def users_list(fmt: str) -> None:
    """List users (never their passwords)."""
    from services.accounts import list_users
    from services.database import unit_of_work

    with unit_of_work() as session:
        rows = [
            {"username": u.username, "role": u.role, "created_at": u.created_at.isoformat()}
            for u in list_users(session)
        ]
    if fmt == "json":
        click.echo(json.dumps(rows, ensure_ascii=False))
        return
    for row in rows:
        click.echo(f"{row['username']:24} {row['role']:7} {row['created_at']}")
    if not rows:
        click.echo("no users (add one with `cnai users add NAME --role admin --password-stdin`)")


@users.command("remove")
@click.argument("name")
def users_remove(name: str) -> None:
    """Remove a user (their sessions end at once)."""
    from services.accounts import AccountError, remove_user
    from services.database import unit_of_work

    try:
        with unit_of_work() as session:
            remove_user(session, name)
    except AccountError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"user {name} removed")


@users.command("set-password")
@click.argument("name")
@click.option("--password-stdin", is_flag=True, help="Read the password from the first line of stdin (else prompt).")
def users_set_password(name: str, password_stdin: bool) -> None:
    """Change a user's password (their other sessions end)."""
    from services.accounts import AccountError, set_password
    from services.database import unit_of_work

    password = _password(password_stdin)
    try:
        with unit_of_work() as session:
            set_password(session, name, password)
    except AccountError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"password of {name} changed")


@click.group("tokens")
def tokens() -> None:
    """Bearer tokens for the JSON API (/api/...)."""


@tokens.command("create")
@click.argument("name")
def tokens_create(name: str) -> None:
    """Create a token and print it once (only its SHA-256 is stored)."""
    from services.accounts import AccountError, create_token
    from services.database import unit_of_work

    try:
        with unit_of_work() as session:
            token = create_token(session, name)
    except AccountError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(token)
    click.echo(f"token {name} created; it is shown only now: use it as 'Authorization: Bearer <token>'", err=True)


@tokens.command("list")
def tokens_list() -> None:
    """List tokens by name (never the tokens)."""
    from services.accounts import list_tokens
    from services.database import unit_of_work

    with unit_of_work() as session:
        for row in list_tokens(session):
            used = row.last_used_at.isoformat() if row.last_used_at else "never used"
            click.echo(f"{row.name:24} created {row.created_at.isoformat()}  {used}")


@tokens.command("remove")
@click.argument("name")
def tokens_remove(name: str) -> None:
    """Revoke a token."""
    from services.accounts import AccountError, remove_token
    from services.database import unit_of_work

    try:
        with unit_of_work() as session:
            remove_token(session, name)
    except AccountError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"token {name} removed")


@click.group("feedback")
def feedback() -> None:
    """Readers' answers to alerts (web, Slack, email, CLI)."""


@feedback.command("list")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@click.option("--limit", default=200, show_default=True, type=click.IntRange(1, 100000))
def feedback_list(fmt: str, limit: int) -> None:
    """Who answered, on which article/story, what, from where, when (newest first)."""
    from services.database import unit_of_work
    from services.feedback import list_feedback

    with unit_of_work() as session:
        rows = list_feedback(session, limit)
    if fmt == "json":
        for row in rows:
            click.echo(json.dumps(row, ensure_ascii=False, default=lambda value: value.isoformat()))
        return
    for row in rows:
        subject = f" {row['subject']}" if row["subject"] else ""
        click.echo(
            f"{row['created_at']:%Y-%m-%d %H:%M} {row['source']:5} {str(row['who'])[:24]:24} {row['verdict']}{subject}"
            f"  story {row['story_id']} article {row['article_id']}: {str(row['title'] or '')[:70]}"
        )
    if not rows:
        click.echo("no feedback yet")


@feedback.command("add")
@click.argument("story_id", type=int)
@click.argument("verdict", type=click.Choice(["relevant", "not_relevant", "mute_source", "mute_entity"]))
@click.option("--entity", help="The entity to mute (mute_entity).")
@click.option("--who", default=None, help="Who answers (default: $USER).")
def feedback_add(story_id: int, verdict: str, entity: str | None, who: str | None) -> None:
    """Answer a story from the command line (as from the web page)."""
    import os

    from services.database import unit_of_work
    from services.feedback import (
        FeedbackError,
        FeedbackSource,
        record_feedback,
        target_of_story,
    )

    try:
        with unit_of_work() as session:
            record_feedback(
                session,
                who or os.environ.get("USER") or "cli",
                verdict,
                FeedbackSource.CLI,
                target_of_story(session, story_id),
                entity=entity,
            )
    except FeedbackError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"story {story_id}: {verdict} recorded")


@feedback.command("mutes")
def feedback_mutes() -> None:
    """Sources and entities muted per subscription."""
    from services.database import unit_of_work
    from services.feedback import list_mutes

    with unit_of_work() as session:
        rows = list_mutes(session)
    for row in rows:
        click.echo(f"{row['subscription']}\t{row['kind']}\t{row['value']}\t(by {row['by']})")
    if not rows:
        click.echo("nothing muted")


@feedback.command("unmute")
@click.argument("subscription")
@click.argument("kind", type=click.Choice(["source", "entity"]))
@click.argument("value")
def feedback_unmute(subscription: str, kind: str, value: str) -> None:
    """Alert SUBSCRIPTION on a muted source (feed URL) or entity again."""
    from services.database import unit_of_work
    from services.feedback import remove_mute

    with unit_of_work() as session:
        removed = remove_mute(session, subscription, kind, value)
    if not removed:
        raise click.ClickException(f"{subscription}: {kind} {value!r} is not muted (see `cnai feedback mutes`)")
    click.echo(f"{subscription}: {kind} {value} unmuted")


COMMANDS = [web, users, tokens, feedback]
