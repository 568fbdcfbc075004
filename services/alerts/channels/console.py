"""``console``: each alert printed on stdout (for `make run` and trying things out)."""
from __future__ import annotations

import sys

from services.alerts.channels.base import ChannelKind
from services.alerts.channels.registry import register
from services.alerts.content import Message
from services.settings import Settings


@register
class Console(ChannelKind):
    name = "console"
    target_help = "console:stdout"
    safe_to_resend = True  # a line printed twice harms nobody
    folded_into_digest = False  # a terminal shows every alert

    def validate_target(self, target: str) -> str:
        if target != "stdout":
            raise ValueError("a console target is stdout")
        return target

    def send(self, target: str, message: Message, settings: Settings, key: str) -> str | None:
        from services.alerts.render import render_text

        print("[ALERT] " + render_text(message).rstrip("\n"), file=sys.stdout, flush=True)
        return None
