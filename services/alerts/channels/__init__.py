"""Send one message (an alert or a digest) to one channel. Everything from a feed is escaped for the channel.

Each channel kind is one module of this package (``console``, ``slack``, ``email``, ``apprise``) that
implements ``ChannelKind`` (base.py) and registers itself (registry.py); this module holds what every kind
shares: reading ``env:NAME`` targets (webhook URLs and tokens stay out of the database), masking targets and
scrubbing secrets from errors. Adding a kind is one new module here plus its test.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass

from db.models import Channel
from services.alerts.channels.base import ChannelKind, DeliveryError
from services.alerts.channels.registry import channel_kind, channel_kinds, find_channel_kind, register
from services.alerts.content import Message
from services.settings import Settings

__all__ = [
    "ChannelKind",
    "ChannelTest",
    "DeliveryError",
    "channel_kind",
    "channel_kinds",
    "channel_secrets",
    "find_channel_kind",
    "describe_target",
    "register",
    "resolve_target",
    "scrub",
    "send",
    "send_test_messages",
    "validate_target",
]


def resolve_target(channel: Channel) -> str:
    """A channel's target, reading ``env:NAME`` targets from the environment."""
    if channel.target.startswith("env:"):
        name = channel.target[4:]
        value = os.environ.get(name, "")
        if not value:
            raise DeliveryError(f"channel {channel.name!r}: environment variable {name} is not set", permanent=True)
        return value
    return channel.target


def validate_target(kind: str, target: str) -> str:
    """A target as stored: ``env:NAME`` as it is, anything else checked by its kind; ValueError says why not."""
    target = target.strip()
    if target.startswith("env:"):
        if not target[4:].replace("_", "").isalnum():
            raise ValueError(f"{target!r}: env: must name an environment variable")
        return target
    return channel_kind(kind).validate_target(target)


def describe_target(kind: str, target: str) -> str:
    """A target as it may be shown: env references as they are, secret parts masked by the kind."""
    if target.startswith("env:"):
        return target
    try:
        return channel_kind(kind).describe_target(target)
    except ValueError:  # a kind no module defines any more: show nothing of the target
        return "(redacted)"


def channel_secrets(channel: Channel, settings: Settings) -> list[str]:
    """Values that must never appear in an error, a log line or CLI output for this channel."""
    values = list(settings.secrets())
    try:
        values += channel_kind(channel.kind).secret_values(resolve_target(channel))
    except (DeliveryError, ValueError):
        pass
    return [v for v in values if v and len(v) >= 6]


def scrub(text: str, secrets: list[str]) -> str:
    for secret in sorted(secrets, key=len, reverse=True):
        text = text.replace(secret, "[redacted]")
    return text


def send(channel: Channel, message: Message, settings: Settings, key: str) -> str | None:
    """Deliver ``message``; return the channel's reference for it (e.g. the email Message-ID) if it has one.

    ``key`` is stable for the message's deliveries, so a resend carries the same identity (email Message-ID).
    Errors are DeliveryError with secrets scrubbed from their text.
    """
    try:
        try:
            kind = channel_kind(channel.kind)
        except ValueError as exc:
            raise DeliveryError(f"channel {channel.name!r}: {exc}", permanent=True) from None
        return kind.send(resolve_target(channel), message, settings, key)
    except DeliveryError as exc:
        clean = scrub(str(exc), channel_secrets(channel, settings))
        raise DeliveryError(clean, permanent=exc.permanent, retry_after=exc.retry_after) from None


@dataclass
class ChannelTest:
    channel: str
    kind: str
    error: str | None  # None: the test message went through


def send_test_messages(channels: Sequence[Channel], message: Message, settings: Settings) -> list[ChannelTest]:
    """Send ``message`` to each channel now (outside the outbox); what happened, channel by channel."""
    import uuid

    results = []
    for channel in channels:
        try:
            send(channel, message, settings, f"test-{uuid.uuid4().hex[:12]}")
        except DeliveryError as exc:
            results.append(ChannelTest(channel.name, channel.kind, str(exc)))
        else:
            results.append(ChannelTest(channel.name, channel.kind, None))
    return results
