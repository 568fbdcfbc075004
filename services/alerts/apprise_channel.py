"""Other services through apprise URLs: Teams, Telegram, DingTalk, WeCom, Feishu/Lark, generic JSON webhooks...

The message goes as plain text (apprise escapes it for each service's own format). Apprise reports only
success or failure, so the HTTP status is read from its log, and only the status is kept: its log lines
may name the URL, whose tokens are secrets.
"""

from __future__ import annotations

import logging
import re

from services.alerts.channels import DeliveryError
from services.alerts.content import Message
from services.alerts.render import render_text, subject

PERMANENT_STATUSES = {400, 401, 403, 404, 410}


def notify_apprise(url: str, message: Message) -> None:
    import apprise

    notifier = apprise.Apprise()
    if not notifier.add(url):
        raise DeliveryError("not a valid apprise URL (see https://github.com/caronc/apprise/wiki)", permanent=True)
    with apprise.LogCapture(level=logging.WARNING) as captured:
        ok = notifier.notify(body=render_text(message), title=subject(message), body_format=apprise.NotifyFormat.TEXT)
    if ok:
        return None
    found = re.findall(r"error=(\d{3})", captured.getvalue())
    status = int(found[-1]) if found else None
    if status == 429:
        raise DeliveryError("apprise notification rate-limited (HTTP 429)", retry_after=5.0)
    if status in PERMANENT_STATUSES:
        raise DeliveryError(f"apprise notification refused (HTTP {status})", permanent=True)
    raise DeliveryError(f"apprise notification failed ({f'HTTP {status}' if status else 'no response'})")
