"""The documented command sequence, run as a user would: db upgrade, feeds add, poll, poll again."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.support.http import LocalHTTPServer, SlackStandIn

SAMPLES = Path(__file__).resolve().parents[2] / "config" / "samples"
CNAI = str(Path(sys.executable).with_name("cnai"))


def _cnai(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([CNAI, *args], env=env, capture_output=True, text=True, timeout=120)


def test_upgrade_add_poll_delivers_to_slack_once(
    tmp_path: Path, http_server: LocalHTTPServer, slack: SlackStandIn
) -> None:
    feed_url = http_server.serve_file("/feed.xml", SAMPLES / "customer_seeds.xml")
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "SMTP_", "SENTRY_", "DATABASE_"))},
        "DATABASE_URL": f"sqlite:///{tmp_path / 'e2e.db'}",
        "SLACK_WEBHOOK_URL": slack.url,
        "FETCH_ALLOWED_NETWORKS": "127.0.0.0/8",
    }
    for args in (("db", "upgrade"), ("feeds", "add", feed_url)):
        result = _cnai(env, *args)
        assert result.returncode == 0, result.stderr
    first = _cnai(env, "poll")
    assert first.returncode == 0, first.stderr
    assert len(slack.accepted) == 5, first.stdout
    assert "slack-default: 5" in first.stdout
    second = _cnai(env, "poll", "--all")
    assert second.returncode == 0, second.stderr
    assert "0 new article" in second.stdout
    assert len(slack.accepted) == 5
    assert slack.url not in first.stdout + first.stderr, "the webhook URL is a secret"


def test_bad_setting_fails_at_start_naming_the_variable(tmp_path: Path) -> None:
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}", "FETCH_MAX_BYTES": "ten megabytes"}
    result = _cnai(env, "poll")
    assert result.returncode == 2
    assert "FETCH_MAX_BYTES" in result.stderr and "Traceback" not in result.stderr
