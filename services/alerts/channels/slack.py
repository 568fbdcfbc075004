"""``slack``: Slack incoming webhooks, Block Kit messages (rendering in services/alerts/slack.py)."""

from __future__ import annotations

from services.alerts.channels.base import ChannelKind, masked_url, url_secrets
from services.alerts.channels.registry import register
from services.alerts.content import Message
from services.settings import Settings


@register
class Slack(ChannelKind):
    name = "slack"
    target_help = "slack:https://hooks.slack.com/... or slack:env:NAME"
    paced = True  # a webhook takes about one message a second

    def validate_target(self, target: str) -> str:
        if not target.startswith(("https://", "http://")):
            raise ValueError("a Slack target is an incoming-webhook URL (https://hooks.slack.com/...) or env:NAME")
        return target

    def describe_target(self, target: str) -> str:
        return masked_url(target, keep_host=True)

    def secret_values(self, target: str) -> list[str]:
        return url_secrets(target)

    def send(self, target: str, message: Message, settings: Settings, key: str) -> str | None:
        from services.alerts.slack import post_slack, slack_payload

        return post_slack(target, slack_payload(message), settings.alert_send_timeout_s)
