"""Send one alert to one channel. Everything from a feed is escaped for the channel it goes to."""
from __future__ import annotations

import os
import smtplib
import ssl
import sys
from email.message import EmailMessage
from email.utils import make_msgid
from urllib.parse import parse_qs, unquote, urlsplit

import httpx

from db.models import Channel
from services.alerts.content import AlertContent
from services.settings import Settings


class DeliveryError(Exception):
    """A send failed. ``permanent`` failures are not retried; ``retry_after`` is the channel's own hint."""

    def __init__(self, reason: str, *, permanent: bool = False, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.permanent = permanent
        self.retry_after = retry_after


def resolve_target(channel: Channel) -> str:
    """A channel target, reading ``env:NAME`` targets from the environment (secrets stay out of the database)."""
    if channel.target.startswith("env:"):
        name = channel.target[4:]
        value = os.environ.get(name, "")
        if not value:
            raise DeliveryError(f"channel {channel.name!r}: environment variable {name} is not set", permanent=True)
        return value
    return channel.target


def slack_escape(text: str) -> str:
    """Slack mrkdwn control characters: a feed can never write <!channel> or a disguised link."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def console_text(content: AlertContent) -> str:
    lines = [
        f"[ALERT] {content.title}",
        f"  {content.source} · {content.published_at:%Y-%m-%d %H:%M} UTC · score {content.score:.2f}",
    ]
    if content.url:
        lines.append(f"  {content.url}")
    if content.topics:
        lines.append("  topics: " + ", ".join(content.topics))
    if content.entities:
        lines.append("  entities: " + ", ".join(content.entities))
    for reason in content.reasons[:5]:
        lines.append(f"  why: {reason}")
    if content.other_outlets:
        lines.append("  also: " + ", ".join(o.name for o in content.other_outlets))
    return "\n".join(lines)


def send(channel: Channel, content: AlertContent, settings: Settings) -> str | None:
    """Deliver ``content``; return the channel's message reference if it gives one."""
    if channel.kind == "console":
        print(console_text(content), file=sys.stdout, flush=True)
        return None
    if channel.kind == "slack":
        from services.alerts.slack import slack_payload

        return post_slack(resolve_target(channel), slack_payload(content))
    if channel.kind == "email":
        from services.alerts.email import email_message

        return send_email(settings, resolve_target(channel), email_message(content))
    raise DeliveryError(f"channel {channel.name!r}: unknown kind {channel.kind!r}", permanent=True)


def post_slack(url: str, payload: dict, timeout: float = 10.0) -> str | None:
    try:
        response = httpx.post(url, json=payload, timeout=timeout)
    except httpx.HTTPError as exc:
        raise DeliveryError(f"Slack webhook unreachable: {type(exc).__name__}") from exc
    if response.status_code == 429:
        from services.ingest.fetch import retry_after_seconds

        raise DeliveryError("Slack rate limit (429)", retry_after=retry_after_seconds(response.headers.get("Retry-After")))
    if response.status_code in (400, 403, 404, 410):
        raise DeliveryError(f"Slack webhook refused: HTTP {response.status_code} {response.text[:100]}", permanent=True)
    if response.status_code >= 300:
        raise DeliveryError(f"Slack webhook error: HTTP {response.status_code}")
    return None


def send_email(settings: Settings, recipients: str, message: EmailMessage) -> str:
    if settings.smtp_url is None:
        raise DeliveryError("SMTP_URL is not set", permanent=True)
    parts = urlsplit(settings.smtp_url.get_secret_value())
    query = parse_qs(parts.query)
    starttls = query.get("starttls", ["false"])[0].lower() in {"1", "true", "yes"}
    host, port = parts.hostname or "localhost", parts.port or (465 if parts.scheme == "smtps" else 25)
    message["From"] = settings.alert_email_from
    message["To"] = ", ".join(r.strip() for r in recipients.split(",") if r.strip())
    message["Message-ID"] = make_msgid(domain="cnai-monitor")
    try:
        if parts.scheme == "smtps":
            smtp: smtplib.SMTP = smtplib.SMTP_SSL(host, port, timeout=20, context=ssl.create_default_context())
        else:
            smtp = smtplib.SMTP(host, port, timeout=20)
        with smtp:
            if starttls:
                smtp.starttls(context=ssl.create_default_context())
            if parts.username:
                smtp.login(unquote(parts.username), unquote(parts.password or ""))
            smtp.send_message(message)
    except smtplib.SMTPAuthenticationError as exc:
        raise DeliveryError(f"SMTP login refused ({exc.smtp_code})", permanent=True) from exc
    except (smtplib.SMTPException, OSError) as exc:
        raise DeliveryError(f"SMTP error: {type(exc).__name__}") from exc
    return str(message["Message-ID"])
