"""Statuses and queue names: one StrEnum each, used by the models, services, CLI, workers and metrics.

They are ``str`` subclasses, so they compare equal to (and are stored as) their values.
"""

from __future__ import annotations

from enum import StrEnum


class DeliveryStatus(StrEnum):
    """One alert to one channel."""

    PENDING = "pending"  # waiting for its time (first attempt, retry, quiet hours or digest)
    SENDING = "sending"  # claimed by a sender
    SENT = "sent"
    FAILED = "failed"  # for good (permanent error or out of attempts)
    DIGESTED = "digested"  # carried in a burst digest


class AlertStatus(StrEnum):
    """An alert: the worst of its deliveries."""

    PENDING = "pending"
    SENT = "sent"
    PARTIAL = "partial"  # some channels failed, others got it
    FAILED = "failed"
    DIGESTED = "digested"


class PollStatus(StrEnum):
    """What one poll of one feed came to."""

    OK = "ok"
    NOT_MODIFIED = "not_modified"
    ERROR = "error"
    SKIPPED = "skipped"  # another worker holds the feed, or it is not due


class Queue(StrEnum):
    """Celery queues: a task's queue follows its name (``cnai.poll.dispatch`` -> dispatch, other ``cnai.poll.*`` -> poll)."""

    DISPATCH = "dispatch"  # its own queue: a backlog on poll can neither delay nor expire the dispatch
    POLL = "poll"
    CLASSIFY = "classify"
    DELIVER = "deliver"


class FeedHealth(StrEnum):
    """A feed as `cnai feeds list` shows it."""

    OK = "ok"
    FAILING = "failing"
    DISABLED = "disabled"


class FullTextMode(StrEnum):
    """A feed's ``full_text`` setting: when the poll fetches an article's page for its main text."""

    AUTO = "auto"  # only for thin feed text with an uncertain verdict
    ALWAYS = "always"  # every new article (title-only feeds)
    NEVER = "never"


class DeliveryMode(StrEnum):
    """How a subscription takes an alert of a given priority (``alerts.delivery_mode``)."""

    INSTANT = "instant"
    DIGEST = "digest"  # in the subscription's next digest
