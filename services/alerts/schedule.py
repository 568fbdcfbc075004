"""When a subscription's alerts may go out: quiet hours and digest slots, in the subscription's own time zone.

All inputs and outputs are UTC; local wall-clock times (``HH:MM``) are interpreted in the
subscription's IANA zone, so a daily digest at 08:00 Europe/Berlin stays at 08:00 across DST.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from db.models import Subscription


def parse_clock(value: str) -> time:
    """``HH:MM`` (24-hour) as a time; ValueError otherwise."""
    hours, sep, minutes = value.strip().partition(":")
    if not sep or not hours.isdigit() or not minutes.isdigit() or len(minutes) != 2:
        raise ValueError(f"{value!r} is not a time of day as HH:MM")
    return time(int(hours), int(minutes))


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"{name!r} is not an IANA time zone (e.g. Asia/Shanghai)") from exc


def _at(day: datetime, clock: time, tz: ZoneInfo) -> datetime:
    """The UTC instant of ``clock`` on the local calendar day of ``day``."""
    return datetime.combine(day.date(), clock, tzinfo=tz).astimezone(timezone.utc)


def quiet_until(subscription: Subscription, now: datetime) -> datetime | None:
    """End of the quiet period ``now`` falls in (UTC), or None outside quiet hours."""
    if not subscription.quiet_start or not subscription.quiet_end:
        return None
    tz = zone(subscription.timezone or "UTC")
    start, end = parse_clock(subscription.quiet_start), parse_clock(subscription.quiet_end)
    if start == end:
        return None
    local = now.astimezone(tz)
    current = local.time()
    if start < end:
        inside = start <= current < end
        end_day = local
    else:
        inside = current >= start or current < end
        end_day = local + timedelta(days=1) if current >= start else local
    return _at(end_day, end, tz) if inside else None


DEFAULT_DIGEST_TIME = time(8, 0)
"""The daily digest of an instant subscription's digest priorities (low by default) goes out at 08:00 local time."""


def next_digest_at(subscription: Subscription, now: datetime) -> datetime:
    """The first digest slot strictly after ``now`` (UTC): hourly at the minute of ``digest_time``, or daily at it
    (08:00 local when unset)."""
    tz = zone(subscription.timezone or "UTC")
    clock = parse_clock(subscription.digest_time) if subscription.digest_time else DEFAULT_DIGEST_TIME
    local = now.astimezone(tz)
    if subscription.digest_schedule == "hourly":
        slot = local.replace(minute=clock.minute, second=0, microsecond=0)
        while slot <= local:
            slot += timedelta(hours=1)
        return slot.astimezone(timezone.utc)
    slot_utc = _at(local, clock, tz)
    day = local
    while slot_utc <= now:
        day += timedelta(days=1)
        slot_utc = _at(day, clock, tz)
    return slot_utc


def after_quiet_hours(subscription: Subscription, when: datetime) -> datetime:
    """``when``, or the end of the quiet hours it falls in: held alerts are sent then, never dropped."""
    return quiet_until(subscription, when) or when


def release_at(subscription: Subscription, now: datetime, delivery_mode: str | None = None) -> datetime:
    """When a delivery for this subscription, created at ``now``, may first be sent (``delivery_mode``: instant or
    digest, by default the subscription's mode)."""
    when = next_digest_at(subscription, now) if (delivery_mode or subscription.mode) == "digest" else now
    return after_quiet_hours(subscription, when)
