"""Delivery retries: exponential backoff with ±20% jitter, capped at an hour."""

from __future__ import annotations

import pytest

from services.alerts.deliver import MAX_BACKOFF_S, backoff_seconds
from services.settings import Settings


@pytest.mark.parametrize(("attempts", "base"), [(0, 30.0), (1, 30.0), (2, 60.0), (3, 120.0), (5, 480.0), (7, 1920.0)])
def test_backoff_doubles_per_attempt_within_the_jitter(attempts: int, base: float) -> None:
    settings = Settings(ALERT_RETRY_BASE_SECONDS="30")  # type: ignore[call-arg]
    values = [backoff_seconds(attempts, settings) for _ in range(200)]
    assert all(0.8 * base <= v <= 1.2 * base for v in values), (min(values), max(values))
    assert max(values) - min(values) > 0.1 * base, "jitter spreads retries"


def test_backoff_is_capped_at_an_hour() -> None:
    settings = Settings(ALERT_RETRY_BASE_SECONDS="30")  # type: ignore[call-arg]
    values = [backoff_seconds(20, settings) for _ in range(200)]
    assert MAX_BACKOFF_S == 3600.0
    assert all(0.8 * 3600 <= v <= 1.2 * 3600 for v in values)
    assert max(values) > 3600.0 and min(values) < 3600.0
