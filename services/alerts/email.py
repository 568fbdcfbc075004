"""Email alerts: multipart text + HTML from the templates, sent over SMTP (STARTTLS or implicit TLS, login).

``SMTP_URL`` is ``smtp://user:pass@host:587?starttls=true`` or ``smtps://user:pass@host:465``. Certificates
are checked against the system store (or ``SSL_CERT_FILE``). Headers never carry CR/LF: the subject is
flattened to one line and each recipient is parsed as one address.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import formatdate, parseaddr
from urllib.parse import parse_qs, unquote, urlsplit

from services.alerts.channels import DeliveryError
from services.alerts.content import Message
from services.alerts.render import render_html, render_text, subject
from services.settings import Settings

log = logging.getLogger(__name__)


def recipients(target: str) -> list[str]:
    """Comma-separated ``local@domain`` or ``Name <local@domain>``; anything else (line breaks included) is refused."""
    if any(ord(c) < 32 or ord(c) == 127 for c in target):
        raise DeliveryError("email recipients contain control characters", permanent=True)
    found = []
    for piece in filter(None, (p.strip() for p in target.split(","))):
        _name, address = parseaddr(piece)
        try:
            if (
                address.count("@") != 1
                or any(c.isspace() for c in address)
                or not piece.endswith((address, f"<{address}>"))
            ):
                raise ValueError(piece)
            Address(addr_spec=address)
        except ValueError:
            raise DeliveryError(f"not an email address: {piece[:100]!r}", permanent=True) from None
        found.append(address)
    if not found:
        raise DeliveryError("the channel names no email address", permanent=True)
    return found


def message_id(key: str, sender: str) -> str:
    """Stable per delivery (or per digest): a resend after a crash carries the same Message-ID."""
    domain = sender.rpartition("@")[2].strip(" >") or "cnai-monitor.local"
    return f"<cnai.{key}@{domain}>"


def email_message(message: Message, settings: Settings, key: str) -> EmailMessage:
    email = EmailMessage()
    email["Subject"] = subject(message)
    email["From"] = settings.alert_email_from
    email["Date"] = formatdate(usegmt=True)
    email["Message-ID"] = message_id(key, settings.alert_email_from)
    email["Auto-Submitted"] = "auto-generated"
    from services.feedback.email_links import with_feedback_html, with_feedback_text

    email.set_content(with_feedback_text(render_text(message), message, settings))
    email.add_alternative(with_feedback_html(render_html(message), message, settings), subtype="html")
    return email


def smtp_connection(settings: Settings) -> smtplib.SMTP:
    """An open, authenticated SMTP connection as ``SMTP_URL`` describes."""
    if settings.smtp_url is None or not settings.smtp_url.get_secret_value():
        raise DeliveryError("SMTP_URL is not set", permanent=True)
    parts = urlsplit(settings.smtp_url.get_secret_value())
    starttls = parse_qs(parts.query).get("starttls", ["false"])[0].lower() in {"1", "true", "yes"}
    host = parts.hostname or "localhost"
    port = parts.port or (465 if parts.scheme == "smtps" else 25)
    timeout = max(settings.alert_send_timeout_s, 10.0)
    if parts.scheme == "smtps":
        smtp: smtplib.SMTP = smtplib.SMTP_SSL(host, port, timeout=timeout, context=ssl.create_default_context())
    else:
        smtp = smtplib.SMTP(host, port, timeout=timeout)
    try:
        if starttls:
            smtp.starttls(context=ssl.create_default_context())
        if parts.username:
            smtp.login(unquote(parts.username), unquote(parts.password or ""))
    except BaseException:
        smtp.close()
        raise
    return smtp


def send_email(settings: Settings, target: str, email: EmailMessage) -> str:
    to = recipients(target)
    email["To"] = ", ".join(to)
    try:
        with smtp_connection(settings) as smtp:
            refused = smtp.send_message(email, to_addrs=to)
    except smtplib.SMTPAuthenticationError as exc:
        raise DeliveryError(f"SMTP login refused ({exc.smtp_code})", permanent=True) from None
    except smtplib.SMTPRecipientsRefused as exc:
        raise DeliveryError(f"SMTP server refused every recipient ({len(exc.recipients)})", permanent=True) from None
    except smtplib.SMTPResponseException as exc:
        permanent = 500 <= exc.smtp_code < 600
        raise DeliveryError(f"SMTP error {exc.smtp_code}", permanent=permanent) from None
    except ssl.SSLError as exc:
        raise DeliveryError(f"SMTP TLS error ({exc.reason or type(exc).__name__})") from None
    except (smtplib.SMTPException, OSError) as exc:
        raise DeliveryError(f"SMTP error ({type(exc).__name__})") from None
    if refused:
        log.warning("SMTP server refused %d of %d recipient(s); the others got the message", len(refused), len(to))
    return str(email["Message-ID"])
