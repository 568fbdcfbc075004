"""Fixtures for alert tests: SMTP sinks, a self-signed certificate, settings pointed at the local stand-ins."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.alerts.smtp_sink import SMTPSink, make_certificate


@pytest.fixture(scope="session")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return make_certificate(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def smtp() -> Iterator[SMTPSink]:
    sink = SMTPSink().start()
    yield sink
    sink.stop()


@pytest.fixture
def alert_env(env: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """Settings for fast, deterministic delivery tests: no pacing, quick retries."""
    env.setenv("ALERT_PACE_SECONDS", "0")
    env.setenv("ALERT_RETRY_BASE_SECONDS", "30")
    env.setenv("ALERT_SWEEP_SECONDS", "20")
    env.setenv("ALERT_EMAIL_FROM", "cnai-monitor@alerts.example.org")
    return env
