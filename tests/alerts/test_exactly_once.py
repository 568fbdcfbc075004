"""Exactly once in effect, on PostgreSQL: concurrent senders never double a message, and a sender killed
between the send and its commit is resolved by policy (docs/alerts.md): email is sent again with the same
Message-ID, Slack is never sent twice and the delivery is left failed as unconfirmed for `cnai alerts retry`.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from db.models import Alert, Delivery
from services.alerts.deliver import deliver_due, requeue_failed
from services.alerts.pacing import wall_clock
from services.database import unit_of_work
from services.settings import get_settings
from tests.alerts import factories as make
from tests.alerts.smtp_sink import SMTPSink, block_until
from tests.support.http import Request, Response, SlackStandIn
from tests.support.threads import CheckedThread, join_all

REPO = Path(__file__).resolve().parents[2]
SENDER = "from services.alerts.deliver import deliver_due; from services.settings import get_settings; deliver_due(get_settings())"


@pytest.fixture
def two_channels(pg_url: str, alert_env: pytest.MonkeyPatch, slack: SlackStandIn, smtp: SMTPSink) -> str:
    alert_env.setenv("DATABASE_URL", pg_url)
    alert_env.setenv("SLACK_WEBHOOK_URL", slack.url)
    alert_env.setenv("SMTP_URL", smtp.url())
    with unit_of_work() as session:
        slack_channel = make.channel(session, "team-slack", "slack", "env:SLACK_WEBHOOK_URL")
        email_channel = make.channel(session, "desk", "email", "desk@example.org")
        make.subscription(session, "team", [slack_channel, email_channel])
    return pg_url


def stories_in_slack(slack: SlackStandIn) -> Counter[str]:
    """How many messages mention each story (a story appears once per message it is in)."""
    return Counter(story for m in slack.accepted for story in set(re.findall(r"S#\d+", json.dumps(m))))


def stories_in_email(smtp: SMTPSink) -> Counter[str]:
    return Counter(
        story
        for r in smtp.messages
        for story in set(re.findall(r"S#\d+", r.message.get_body(("plain",)).get_content()))
    )


@pytest.mark.parametrize("threshold", [1000, 8])
def test_concurrent_senders_deliver_each_story_exactly_once(
    two_channels: str, alert_env: pytest.MonkeyPatch, slack: SlackStandIn, smtp: SMTPSink, threshold: int
) -> None:
    alert_env.setenv("ALERT_BURST_THRESHOLD", str(threshold))
    alert_env.setenv("ALERT_DIGEST_MAX_ITEMS", "10")
    get_settings.cache_clear()
    with unit_of_work() as session:
        for i in range(24):
            make.alerted(session, title=f"S#{i} Beijing AI rules update")
    settings = get_settings()
    reports = []
    threads = [CheckedThread(lambda: reports.append(deliver_due(settings))) for _ in range(4)]
    for thread in threads:
        thread.start()
    join_all(threads, 120)
    expected = Counter({f"S#{i}": 1 for i in range(24)})
    assert stories_in_slack(slack) == expected
    assert stories_in_email(smtp) == expected
    assert sum(r.sent for r in reports) == 48
    # Threshold 8, digests of 10: per channel 24 due -> a digest of 10, 14 due -> another, then 4 alone.
    assert sum(r.digested for r in reports) == (0 if threshold == 1000 else 40)
    with unit_of_work() as session:
        statuses = Counter(session.execute(select(Delivery.status)).scalars())
    assert statuses == (Counter(sent=48) if threshold == 1000 else Counter(digested=40, sent=8))


def _start_sender(env_url: str, extra: dict[str, str]) -> subprocess.Popen[bytes]:
    env = {**os.environ, "DATABASE_URL": env_url, "ALERT_PACE_SECONDS": "0", **extra}
    return subprocess.Popen(
        [sys.executable, "-c", SENDER], cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )


def _kill_once_sent(sender: subprocess.Popen, received: threading.Event, release: threading.Event) -> None:  # type: ignore[type-arg]
    """SIGKILL the sender after the sink has the message but before the sink answers (so before the commit)."""
    try:
        assert received.wait(30), sender.stderr.read() if sender.poll() is not None else "sender never sent"  # type: ignore[union-attr]
        sender.kill()
        sender.wait(10)
    finally:
        release.set()
        if sender.poll() is None:
            sender.kill()


def test_a_slack_send_interrupted_by_a_kill_is_never_sent_twice(
    pg_url: str, alert_env: pytest.MonkeyPatch, slack: SlackStandIn
) -> None:
    alert_env.setenv("DATABASE_URL", pg_url)
    alert_env.setenv("SLACK_WEBHOOK_URL", slack.url)
    with unit_of_work() as session:
        make.subscription(session, "team", [make.channel(session, "team-slack", "slack", "env:SLACK_WEBHOOK_URL")])
        make.alerted(session, title="S#1 Chip export rules tightened")
    received, release = threading.Event(), threading.Event()

    def hold(request: Request) -> Response:
        slack.accepted.append(request.json())  # type: ignore[arg-type]
        received.set()
        release.wait(30)
        return Response(200, b"ok")

    slack.server.routes[slack.path] = hold
    _kill_once_sent(_start_sender(pg_url, {"SLACK_WEBHOOK_URL": slack.url}), received, release)
    [d] = _deliveries()
    assert d.status == "sending" and d.attempts == 1, "killed after Slack had the message, before the commit"

    settings = get_settings()
    slack.server.routes[slack.path] = slack._handle
    assert deliver_due(settings).messages == 0, "the claim has not expired yet: nothing is resent"
    later = wall_clock() + timedelta(seconds=settings.alert_claim_s + 1)
    report = deliver_due(settings, later)
    assert report.recovered == 1 and report.messages == 0
    [d] = _deliveries()
    assert d.status == "failed" and (d.last_error or "").startswith("unconfirmed")
    assert len(slack.accepted) == 1, "never sent twice"
    with unit_of_work() as session:
        assert session.execute(select(Alert.status)).scalar_one() == "failed", "visible for `cnai alerts retry`"
        assert requeue_failed(session, later, None) == 1
    assert deliver_due(settings, later).sent == 1 and len(slack.accepted) == 2, "the operator chose to resend"


def test_an_email_send_interrupted_by_a_kill_is_resent_with_the_same_message_id(
    pg_url: str, alert_env: pytest.MonkeyPatch, smtp: SMTPSink
) -> None:
    alert_env.setenv("DATABASE_URL", pg_url)
    alert_env.setenv("SMTP_URL", smtp.url())
    with unit_of_work() as session:
        make.subscription(session, "desk", [make.channel(session, "desk", "email", "desk@example.org")])
        make.alerted(session, title="S#1 Chip export rules tightened")
    release = threading.Event()
    smtp.recorder.on_data = lambda: block_until(release)
    _kill_once_sent(_start_sender(pg_url, {"SMTP_URL": smtp.url()}), smtp.recorder.received, release)
    smtp.recorder.on_data = None
    [d] = _deliveries()
    assert d.status == "sending"

    settings = get_settings()
    report = deliver_due(settings, wall_clock() + timedelta(seconds=settings.alert_claim_s + 1))
    assert report.recovered == 1 and report.sent == 1
    first, second = smtp.messages
    assert first.message["Message-ID"] == second.message["Message-ID"], "a client drops the duplicate"
    [d] = _deliveries()
    assert d.status == "sent" and d.attempts == 2 and d.message_ref == first.message["Message-ID"]
    assert deliver_due(settings).messages == 0 and len(smtp.messages) == 2


def _deliveries() -> list[Delivery]:
    with unit_of_work() as session:
        return list(session.execute(select(Delivery).order_by(Delivery.id)).scalars())
