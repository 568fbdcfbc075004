"""Recovering deliveries whose sender died mid-send (``sending`` past ``claimed_until``).

Only those are touched: a claim still running, or a delivery in any other state, is left alone.
Email can be sent again (the same Message-ID lets the mail system drop a duplicate); a Slack
message cannot, so it becomes ``failed`` as unconfirmed, as does anything past its last attempt.
"""

from __future__ import annotations

import logging
import threading
from datetime import timedelta

import pytest
from sqlalchemy import create_engine, select, text

from db.enums import AlertStatus, DeliveryStatus
from db.models import Alert, Delivery
from services.alerts.deliver import UNCONFIRMED, DeliveryReport, recover_abandoned
from services.database import unit_of_work
from services.settings import get_settings
from tests.alerts import factories as make

NOW = make.NOW


@pytest.fixture
def two_channels(pg_url: str, alert_env: pytest.MonkeyPatch) -> None:
    """One subscription to a Slack and an email channel (never contacted: recovery sends nothing)."""
    alert_env.setenv("DATABASE_URL", pg_url)
    alert_env.setenv("ALERT_MAX_ATTEMPTS", "3")
    get_settings.cache_clear()
    with unit_of_work() as session:
        slack = make.channel(session, "desk-slack", "slack", "https://hooks.slack.invalid/x")
        email = make.channel(session, "desk-email", "email", "desk@example.org")
        make.subscription(session, "desk", [slack, email])


def queue_story(title: str) -> dict[str, int]:
    """A story's deliveries, by channel kind."""
    with unit_of_work() as session:
        alerts = make.alerted(session, now=NOW, title=title)
        return {d.channel.kind: d.id for a in alerts for d in a.deliveries}


def set_delivery(delivery_id: int, status: DeliveryStatus, claimed_until: timedelta | None, attempts: int = 1) -> None:
    with unit_of_work() as session:
        delivery = session.get(Delivery, delivery_id)
        assert delivery is not None
        delivery.status = status
        delivery.claimed_until = NOW + claimed_until if claimed_until is not None else None
        delivery.claim_token = "dead-sender"
        delivery.attempts = attempts


def recover() -> DeliveryReport:
    report = DeliveryReport()
    with unit_of_work() as session:
        recover_abandoned(session, get_settings(), NOW, report)
    return report


def state(delivery_id: int) -> Delivery:
    with unit_of_work() as session:
        delivery = session.get(Delivery, delivery_id)
        assert delivery is not None
        session.expunge(delivery)
        return delivery


def test_a_dead_senders_email_is_sent_again_and_its_slack_message_marked_unconfirmed(
    two_channels: None, caplog: pytest.LogCaptureFixture
) -> None:
    ids = queue_story("CAC publishes draft rules for generative AI labels")
    for delivery_id in ids.values():
        set_delivery(delivery_id, DeliveryStatus.SENDING, timedelta(seconds=-1))
    with caplog.at_level(logging.WARNING, logger="services.alerts.deliver"):
        report = recover()
    logged = [r.getMessage() for r in caplog.records]
    assert f"delivery {ids['email']} to desk-email: sender died mid-send, sending again" in logged
    assert f"delivery {ids['slack']} to desk-slack: sender died mid-send; unconfirmed" in logged
    assert report.recovered == 2
    email, slack = state(ids["email"]), state(ids["slack"])
    assert email.status == DeliveryStatus.PENDING and email.next_attempt_at == NOW and email.claimed_until is None
    assert email.last_error == "the sender stopped before recording the send; sending again (same Message-ID)"
    assert slack.status == DeliveryStatus.FAILED and slack.claimed_until is None
    assert slack.last_error == UNCONFIRMED.format(id=slack.alert_id)
    with unit_of_work() as session:
        alert = session.execute(select(Alert).where(Alert.id == slack.alert_id)).scalar_one()
        assert alert.status != AlertStatus.SENT, "an unconfirmed delivery does not count as sent"


def test_a_claim_still_running_or_just_at_its_end_is_left_alone(two_channels: None) -> None:
    ids = queue_story("MIIT names pilot zones for AI computing vouchers")
    set_delivery(ids["email"], DeliveryStatus.SENDING, timedelta(seconds=30))
    set_delivery(ids["slack"], DeliveryStatus.SENDING, timedelta(0))  # expires exactly now: not yet past
    assert recover().recovered == 0
    assert {state(i).status for i in ids.values()} == {DeliveryStatus.SENDING}


@pytest.mark.parametrize("status", [DeliveryStatus.PENDING, DeliveryStatus.SENT, DeliveryStatus.FAILED])
def test_deliveries_not_being_sent_are_never_recovered(two_channels: None, status: DeliveryStatus) -> None:
    ids = queue_story("Shanghai fund backs three domestic GPU makers")
    for delivery_id in ids.values():
        set_delivery(delivery_id, status, timedelta(minutes=-10))
    assert recover().recovered == 0
    assert {state(i).status for i in ids.values()} == {status}
    assert {state(i).last_error for i in ids.values()} == {None}


def test_an_email_past_its_last_attempt_is_unconfirmed_not_resent(two_channels: None) -> None:
    ids = queue_story("Beijing court rules on an AI voice clone")
    set_delivery(ids["email"], DeliveryStatus.SENDING, timedelta(seconds=-5), attempts=3)
    set_delivery(ids["slack"], DeliveryStatus.PENDING, None)
    assert recover().recovered == 1
    email = state(ids["email"])
    assert email.status == DeliveryStatus.FAILED and email.last_error == UNCONFIRMED.format(id=email.alert_id)
    set_delivery(ids["email"], DeliveryStatus.SENDING, timedelta(seconds=-5), attempts=2)
    assert recover().recovered == 1
    assert state(ids["email"]).status == DeliveryStatus.PENDING, "one attempt left: sent again"


def test_a_delivery_another_sweep_holds_is_skipped_not_waited_for(two_channels: None, pg_url: str) -> None:
    ids = queue_story("Guangdong opens an AI model filing desk")
    for delivery_id in ids.values():
        set_delivery(delivery_id, DeliveryStatus.SENDING, timedelta(seconds=-1))
    other = create_engine(pg_url)
    finished = threading.Event()
    reports: list[DeliveryReport] = []
    try:
        with other.connect() as holder:
            holder.execute(text("SELECT id FROM deliveries WHERE id = :id FOR UPDATE"), {"id": ids["email"]})
            worker = threading.Thread(target=lambda: (reports.append(recover()), finished.set()), daemon=True)
            worker.start()
            assert finished.wait(20), "recovery waited for a row another sweep holds"
            holder.rollback()
        worker.join(20)
        assert not worker.is_alive()
    finally:
        other.dispose()
    assert reports[0].recovered == 1, "only the delivery nobody holds"
    assert state(ids["slack"]).status == DeliveryStatus.FAILED
    assert state(ids["email"]).status == DeliveryStatus.SENDING, "left to the sweep that holds it"
