"""Email alerts: multipart text + HTML, everything from a feed escaped, no CR/LF in headers."""
from __future__ import annotations

import html
from email.message import EmailMessage

from services.alerts.channels import console_text
from services.alerts.content import AlertContent


def header_safe(text: str, limit: int = 200) -> str:
    return " ".join(text.split())[:limit]


def email_message(content: AlertContent) -> EmailMessage:
    message = EmailMessage()
    message["Subject"] = header_safe(f"[cnai] {content.title}")
    message.set_content(console_text(content))
    title = html.escape(content.title)
    link = f'<a href="{html.escape(content.url, quote=True)}">{title}</a>' if content.url else title
    reasons = "".join(f"<li>{html.escape(r)}</li>" for r in content.reasons[:5])
    message.add_alternative(
        f"<h2>{link}</h2><p>{html.escape(content.source)} · {content.published_at:%Y-%m-%d %H:%M} UTC · "
        f"score {content.score:.2f}</p><p>{html.escape(', '.join(content.topics))}</p><ul>{reasons}</ul>",
        subtype="html",
    )
    return message
