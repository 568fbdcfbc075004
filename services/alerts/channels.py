"""Send one message (an alert or a digest) to one channel. Everything from a feed is escaped for the channel.

Channel kinds: ``slack`` (incoming webhook, Block Kit), ``email`` (SMTP, multipart text + HTML),
``apprise`` (Teams, Telegram, DingTalk, WeCom, Feishu/Lark, generic webhooks... by apprise URL) and
``console`` (stdout, for ``make run``). Targets may name an environment variable (``env:NAME``) so that
webhook URLs and tokens stay out of the database.
"""
from __future__ import annotations

import os
import sys
from urllib.parse import urlsplit

from db.models import Channel
from services.alerts.content import Message
from services.settings import Settings

KINDS = ("slack", "email", "apprise", "console")
PACED_KINDS = frozenset({"slack", "apprise"})
"""Webhook channels allow about one message per second; SMTP and stdout are not paced."""
RESEND_UNCONFIRMED_KINDS = frozenset({"email", "console"})
"""Kinds whose send may be repeated when a sender died before recording it (see docs/alerts.md)."""


class DeliveryError(Exception):
    """A send failed. ``permanent`` failures are not retried; ``retry_after`` is the channel's own hint (seconds)."""

    def __init__(self, reason: str, *, permanent: bool = False, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.permanent = permanent
        self.retry_after = retry_after


def resolve_target(channel: Channel) -> str:
    """A channel's target, reading ``env:NAME`` targets from the environment."""
    if channel.target.startswith("env:"):
        name = channel.target[4:]
        value = os.environ.get(name, "")
        if not value:
            raise DeliveryError(f"channel {channel.name!r}: environment variable {name} is not set", permanent=True)
        return value
    return channel.target


def describe_target(kind: str, target: str) -> str:
    """A target as it may be shown: env references and addresses as they are, webhook and apprise URLs masked."""
    if target.startswith("env:") or kind in {"email", "console"}:
        return target
    try:
        parts = urlsplit(target)
    except ValueError:
        return "(redacted)"
    if kind == "slack" and parts.hostname:
        return f"{parts.scheme}://{parts.hostname}/…(redacted)"
    return f"{parts.scheme}://…(redacted)" if parts.scheme else "(redacted)"


def channel_secrets(channel: Channel, settings: Settings) -> list[str]:
    """Values that must never appear in an error, a log line or CLI output for this channel."""
    values = list(settings.secrets())
    if channel.kind in {"slack", "apprise"}:
        try:
            target = resolve_target(channel)
        except DeliveryError:
            target = ""
        values.append(target)
        try:
            parts = urlsplit(target)
            values += [parts.path, parts.password or "", parts.query]
        except ValueError:
            pass
    return [v for v in values if v and len(v) >= 6]


def scrub(text: str, secrets: list[str]) -> str:
    for secret in sorted(secrets, key=len, reverse=True):
        text = text.replace(secret, "[redacted]")
    return text


def send(channel: Channel, message: Message, settings: Settings, key: str) -> str | None:
    """Deliver ``message``; return the channel's reference for it (e.g. the email Message-ID) if it has one.

    ``key`` is stable for the message's deliveries, so a resend carries the same identity (email Message-ID).
    Errors are DeliveryError with secrets scrubbed from their text.
    """
    try:
        return _send(channel, message, settings, key)
    except DeliveryError as exc:
        clean = scrub(str(exc), channel_secrets(channel, settings))
        raise DeliveryError(clean, permanent=exc.permanent, retry_after=exc.retry_after) from None


def _send(channel: Channel, message: Message, settings: Settings, key: str) -> str | None:
    if channel.kind == "console":
        from services.alerts.render import render_text

        print("[ALERT] " + render_text(message).rstrip("\n"), file=sys.stdout, flush=True)
        return None
    if channel.kind == "slack":
        from services.alerts.slack import post_slack, slack_payload

        return post_slack(resolve_target(channel), slack_payload(message), settings.alert_send_timeout_s)
    if channel.kind == "email":
        from services.alerts.email import email_message, send_email

        return send_email(settings, resolve_target(channel), email_message(message, settings, key))
    if channel.kind == "apprise":
        from services.alerts.apprise_channel import notify_apprise

        notify_apprise(resolve_target(channel), message)
        return None
    raise DeliveryError(f"channel {channel.name!r}: unknown kind {channel.kind!r}", permanent=True)
