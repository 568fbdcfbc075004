"""Feedback buttons on Slack alerts and the signed interaction requests Slack sends back.

Buttons appear only when SLACK_SIGNING_SECRET and WEB_BASE_URL are set (Slack must be able to
reach ``WEB_BASE_URL/slack/interactions``; configure that URL as the app's Interactivity
Request URL). A request is believed only when its ``X-Slack-Signature`` is the v0 HMAC-SHA256
of ``v0:{timestamp}:{raw body}`` under the signing secret and the timestamp is within five
minutes (https://api.slack.com/authentication/verifying-requests-from-slack).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

import httpx

from services.feedback import Verdict
from services.settings import Settings

log = logging.getLogger(__name__)

MAX_AGE_SECONDS = 300
ACTION_PREFIX = "cnai_feedback_"
BUTTONS = [
    (Verdict.RELEVANT, "Relevant", "primary"),
    (Verdict.NOT_RELEVANT, "Not relevant", "danger"),
    (Verdict.MUTE_SOURCE, "Mute source", None),
]


class SlackRequestRefused(ValueError):
    """The request is not a genuine, fresh Slack request; the message says why (never the secret)."""


def feedback_enabled(settings: Settings) -> bool:
    return bool(
        settings.slack_signing_secret and settings.slack_signing_secret.get_secret_value() and settings.web_base_url
    )


def feedback_blocks(alert_id: int, settings: Settings | None = None) -> list[dict[str, Any]]:
    """An actions block of feedback buttons for one alert; empty when Slack feedback is not configured."""
    if settings is None:
        from services.settings import get_settings

        settings = get_settings()
    if not feedback_enabled(settings):
        return []
    elements = []
    for verdict, label, style in BUTTONS:
        button: dict[str, Any] = {
            "type": "button",
            "action_id": ACTION_PREFIX + verdict.value,
            "text": {"type": "plain_text", "text": label},
            "value": str(alert_id),
        }
        if style:
            button["style"] = style
        elements.append(button)
    return [{"type": "actions", "block_id": f"cnai_feedback_{alert_id}", "elements": elements}]


def slack_signature(secret: str, timestamp: str, body: bytes) -> str:
    base = b"v0:" + timestamp.encode() + b":" + body
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


def verify_slack_request(
    secret: str, timestamp: str | None, signature: str | None, body: bytes, now: float | None = None
) -> str:
    """Check signature and age over the raw body; returns a replay key (digest of the signature)."""
    if not timestamp or not signature:
        raise SlackRequestRefused("missing X-Slack-Request-Timestamp or X-Slack-Signature")
    try:
        moment = int(timestamp)
    except ValueError:
        raise SlackRequestRefused("malformed timestamp") from None
    if abs((now if now is not None else time.time()) - moment) > MAX_AGE_SECONDS:
        raise SlackRequestRefused("timestamp more than 5 minutes away from now")
    if not hmac.compare_digest(slack_signature(secret, timestamp, body), signature):
        raise SlackRequestRefused("bad signature")
    return hashlib.sha256(("slack:" + signature).encode()).hexdigest()


@dataclass
class Interaction:
    verdict: Verdict
    alert_id: int
    user_id: str
    user_name: str
    response_url: str | None
    blocks: list[dict[str, Any]] = field(default_factory=list)

    @property
    def who(self) -> str:
        return "@" + (self.user_name or self.user_id or "someone")


def parse_interaction(body: bytes) -> Interaction | None:
    """A block_actions payload with one of our buttons; None for anything else (which is acknowledged and ignored)."""
    try:
        form = parse_qs(body.decode("utf-8"), strict_parsing=False)
        payload = json.loads(form["payload"][0])
    except (UnicodeDecodeError, KeyError, IndexError, ValueError):
        raise SlackRequestRefused("not a Slack interaction payload") from None
    if not isinstance(payload, dict) or payload.get("type") != "block_actions":
        return None
    actions = payload.get("actions") or []
    action = next(
        (a for a in actions if isinstance(a, dict) and str(a.get("action_id", "")).startswith(ACTION_PREFIX)), None
    )
    if action is None:
        return None
    try:
        verdict = Verdict(str(action["action_id"])[len(ACTION_PREFIX) :])
        alert_id = int(action.get("value", ""))
    except (ValueError, KeyError):
        raise SlackRequestRefused("unknown feedback button") from None
    user = payload.get("user") or {}
    response_url = payload.get("response_url")
    message = payload.get("message") or {}
    return Interaction(
        verdict=verdict,
        alert_id=alert_id,
        user_id=str(user.get("id") or ""),
        user_name=str(user.get("username") or user.get("name") or ""),
        response_url=response_url
        if isinstance(response_url, str) and response_url.startswith(("https://", "http://"))
        else None,
        blocks=[b for b in message.get("blocks") or [] if isinstance(b, dict)],
    )


def updated_message(interaction: Interaction) -> dict[str, Any]:
    """The original message without its buttons, with a line saying who answered what."""
    note = f"{interaction.verdict.phrase} by {interaction.who}"
    blocks = [b for b in interaction.blocks if b.get("type") != "actions"]
    blocks.append(
        {"type": "context", "elements": [{"type": "mrkdwn", "text": note.replace("<", "&lt;").replace(">", "&gt;")}]}
    )
    return {"replace_original": True, "text": note, "blocks": blocks[:50]}


def post_response(url: str, payload: dict[str, Any], timeout: float = 10.0) -> bool:
    """POST to the interaction's response_url (valid 30 minutes, 5 uses); False on failure (logged)."""
    try:
        response = httpx.post(url, json=payload, timeout=timeout, follow_redirects=False)
    except httpx.HTTPError as exc:
        log.warning("Slack response_url unreachable (%s)", type(exc).__name__)
        return False
    if response.status_code >= 300:
        log.warning("Slack response_url refused the update: HTTP %s", response.status_code)
        return False
    return True
