"""``email``: SMTP (SMTP_URL), multipart text + HTML (rendering and sending in services/alerts/email.py)."""

from __future__ import annotations

from services.alerts.channels.base import ChannelKind, DeliveryError
from services.alerts.channels.registry import register
from services.alerts.content import Message
from services.settings import Settings


@register
class Email(ChannelKind):
    name = "email"
    target_help = "email:a@x.org,b@x.org or email:env:NAME"
    safe_to_resend = True  # a resend keeps its Message-ID, so mail clients show it once

    def validate_target(self, target: str) -> str:
        from services.alerts.email import recipients

        try:
            recipients(target)
        except DeliveryError as exc:
            raise ValueError(str(exc)) from None
        return target

    def send(self, target: str, message: Message, settings: Settings, key: str) -> str | None:
        from services.alerts.email import email_message, send_email

        return send_email(settings, target, email_message(message, settings, key))
