"""Plain-text and HTML renderings of alerts and digests, from the Jinja2 templates in ``config/templates``.

HTML templates (``*.html.j2``) are autoescaped: nothing from a feed can add markup to an email.
"""
from __future__ import annotations

import re
from datetime import datetime
from functools import lru_cache

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from services.alerts.content import Digest, Message, topic_label
from services.settings import CONFIG_DIR

TEMPLATES_DIR = CONFIG_DIR / "templates"


_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1f\x7f-\x9f]")


def oneline(text: str) -> str:
    """Every run of whitespace (CR, LF, tabs, Unicode line separators) as one space; control characters
    (terminal escape sequences included) dropped."""
    return " ".join(_CONTROL.sub("", str(text)).split())


def utc(moment: datetime) -> str:
    return f"{moment:%Y-%m-%d %H:%M} UTC"


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
    env.filters.update(oneline=oneline, utc=utc, topic_label=topic_label)
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
    text = message.heading if isinstance(message, Digest) else message.title
    return oneline(f"[cnai] {text}").replace("=?", "= ?")[:200]
