"""Subscriptions and channels, including the default one built from the environment."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from db.models import Channel, Subscription
from services.settings import Settings

DEFAULT_SUBSCRIPTION = "default"


def _channel(session: Session, name: str, kind: str, target: str) -> Channel:
    channel = session.execute(select(Channel).where(Channel.name == name)).scalar_one_or_none()
    if channel is None:
        channel = Channel(name=name, kind=kind, target=target)
        session.add(channel)
    else:
        channel.kind, channel.target = kind, target
    return channel


def ensure_default_subscription(session: Session, settings: Settings) -> Subscription:
    """The subscription the environment alone implies: every relevant story, instantly, to the console and to
    Slack (``SLACK_WEBHOOK_URL``) and email (``SMTP_URL`` + ``ALERT_EMAIL_TO``) when configured.

    Channel targets name environment variables (``env:NAME``) so no secret is stored in the database.
    """
    subscription = session.execute(
        select(Subscription).where(Subscription.name == DEFAULT_SUBSCRIPTION)
    ).scalar_one_or_none()
    if subscription is None:
        subscription = Subscription(name=DEFAULT_SUBSCRIPTION, mode="instant", min_score=0.0)
        session.add(subscription)
    wanted = [_channel(session, "console", "console", "stdout")]
    if settings.slack_webhook_url and settings.slack_webhook_url.get_secret_value():
        wanted.append(_channel(session, "slack-default", "slack", "env:SLACK_WEBHOOK_URL"))
    if settings.smtp_url and settings.smtp_url.get_secret_value() and settings.alert_email_to:
        wanted.append(_channel(session, "email-default", "email", "env:ALERT_EMAIL_TO"))
    for channel in wanted:
        if channel not in subscription.channels:
            subscription.channels.append(channel)
    session.flush()
    return subscription
