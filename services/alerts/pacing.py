"""Pace messages per channel across every worker: about one a second per webhook, and a channel's Retry-After.

A generic cell rate algorithm on one column, ``channels.next_send_at`` (the theoretical arrival time):
a message may go when ``next_send_at - tolerance`` has passed, and taking the slot moves
``next_send_at`` one interval on. The tolerance lets a short burst of ``BURST`` messages through at
once, as Slack does. The slot is taken with a conditional update, so two senders never share one.
Pacing runs on the wall clock, not on the scheduling ``now`` a caller may inject.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from sqlalchemy import update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from db.models import Channel
from db.results import affected_rows
from services.alerts.channels import find_channel_kind
from services.settings import Settings

BURST = 3


def wall_clock() -> datetime:
    return datetime.now(timezone.utc)


def interval(channel: Channel, settings: Settings) -> timedelta:
    kind = find_channel_kind(channel.kind)
    return timedelta(seconds=settings.alert_pace_s if kind is not None and kind.paced else 0.0)


def ready_at(channel: Channel, settings: Settings) -> datetime | None:
    """When the next message may go to ``channel``; None when it may go now."""
    if channel.next_send_at is None:
        return None
    when = channel.next_send_at - interval(channel, settings) * (BURST - 1)
    return when if when > wall_clock() else None


def take_slot(session: Session, channel: Channel, settings: Settings) -> bool:
    """Take the channel's next slot; False if it is not free yet or another sender took it first."""
    if ready_at(channel, settings) is not None:
        return False
    step = interval(channel, settings)
    if not step:
        return True
    old = channel.next_send_at
    new = max(old or wall_clock(), wall_clock()) + step
    condition = Channel.next_send_at.is_(None) if old is None else Channel.next_send_at == old
    taken = session.execute(
        update(Channel)
        .where(Channel.id == channel.id, condition)
        .values(next_send_at=new)
        .execution_options(synchronize_session=False)
    )
    if affected_rows(taken) != 1:
        return False
    set_committed_value(channel, "next_send_at", new)
    return True


def hold_channel(session: Session, channel_id: int, seconds: float, settings: Settings) -> None:
    """Honour a Retry-After: nothing goes to the channel for ``seconds``, then one message per interval."""
    channel = session.get(Channel, channel_id)
    if channel is None:
        return
    until = wall_clock() + timedelta(seconds=seconds) + interval(channel, settings) * (BURST - 1)
    if channel.next_send_at is None or channel.next_send_at < until:
        channel.next_send_at = until
