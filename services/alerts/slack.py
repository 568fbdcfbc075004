"""Slack Block Kit messages for alerts, within Slack's limits."""
from __future__ import annotations

from services.alerts.channels import slack_escape
from services.alerts.content import AlertContent

SECTION_TEXT_LIMIT = 3000
FALLBACK_TEXT_LIMIT = 3000


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def slack_payload(content: AlertContent) -> dict:
    title = slack_escape(_clip(content.title, 250))
    heading = f"*<{content.url}|{title}>*" if content.url else f"*{title}*"
    meta = f"{slack_escape(content.source)} · {content.published_at:%Y-%m-%d %H:%M} UTC · score {content.score:.2f}"
    blocks: list[dict] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": _clip(heading, SECTION_TEXT_LIMIT)}},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": _clip(meta, 2000)}]},
    ]
    facts = []
    if content.topics:
        facts.append("*Topics:* " + slack_escape(", ".join(content.topics)))
    if content.entities:
        facts.append("*Entities:* " + slack_escape(", ".join(content.entities[:15])))
    if content.reasons:
        facts.append("*Why:* " + slack_escape("; ".join(content.reasons[:5])))
    if facts:
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": _clip("\n".join(facts), SECTION_TEXT_LIMIT)}})
    if content.other_outlets:
        names = ", ".join(
            f"<{o.url}|{slack_escape(o.name)}>" if o.url else slack_escape(o.name) for o in content.other_outlets[:10]
        )
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": _clip("Also reported by " + names, 2000)}]})
    return {"text": _clip(f"{content.title} ({content.source})", FALLBACK_TEXT_LIMIT).replace("<", "‹").replace(">", "›"), "blocks": blocks}
