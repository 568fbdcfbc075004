"""Slack and the SMTP server down for a minute: every alert is delivered once to each, after they come back.

"A minute" runs on the delivery clock that ``deliver_due(now=...)`` takes, so the test sweeps every 15 s
of simulated time (as beat does) without waiting: while down, both refuse connections (nothing listens).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import func, select

from db.models import Alert, Delivery
from services.alerts.deliver import deliver_due
from services.cycle import run_cycle
from services.database import unit_of_work
from services.settings import get_settings
from tests.faults.conftest import register
from tests.faults.outage import Outage
from tests.support.http import LocalHTTPServer, SlackStandIn
from tests.support.services import free_port

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

SEEDS = Path(__file__).resolve().parents[2] / "config" / "samples" / "customer_seeds.xml"


class Inbox:
    def __init__(self) -> None:
        self.messages: list[bytes] = []

    async def handle_DATA(self, server, session, envelope) -> str:  # type: ignore[no-untyped-def]
        self.messages.append(envelope.content)
        return "250 OK"


class SMTPServer:
    """aiosmtpd on a fixed port, started and stopped at will (stopped: connection refused)."""

    def __init__(self) -> None:
        self.port = free_port()
        self.inbox = Inbox()
        self.controller: Controller | None = None

    def up(self) -> None:
        self.controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def down(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


@pytest.fixture
def smtp() -> Iterator[SMTPServer]:
    server = SMTPServer()
    yield server
    server.down()


@pytest.fixture
def slack_outage(slack: SlackStandIn) -> Iterator[Outage]:
    outage = Outage(slack.server.port)
    yield outage
    outage.down()


def test_slack_and_smtp_down_for_a_minute(
    fault_env: pytest.MonkeyPatch,
    pg_url: str,
    http_server: LocalHTTPServer,
    slack: SlackStandIn,
    slack_outage: Outage,
    smtp: SMTPServer,
) -> None:
    fault_env.setenv("DATABASE_URL", pg_url)
    fault_env.setenv("SLACK_WEBHOOK_URL", f"http://127.0.0.1:{slack_outage.port}{slack.path}")
    fault_env.setenv("SMTP_URL", f"smtp://127.0.0.1:{smtp.port}")
    fault_env.setenv("ALERT_EMAIL_TO", "analysts@example.test")
    fault_env.setenv("ALERT_PACE_SECONDS", "0")
    fault_env.setenv("ALERT_SEND_TIMEOUT_SECONDS", "2")
    settings = get_settings()
    register(pg_url, [http_server.serve_file("/seeds.xml", SEEDS)])
    cycle = run_cycle(settings, include_not_due=True)
    assert cycle.alerts_queued == 5, cycle

    start = datetime.now(timezone.utc)
    failed_attempts = 0
    for second in range(0, 181, 15):
        if second == 60:
            slack_outage.up()
            smtp.up()
        report = deliver_due(settings, start + timedelta(seconds=second))
        failed_attempts += report.retrying
        if second < 60:
            assert set(report.sent_by_channel) <= {"console"} and report.failed == 0, (
                f"at +{second}s, both down: {report}"
            )
    deliver_due(settings, start + timedelta(hours=2))

    assert failed_attempts >= 2, "the outage was never noticed"
    assert len(slack.accepted) == 5, f"{len(slack.accepted)} Slack messages for 5 alerts"
    assert len({m["text"] for m in slack.accepted}) == 5, "an alert was posted to Slack twice"
    assert len(smtp.inbox.messages) == 5, f"{len(smtp.inbox.messages)} emails for 5 alerts"
    ids = [
        next(line for line in m.split(b"\r\n") if line.lower().startswith(b"message-id:")) for m in smtp.inbox.messages
    ]
    assert len(set(ids)) == 5, "an alert was emailed twice"
    with unit_of_work(pg_url) as session:
        statuses = dict(session.execute(select(Delivery.status, func.count()).group_by(Delivery.status)).all())
        assert statuses == {"sent": 15}, statuses  # console, Slack and email for each of the 5 alerts
        assert session.execute(select(func.count()).select_from(Alert).where(Alert.status != "sent")).scalar_one() == 0
