"""Plain-text and HTML renderings of alerts and digests, from the Jinja2 templates in ``config/templates``.

HTML templates (``*.html.j2``) are autoescaped: nothing from a feed can add markup to an email.
"""

from __future__ import annotations

import re
from datetime import datetime
from functools import lru_cache

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from services.alerts.content import Digest, Message, local_time, topic_label
from services.settings import CONFIG_DIR

TEMPLATES_DIR = CONFIG_DIR / "templates"


_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1f\x7f-\x9f]")


def oneline(text: str) -> str:
    """Every run of whitespace (CR, LF, tabs, Unicode line separators) as one space; control characters
    (terminal escape sequences included) dropped."""
    return " ".join(_CONTROL.sub("", str(text)).split())


def utc(moment: datetime) -> str:
    return f"{moment:%Y-%m-%d %H:%M} UTC"


_console = {"style": "full"}


def use_console_lines() -> None:
    """From now on, in this process, the console channel logs one line per alert instead of printing it.

    Called by the workers (and so by ``cnai run``) at start-up; ``cnai poll`` and ``make run`` keep the full print.
    """
    _console["style"] = "line"


def console_output(message: Message, channel: str) -> tuple[str, str]:
    """What the console channel writes: ``("print", full text)`` or ``("log", one line)``."""
    if _console["style"] == "line":
        return "log", console_line(message, channel)
    return "print", "[ALERT] " + render_text(message).rstrip("\n")


def console_line(message: Message, channel: str) -> str:
    """The console channel in ``cnai run`` and the workers: one line per alert (id, priority, title, channel), no body."""
    if isinstance(message, Digest):
        ids = ",".join(str(i.alert_id) for i in message.items[:20]) + ("…" if len(message.items) > 20 else "")
        return oneline(f"alert digest ({len(message.items)}) ids {ids} [{message.heading}] -> {channel}")[:400]
    return oneline(f"alert {message.alert_id} [{message.priority or '-'}] {message.title[:160]} -> {channel}")


@lru_cache(maxsize=1)
def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        autoescape=select_autoescape(enabled_extensions=("html.j2",), default_for_string=True, default=False),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(oneline=oneline, utc=utc, local_time=local_time, topic_label=topic_label)
    return env


def render_text(message: Message) -> str:
    if isinstance(message, Digest):
        return environment().get_template("digest.txt.j2").render(digest=message)
    return environment().get_template("alert.txt.j2").render(item=message)


def render_html(message: Message) -> str:
    if isinstance(message, Digest):
        return environment().get_template("digest.html.j2").render(digest=message)
    return environment().get_template("alert.html.j2").render(item=message)


def subject(message: Message) -> str:
    """An email subject on one line, whatever the feed put in the title.

    RFC 2047 encoded words (``=?utf-8?q?=0D=0A?=``) are broken up: the email library would decode them
    into line breaks inside the header.
    """
    if isinstance(message, Digest):
        text = message.heading
    else:
        tag = f"[{message.priority}] " if message.priority else ""
        english = f" ({message.english.text})" if message.english and message.english.source == "llm" else ""
        text = f"{tag}{message.title}{english}"
    return oneline(f"[cnai] {text}").replace("=?", "= ?")[:200]
