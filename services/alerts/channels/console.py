"""``console``: each alert printed on stdout (for `make run` and trying things out); in `cnai run` and the workers
one log line per alert (id, priority, title, channel) instead."""

from __future__ import annotations

import logging
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
        from services.alerts.render import console_output

        how, text = console_output(message, "console")
        if how == "log":  # `cnai run` and the workers: one line per alert, not the body
            logging.getLogger("cnai.alerts.console").info(text)
        else:
            print(text, file=sys.stdout, flush=True)
        return None
