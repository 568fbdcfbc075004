"""Signed one-click feedback links for email alerts.

A link carries the alert, the verdict and the recipient, signed with WEB_SECRET_KEY and dated;
it expires after EMAIL_LINK_DAYS. Opening it shows a confirmation page; only the confirming POST
records (mail scanners that follow links record nothing). A link confirmed twice records once.
"""
from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

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
    recipient: str
    request_key: str


def _serializer(settings: Settings) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(web_secret_key(settings), salt=SALT)


def feedback_token(settings: Settings, alert_id: int, verdict: Verdict, recipient: str) -> str:
    return str(_serializer(settings).dumps({"a": alert_id, "v": verdict.value, "r": recipient, "n": secrets.token_hex(4)}))


def feedback_link(settings: Settings, alert_id: int, verdict: Verdict, recipient: str) -> str | None:
    """The one-click URL, or None when WEB_BASE_URL is not set."""
    if not settings.web_base_url:
        return None
    return f"{settings.web_base_url}/feedback/email/{feedback_token(settings, alert_id, verdict, recipient)}"


def read_token(settings: Settings, token: str) -> EmailFeedback:
    try:
        data = _serializer(settings).loads(token, max_age=int(settings.email_link_days * 86400))
    except SignatureExpired:
        raise LinkRefused("this link has expired") from None
    except BadSignature:
        raise LinkRefused("this link is not valid") from None
    try:
        return EmailFeedback(
            alert_id=int(data["a"]), verdict=Verdict(data["v"]), recipient=str(data["r"]),
            request_key=hashlib.sha256(("email:" + token).encode()).hexdigest(),
        )
    except (KeyError, TypeError, ValueError):
        raise LinkRefused("this link is not valid") from None
