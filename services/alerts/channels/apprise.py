"""``apprise``: Teams, Telegram, DingTalk, WeCom, Feishu/Lark, generic webhooks... by apprise URL
(sending in services/alerts/apprise_channel.py)."""

from __future__ import annotations

from services.alerts.channels.base import ChannelKind, masked_url, url_secrets
from services.alerts.channels.registry import register
from services.alerts.content import Message
from services.settings import Settings


@register
class Apprise(ChannelKind):
    name = "apprise"
    target_help = "apprise:tgram://... or apprise:env:NAME"
    paced = True  # the services behind it are webhooks too

    def validate_target(self, target: str) -> str:
        if "://" not in target:
            raise ValueError(
                "an apprise target is an apprise URL (e.g. tgram://token/chat, json://host/path) or env:NAME"
            )
        return target

    def describe_target(self, target: str) -> str:
        return masked_url(target, keep_host=False)

    def secret_values(self, target: str) -> list[str]:
        return url_secrets(target)

    def send(self, target: str, message: Message, settings: Settings, key: str) -> str | None:
        from services.alerts.apprise_channel import notify_apprise

        notify_apprise(target, message)
        return None
