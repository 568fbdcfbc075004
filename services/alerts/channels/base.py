"""What a channel kind is: the interface every kind module implements, and the error a send raises."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import ClassVar
from urllib.parse import urlsplit

from services.alerts.content import Message
from services.settings import Settings


class DeliveryError(Exception):
    """A send failed. ``permanent`` failures are not retried; ``retry_after`` is the channel's own hint (seconds)."""

    def __init__(self, reason: str, *, permanent: bool = False, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.permanent = permanent
        self.retry_after = retry_after


class ChannelKind(ABC):
    """One kind of channel (Slack, email...). A module in this package defines one, decorated with ``@register``.

    Targets reach ``send``, ``secret_values`` and ``validate_target`` resolved: an ``env:NAME`` target is read
    from the environment first (and only the reference is validated and stored).
    """

    #: The kind's name in subscriptions files, ``--channel KIND:TARGET`` and the channels table.
    name: ClassVar[str]
    #: One line for `cnai subscriptions add --help`: what a target looks like.
    target_help: ClassVar[str] = ""
    #: Sends are spaced by ALERT_PACE_SECONDS (webhooks allow about one message a second).
    paced: ClassVar[bool] = False
    #: A send whose outcome was never recorded (the sender died) may be repeated: the receiver copes with a
    #: duplicate (email keeps the Message-ID) or nobody minds. Otherwise it is marked failed, not resent.
    safe_to_resend: ClassVar[bool] = False
    #: A burst of alerts goes as one digest message; False: every alert is its own message.
    folded_into_digest: ClassVar[bool] = True

    def validate_target(self, target: str) -> str:
        """The target as stored, or ValueError saying what a target of this kind looks like."""
        return target

    def describe_target(self, target: str) -> str:
        """The target as it may be shown to people: secret parts masked."""
        return target

    def secret_values(self, target: str) -> list[str]:
        """Parts of a resolved target that must never appear in an error, a log line or CLI output."""
        return []

    @abstractmethod
    def send(self, target: str, message: Message, settings: Settings, key: str) -> str | None:
        """Deliver ``message``; the receiver's reference for it (e.g. a Message-ID) if it has one.

        ``key`` is stable across a message's resends. Raise DeliveryError on failure."""


def masked_url(target: str, *, keep_host: bool) -> str:
    """A URL whose path, query and credentials are tokens: scheme (and host) only."""
    try:
        parts = urlsplit(target)
    except ValueError:
        return "(redacted)"
    if keep_host and parts.hostname:
        return f"{parts.scheme}://{parts.hostname}/…(redacted)"
    return f"{parts.scheme}://…(redacted)" if parts.scheme else "(redacted)"


def url_secrets(target: str) -> list[str]:
    """The whole URL and its token-bearing parts."""
    values = [target]
    try:
        parts = urlsplit(target)
    except ValueError:
        return values
    return values + [parts.path, parts.password or "", parts.query]
