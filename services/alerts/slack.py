"""Slack incoming-webhook messages in Block Kit, within Slack's limits, with feed text escaped.

Limits kept (https://api.slack.com/reference/block-kit): at most 50 blocks, section text 3000
characters, header text 150, 10 elements per context block, and a fallback ``text`` for
notifications. Feed text is escaped (``&``, ``<``, ``>``) so ``<!channel>`` or
``<https://evil|click>`` in a title stays text; only our own links use ``<url|label>``.
"""

from __future__ import annotations

import os

import httpx

from services.alerts.channels import DeliveryError
from services.alerts.content import AlertContent, Digest, Message
from services.alerts.render import oneline

MAX_BLOCKS = 50
SECTION_TEXT_LIMIT = 3000
HEADER_LIMIT = 150
CONTEXT_ELEMENTS_LIMIT = 10
CONTEXT_TEXT_LIMIT = 2000
FALLBACK_TEXT_LIMIT = 3000
TITLE_LIMIT = 250
DIGEST_TITLE_LIMIT = 150


def slack_escape(text: str) -> str:
    """Slack's three control characters as entities: a feed can never mention @channel or disguise a link."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def clip_mrkdwn(text: str, limit: int) -> str:
    """Cut escaped mrkdwn to ``limit`` characters without splitting an ``&entity;`` or a ``<link|label>``."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    if cut.rfind("<") > cut.rfind(">"):
        cut = cut[: cut.rfind("<")]
    amp = cut.rfind("&")
    if amp != -1 and ";" not in cut[amp:]:
        cut = cut[:amp]
    return cut + "…"


def link(url: str | None, label: str) -> str:
    """``<url|label>`` for an http(s) URL from ``safe_link`` (already free of ``<>|`` and spaces), else the label."""
    return f"<{url.replace('&', '&amp;')}|{label}>" if url else label


def _section(text: str) -> dict:
    return {"type": "section", "text": {"type": "mrkdwn", "text": clip_mrkdwn(text, SECTION_TEXT_LIMIT)}}


def _context(*texts: str) -> dict:
    return {
        "type": "context",
        "elements": [
            {"type": "mrkdwn", "text": clip_mrkdwn(t, CONTEXT_TEXT_LIMIT)} for t in texts[:CONTEXT_ELEMENTS_LIMIT]
        ],
    }


def _listing(prefix: str, names: list[str], limit: int) -> str:
    """``prefix`` then as many escaped names as fit in ``limit``, then "and N more"."""
    text, shown = prefix, 0
    for name in names:
        piece = (", " if shown else "") + slack_escape(oneline(name))
        if len(text) + len(piece) > limit - 20:
            break
        text += piece
        shown += 1
    if shown < len(names):
        text += f" and {len(names) - shown} more"
    return text


PRIORITY_MARKS = {
    "high": ":red_circle: *High priority*",
    "normal": ":large_blue_circle: Normal priority",
    "low": ":white_circle: Low priority",
}
PRIORITY_TAGS = {"high": ":red_circle:", "normal": ":large_blue_circle:", "low": ":white_circle:"}


def english_text(item: AlertContent, limit: int = 600) -> str | None:
    """``_English gloss:_ ...`` (and the LLM's one-sentence summary), escaped; None for items without one."""
    if item.english is None:
        return None
    text = f"_{item.english.label}:_ " + slack_escape(clip(oneline(item.english.text), limit))
    if item.english.summary:
        text += "\n" + slack_escape(clip(oneline(item.english.summary), limit))
    return text


def alert_blocks(item: AlertContent) -> list[dict]:
    title = slack_escape(clip(oneline(item.title), TITLE_LIMIT))
    blocks = [_section(f"*{link(item.url, title)}*")]
    english = english_text(item)
    if english:
        blocks.append(_section(english))
    blocks.append(
        _context(
            PRIORITY_MARKS.get(item.priority or "", "priority not set"),
            slack_escape(clip(oneline(item.source), 200)),
            slack_escape(item.when),
            f"score {item.score:.2f}",
            *([slack_escape(item.language)] if item.language else []),
        )
    )
    if item.coverage_line:
        blocks.append(_context(slack_escape(oneline(item.coverage_line))))
    if item.why:
        why = "*Why:*" + "".join(f"\n• {slack_escape(clip(oneline(r), 300))}" for r in item.why)
        blocks.append(_section(why))
    facts = []
    if item.topics:
        facts.append(_listing("*Topics:* ", [t.replace("_", " ") for t in item.topics], 600))
    if item.entities:
        facts.append(_listing("*Entities:* ", item.entities, 1200))
    if facts:
        blocks.append(_section("\n".join(facts)))
    if item.summary:
        blocks.append(_section(slack_escape(clip(oneline(item.summary), min(500, item.summary_chars)))))
    if item.other_outlets:
        outlets = [link(o.url, slack_escape(clip(oneline(o.name), 80))) for o in item.other_outlets[:15]]
        more = len(item.other_outlets) - len(outlets)
        blocks.append(_context("Also reported by " + ", ".join(outlets) + (f" and {more} more" if more > 0 else "")))
    from services.feedback.slack import feedback_blocks

    blocks.extend(feedback_blocks(item.alert_id))  # buttons only with SLACK_SIGNING_SECRET and WEB_BASE_URL
    return blocks


