"""The real `cnai` command line: alerts test, list, show, retry; subscriptions add, list, load, remove."""

from __future__ import annotations

import logging
import os
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from cli.main import cli
from services.alerts.deliver import deliver_due
from services.database import unit_of_work
from services.settings import get_settings
from tests.alerts import factories as make
from tests.alerts.smtp_sink import PASSWORD, SMTPSink
from tests.support.http import LocalHTTPServer, Response, SlackStandIn

REPO = Path(__file__).resolve().parents[2]
CNAI = REPO / ".venv" / "bin" / "cnai"
WEBHOOK_PATH = "/services/T0001/B0001/XoXsecretWebhookToken"


def cnai(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """The installed console script, in a process of its own."""
    return subprocess.run(
        [str(CNAI), *args], cwd=REPO, env={**os.environ, **env}, capture_output=True, text=True, timeout=60
    )


def run(*args: str) -> Result:
    """The same command line in this process (faster; environment from the ``env`` fixture)."""
    get_settings.cache_clear()
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    try:
        return CliRunner().invoke(cli, list(args), catch_exceptions=False)
    finally:
        root.handlers[:], root.level = handlers, level


@pytest.fixture
def configured(pg_url: str, http_server: LocalHTTPServer, certificate: tuple[Path, Path]):  # type: ignore[no-untyped-def]
    """Both channels configured from the environment: Slack stand-in and an SMTP server with STARTTLS and login."""
    smtp = SMTPSink(tls="starttls", auth=True, certificate=certificate).start()
    slack = SlackStandIn(http_server, WEBHOOK_PATH)
    env = {
        "DATABASE_URL": pg_url,
        "SLACK_WEBHOOK_URL": slack.url,
        "SMTP_URL": smtp.url(login=True),
        "SSL_CERT_FILE": str(certificate[0]),
        "ALERT_EMAIL_TO": "desk@example.org",
        "ALERT_PACE_SECONDS": "0",
        "SENTRY_DSN": "",
    }
    yield env, slack, smtp
    smtp.stop()


def assert_no_secret(output: str) -> None:
    assert "XoXsecretWebhookToken" not in output and PASSWORD not in output


def test_alerts_test_reaches_slack_and_email_and_says_so(configured) -> None:  # type: ignore[no-untyped-def]
    env, slack, smtp = configured
    result = cnai("alerts", "test", env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "OK      slack-default (slack)" in result.stdout
    assert "OK      email-default (email)" in result.stdout
    assert "3 of 3 channel(s) succeeded" in result.stdout
    assert len(slack.accepted) == 1 and "test alert" in slack.accepted[0]["text"]
    [mail] = smtp.messages
    assert mail.rcpt_tos == ["desk@example.org"] and "test alert" in mail.message["Subject"]
    assert_no_secret(result.stdout + result.stderr)

    slack.script = [Response(404, b"no_service")]
    failed = cnai("alerts", "test", env=env)
    assert failed.returncode == 1
    assert "FAILED  slack-default (slack): Slack webhook refused the message: HTTP 404" in failed.stdout
    assert "OK      email-default (email)" in failed.stdout and "2 of 3" in failed.stdout
    assert_no_secret(failed.stdout + failed.stderr)


def test_alerts_list_show_and_retry(configured, env: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    cli_env, slack, smtp = configured
    for name, value in cli_env.items():
        env.setenv(name, value)
    with unit_of_work() as session:
        slack_channel = make.channel(session, "team-slack", "slack", "env:SLACK_WEBHOOK_URL")
        make.subscription(session, "team", [slack_channel])
        make.alerted(
            session, title="CAC fines platform over unlabelled AI content", reasons=["policy term: fine", "entity: CAC"]
        )
        make.alerted(session, title="MIIT opens compute voucher scheme")
    slack.script = [Response(404, b"no_service")]
    deliver_due(get_settings(), make.NOW)

    listed = run("alerts", "list")
    assert listed.exit_code == 0, listed.output
    lines = listed.stdout.splitlines()
    assert "ID" in lines[0] and "TITLE" in lines[0]
    assert any("failed" in line and "team-slack:failed" in line and "CAC fines platform" in line for line in lines)
    assert any("sent" in line and "MIIT opens compute" in line for line in lines)
    only_failed = run("alerts", "list", "--status", "failed", "--since", "1000w")
    assert "CAC fines" in only_failed.stdout and "MIIT" not in only_failed.stdout
    failed_id = only_failed.stdout.splitlines()[1].split()[0]

    shown = run("alerts", "show", failed_id)
    assert shown.exit_code == 0
    for expected in (
        "Subscription: team (instant)",
        "policy term: fine",
        "entity: CAC",
        "team-slack (slack)",
        "failed, 1 attempt(s)",
        "last error: Slack webhook refused the message: HTTP 404",
    ):
        assert expected in shown.stdout, expected
    assert_no_secret(shown.stdout)

    retried = run("alerts", "retry", failed_id)
    assert retried.exit_code == 0, retried.output
    assert "requeued 1 failed delivery" in retried.stdout and "sent 1" in retried.stdout
    assert len(slack.accepted) == 2
    assert "team-slack (slack) to env:SLACK_WEBHOOK_URL: sent" in run("alerts", "show", failed_id).stdout


def test_subscriptions_add_load_list_test_and_remove(configured, env: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    cli_env, slack, smtp = configured
    for name, value in cli_env.items():
        env.setenv(name, value)
    secret_hook = "https://hooks.slack.example/services/T9/B9/AnotherSecretToken99"
    added = run(
        "subscriptions",
        "add",
        "chips",
        "--channel",
        f"slack:{secret_hook}",
        "--channel",
        "email:desk@example.org",
        "--topic",
        "chips_and_export_controls",
        "--language",
        "zh",
        "--min-score",
        "0.6",
        "--quiet",
        "22:00-07:00",
        "--tz",
        "Asia/Shanghai",
    )
    assert added.exit_code == 0, added.output
    assert "AnotherSecretToken99" not in added.stdout

    bad = run("subscriptions", "add", "typo", "--channel", "console", "--topic", "chip")
    assert bad.exit_code != 0 and "unknown topic(s) chip" in bad.output

    loaded = run("subscriptions", "load", str(REPO / "config" / "subscriptions.example.yaml"))
    assert loaded.exit_code == 0, loaded.output
    assert "loaded 4 channel(s) and 5 subscription(s)" in loaded.stdout

    listed = run("subscriptions", "list")
    assert listed.exit_code == 0
    rows = {line.split()[1]: line for line in listed.stdout.splitlines()[1:]}
    assert listed.stdout.split()[:2] == ["ID", "NAME"]
    for expected in (
        "instant",
        "score>=0.6 topics=chips_and_export_controls languages=zh",
        "22:00-07:00 Asia/Shanghai",
        "high+normal instant, low in the daily digest at 08:00 Asia/Shanghai",
    ):
        assert expected in rows["chips"], rows["chips"]
    assert "daily digest at 08:00 Europe/Berlin" in rows["daily-brief"]
    assert "disabled" in rows["default"].split()
    assert "https://hooks.slack.example/…(redacted)" in listed.stdout and "AnotherSecretToken99" not in listed.stdout

    tested = run("subscriptions", "test", "chips")
    assert tested.exit_code == 1, "the made-up Slack host cannot be reached"
    assert "OK      chips-email (email)" in tested.stdout and "FAILED  chips-slack (slack)" in tested.stdout
    assert "AnotherSecretToken99" not in tested.stdout

    unconfirmed = run("subscriptions", "remove", "chips")
    assert unconfirmed.exit_code == 2 and "--yes" in unconfirmed.output
    removed = run("subscriptions", "remove", "chips", "--yes")
    assert removed.exit_code == 0 and "removed subscription chips" in removed.stdout
    assert " chips " not in run("subscriptions", "list").stdout
