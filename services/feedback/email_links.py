"""Signed one-click feedback links for email alerts.

A link carries the alert and the verdict, signed with WEB_SECRET_KEY and dated (one email goes to
every address of a channel, so the answer is credited to the alert's email recipients);
it expires after EMAIL_LINK_DAYS. Opening it shows a confirmation page; only the confirming POST
records (mail scanners that follow links record nothing). A link confirmed twice records once.
"""

from __future__ import annotations

import hashlib
import html
import logging
import secrets
from dataclasses import dataclass

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import select
from sqlalchemy.orm import Session

from db.models import Alert, Channel, SubscriptionChannel
from services.accounts.secret import web_secret_key
from services.feedback import Verdict
from services.settings import Settings

SALT = "cnai-email-feedback"


class LinkRefused(ValueError):
    """The link is forged, damaged or expired; the message says which."""


@dataclass(frozen=True)
class EmailFeedback:
    alert_id: int
    verdict: Verdict
    request_key: str


def _serializer(settings: Settings) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(web_secret_key(settings), salt=SALT)


def feedback_token(settings: Settings, alert_id: int, verdict: Verdict) -> str:
    return str(_serializer(settings).dumps({"a": alert_id, "v": verdict.value, "n": secrets.token_hex(4)}))


def feedback_link(settings: Settings, alert_id: int, verdict: Verdict) -> str | None:
    """The one-click URL, or None when WEB_BASE_URL is not set."""
    if not settings.web_base_url:
        return None
    return f"{settings.web_base_url}/feedback/email/{feedback_token(settings, alert_id, verdict)}"


LINKED_VERDICTS = [
    (Verdict.RELEVANT, "Relevant"),
    (Verdict.NOT_RELEVANT, "Not relevant"),
    (Verdict.MUTE_SOURCE, "Mute this source"),
]


def _links(message: object, settings: Settings) -> list[tuple[str, str]]:
    from services.alerts.content import AlertContent

    if not isinstance(message, AlertContent) or not settings.web_base_url:
        return []
    try:
        return [(label, feedback_link(settings, message.alert_id, verdict) or "") for verdict, label in LINKED_VERDICTS]
    except Exception:  # noqa: BLE001 - no signing key (WEB_SECRET_KEY) must never stop an alert
        logging.getLogger(__name__).warning("email feedback links left out: %s", "no signing key")
        return []


def with_feedback_text(body: str, message: object, settings: Settings) -> str:
    """The plain-text alert with one-click feedback links (when WEB_BASE_URL is set)."""
    links = _links(message, settings)
    if not links:
        return body
    return body.rstrip("\n") + "\n\nWas this useful?\n" + "".join(f"  {label}: {url}\n" for label, url in links)


def with_feedback_html(body: str, message: object, settings: Settings) -> str:
    links = _links(message, settings)
    if not links:
        return body
    anchors = " · ".join(f'<a href="{html.escape(url)}">{html.escape(label)}</a>' for label, url in links)
    block = f'<p style="margin-top:1em">Was this useful? {anchors}</p>'
    position = body.lower().rfind("</body>")
    return body[:position] + block + body[position:] if position != -1 else body + block


def read_token(settings: Settings, token: str) -> EmailFeedback:
    try:
        data = _serializer(settings).loads(token, max_age=int(settings.email_link_days * 86400))
    except SignatureExpired:
        raise LinkRefused("this link has expired") from None
    except BadSignature:
        raise LinkRefused("this link is not valid") from None
    try:
        return EmailFeedback(
            alert_id=int(data["a"]),
            verdict=Verdict(data["v"]),
            request_key=hashlib.sha256(("email:" + token).encode()).hexdigest(),
        )
    except (KeyError, TypeError, ValueError):
        raise LinkRefused("this link is not valid") from None


def alert_email_recipients(session: Session, alert_id: int) -> str:
    """Who an email link answer is credited to: the email addresses of the alert's subscription."""
    from services.alerts.email import recipients

    rows = session.execute(
        select(Channel)
        .join(SubscriptionChannel, SubscriptionChannel.channel_id == Channel.id)
        .join(Alert, Alert.subscription_id == SubscriptionChannel.subscription_id)
        .where(Alert.id == alert_id, Channel.kind == "email")
    ).scalars()
    addresses: list[str] = []
    for channel in rows:
        try:
            from services.alerts.channels import resolve_target

            addresses += recipients(resolve_target(channel))
        except Exception:  # noqa: BLE001 - an unresolvable target still credits "email"
            continue
    return ", ".join(dict.fromkeys(addresses)) or "email reader"