def digest_blocks(digest: Digest) -> list[dict]:
    """A header, a note, then one or more sections per topic; every line is short, so 100 items fit in 50 blocks."""
    blocks: list[dict] = [
        {"type": "header", "text": {"type": "plain_text", "text": clip(oneline(digest.heading), HEADER_LIMIT)}},
        _context(slack_escape(clip(oneline(digest.note), 500) + f" Times in {digest.timezone}.")),
    ]
    for label, items in digest.by_topic():
        lines = [f"*{slack_escape(label)}* ({len(items)})"]
        for item in items:
            title = slack_escape(clip(oneline(item.title), DIGEST_TITLE_LIMIT))
            source = slack_escape(clip(oneline(item.source), 60))
            tag = PRIORITY_TAGS.get(item.priority or "", ":black_small_square:")
            line = f"• {tag} {link(item.url, title)} — {source} · {slack_escape(item.when)} · {item.score:.2f}"
            english = english_text(item, 200)
            if english:
                line += "\n      " + english.replace("\n", " ")
            if item.coverage_line:
                line += "\n      " + slack_escape(oneline(item.coverage_line))
            if item.why:
                line += "\n      _Why:_ " + slack_escape(clip(" ".join(oneline(r) for r in item.why), 400))
            lines.append(line)
        text = ""
        for line in lines:
            if text and len(text) + 1 + len(line) > SECTION_TEXT_LIMIT:
                blocks.append(_section(text))
                text = line
            else:
                text = f"{text}\n{line}" if text else line
        blocks.append(_section(text))
    if len(blocks) > MAX_BLOCKS:
        omitted = sum(
            1 for b in blocks[MAX_BLOCKS - 1 :] for line in b["text"]["text"].split("\n") if line.startswith("•")
        )
        blocks = blocks[: MAX_BLOCKS - 1] + [_context(f"…and {omitted} more; see `cnai alerts list`")]
    return blocks


def slack_payload(message: Message) -> dict:
    if isinstance(message, Digest):
        blocks = digest_blocks(message)
        fallback = f"{message.heading}: {len(message.items)} stories"
    else:
        blocks = alert_blocks(message)
        tag = f"[{message.priority}] " if message.priority else ""
        english = f" — {message.english.text}" if message.english else ""
        fallback = f"{tag}{message.title}{english} ({message.source}, {message.when}, score {message.score:.2f})"
    return {"text": clip_mrkdwn(slack_escape(oneline(fallback)), FALLBACK_TEXT_LIMIT), "blocks": blocks[:MAX_BLOCKS]}


_clients: dict[int, httpx.Client] = {}


def http_client() -> httpx.Client:
    """One pooled client per process: building an SSL context per message costs more than the message."""
    pid = os.getpid()
    if pid not in _clients:
        _clients.clear()
        _clients[pid] = httpx.Client(follow_redirects=False)
    return _clients[pid]


def post_slack(url: str, payload: dict, timeout: float = 10.0) -> str | None:
    """POST to an incoming webhook. 429 carries Retry-After; 400/403/404/410 are permanent (bad or revoked hook)."""
    try:
        response = http_client().post(url, json=payload, timeout=timeout)
    except httpx.TimeoutException as exc:
        raise DeliveryError(f"Slack webhook timed out ({type(exc).__name__})") from None
    except httpx.HTTPError as exc:
        raise DeliveryError(f"Slack webhook unreachable ({type(exc).__name__})") from None
    body = oneline(response.text[:200])
    if response.status_code == 429:
        from services.ingest.fetch import retry_after_seconds

        raise DeliveryError(
            "Slack rate limit (HTTP 429)", retry_after=retry_after_seconds(response.headers.get("Retry-After")) or 1.0
        )
    if response.status_code in (400, 403, 404, 410):
        raise DeliveryError(f"Slack webhook refused the message: HTTP {response.status_code} {body}", permanent=True)
    if response.status_code >= 300:
        raise DeliveryError(f"Slack webhook error: HTTP {response.status_code} {body}")
    return None
