"""Quiet hours and digest slots, in the subscription's own time zone, across midnight and DST."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from db.models import Subscription
from services.alerts.schedule import next_digest_at, parse_clock, quiet_until, release_at


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=timezone.utc)


def sub(**values: object) -> Subscription:
    values.setdefault("timezone", "UTC")
    values.setdefault("mode", "instant")
    return Subscription(name="s", **values)


def test_quiet_hours_across_midnight_in_shanghai() -> None:
    quiet = sub(quiet_start="22:00", quiet_end="07:00", timezone="Asia/Shanghai")  # UTC+8
    assert quiet_until(quiet, utc(2026, 11, 20, 13, 59)) is None  # 21:59 local
    assert quiet_until(quiet, utc(2026, 11, 20, 14, 0)) == utc(2026, 11, 20, 23, 0)  # 22:00 -> 07:00 next day
    assert quiet_until(quiet, utc(2026, 11, 20, 18, 30)) == utc(2026, 11, 20, 23, 0)  # 02:30 local
    assert quiet_until(quiet, utc(2026, 11, 20, 23, 0)) is None  # 07:00 local: over


def test_quiet_hours_within_one_day_and_release_of_instant_alerts() -> None:
    lunch = sub(quiet_start="12:00", quiet_end="13:30", timezone="Europe/Berlin")  # UTC+1 in November
    assert quiet_until(lunch, utc(2026, 11, 20, 11, 15)) == utc(2026, 11, 20, 12, 30)
    assert release_at(lunch, utc(2026, 11, 20, 11, 15)) == utc(2026, 11, 20, 12, 30)
    assert release_at(lunch, utc(2026, 11, 20, 10, 0)) == utc(2026, 11, 20, 10, 0)


def test_daily_digest_at_local_time_keeps_its_wall_clock_across_dst() -> None:
    daily = sub(mode="digest", digest_schedule="daily", digest_time="08:00", timezone="Europe/Berlin")
    assert next_digest_at(daily, utc(2026, 3, 28, 6, 0)) == utc(2026, 3, 28, 7, 0)  # CET: 08:00 = 07:00 UTC
    assert next_digest_at(daily, utc(2026, 3, 28, 7, 0)) == utc(2026, 3, 29, 6, 0)  # after the switch to CEST


def test_hourly_digest_at_the_given_minute() -> None:
    hourly = sub(mode="digest", digest_schedule="hourly", digest_time="00:15", timezone="Asia/Kolkata")  # UTC+5:30
    assert next_digest_at(hourly, utc(2026, 11, 20, 9, 0)) == utc(2026, 11, 20, 9, 45)  # 14:30 local -> 15:15 local


def test_a_digest_slot_inside_quiet_hours_moves_to_their_end() -> None:
    digest = sub(mode="digest", digest_schedule="daily", digest_time="23:00", quiet_start="22:00", quiet_end="06:00")
    assert release_at(digest, utc(2026, 11, 20, 12, 0)) == utc(2026, 11, 21, 6, 0)


def test_bad_times_are_refused() -> None:
    for bad in ("25:00", "7", "07:5", "ab:cd"):
        with pytest.raises(ValueError):
            parse_clock(bad)
