"""Delivery: retries with backoff, 429 Retry-After, pacing, timeouts, permanent failures, bursts, digests, quiet hours."""

from __future__ import annotations

import gzip
import json
import time
from datetime import timedelta

import pytest
from sqlalchemy import select

from db.models import Alert, Delivery
from services.alerts.deliver import deliver_due, requeue_failed
from services.alerts.pacing import hold_channel, ready_at, take_slot, wall_clock
from services.alerts.slack import http_client
from services.database import unit_of_work
from services.settings import get_settings
from tests.alerts import factories as make
from tests.alerts.smtp_sink import SMTPSink
from tests.support.http import LocalHTTPServer, Request, Response, SlackStandIn

T0 = make.NOW


@pytest.fixture
def slack_db(pg_url: str, alert_env: pytest.MonkeyPatch, slack: SlackStandIn) -> str:
    """A database with one instant subscription to the Slack stand-in (target read from the environment)."""
    alert_env.setenv("DATABASE_URL", pg_url)
    alert_env.setenv("SLACK_WEBHOOK_URL", slack.url)
    with unit_of_work() as session:
        channel = make.channel(session, "team-slack", "slack", "env:SLACK_WEBHOOK_URL")
        make.subscription(session, "team", [channel])
    return pg_url


def deliveries() -> list[Delivery]:
    with unit_of_work() as session:
        return list(session.execute(select(Delivery).order_by(Delivery.id)).scalars())


def queue(count: int = 1, now=T0, **kwargs: object) -> None:  # type: ignore[no-untyped-def]
    with unit_of_work() as session:
        for i in range(count):
            make.alerted(session, now=now, title=f"Story {i}: CAC publishes AI rules", **kwargs)


def test_server_errors_are_retried_with_exponential_backoff(slack_db: str, slack: SlackStandIn) -> None:
    slack.script = [Response(500, b"oops"), Response(502, b"bad gateway")]
    queue()
    settings = get_settings()
    first = deliver_due(settings, T0)
    assert first.retrying == 1 and not slack.accepted
    [d] = deliveries()
    gap1 = d.next_attempt_at - T0
    assert timedelta(seconds=24) <= gap1 <= timedelta(seconds=36)
    assert d.status == "pending" and d.attempts == 1 and "HTTP 500" in (d.last_error or "")
    assert slack.url not in (d.last_error or "") and "/slack/webhook" not in (d.last_error or "")

    assert deliver_due(settings, T0 + gap1 - timedelta(seconds=1)).messages == 0, "not due yet"
    t1 = T0 + gap1
    deliver_due(settings, t1)
    [d] = deliveries()
    gap2 = d.next_attempt_at - t1
    assert timedelta(seconds=48) <= gap2 <= timedelta(seconds=72), "the second wait doubles"
    report = deliver_due(settings, t1 + gap2)
    assert report.sent == 1 and len(slack.accepted) == 1
    [d] = deliveries()
    assert d.status == "sent" and d.attempts == 3 and d.last_error is None and d.sent_at == t1 + gap2
    assert deliver_due(settings, t1 + gap2 + timedelta(hours=1)).messages == 0
    assert len(slack.accepted) == 1


def test_after_the_last_attempt_a_delivery_fails_for_good(
    slack_db: str, slack: SlackStandIn, alert_env: pytest.MonkeyPatch
) -> None:
    alert_env.setenv("ALERT_MAX_ATTEMPTS", "2")
    get_settings.cache_clear()
    slack.script = [Response(503), Response(503), Response(503)]
    queue()
    settings = get_settings()
    deliver_due(settings, T0)
    report = deliver_due(settings, T0 + timedelta(hours=1))
    assert report.failed == 1
    [d] = deliveries()
    assert d.status == "failed" and d.attempts == 2 and "HTTP 503" in (d.last_error or "")
    assert deliver_due(settings, T0 + timedelta(days=1)).messages == 0
    with unit_of_work() as session:
        assert session.execute(select(Alert.status)).scalar_one() == "failed"


def test_a_refused_webhook_fails_at_once_reports_to_sentry_without_secrets_and_can_be_retried(
    slack_db: str, slack: SlackStandIn, alert_env: pytest.MonkeyPatch, http_server: LocalHTTPServer
) -> None:
    import sentry_sdk

    from services.observability.sentry import init_sentry

    events: list[bytes] = []

    def sentry(request: Request) -> Response:
        body = request.body
        if request.headers.get("content-encoding") == "gzip":
            body = gzip.decompress(body)
        events.append(body)
        return Response(200, b"{}", {"Content-Type": "application/json"})

    http_server.routes["/api/1/envelope/"] = sentry
    alert_env.setenv("SENTRY_DSN", f"http://publickey@127.0.0.1:{http_server.port}/1")
    get_settings.cache_clear()
    settings = get_settings()
    assert init_sentry(settings, "test")
    try:
        slack.script = [Response(404, b"no_service")]
        queue()
        report = deliver_due(settings, T0)
        sentry_sdk.flush(5)
    finally:
        sentry_sdk.init(dsn="")
    assert report.failed == 1 and report.retrying == 0
    [d] = deliveries()
    assert d.status == "failed" and d.attempts == 1 and "HTTP 404" in (d.last_error or "")
    assert any(b"failed for good" in e for e in events), "reported to Sentry"
    assert not any(slack.url.encode() in e or b"/slack/webhook" in e for e in events)

    with unit_of_work() as session:
        assert requeue_failed(session, T0, [d.alert_id]) == 1
    assert deliver_due(settings, T0).sent == 1
    [d] = deliveries()
    assert d.status == "sent" and len(slack.accepted) == 1


def test_a_429_is_honoured_with_its_retry_after_then_sent_once(slack_db: str, slack: SlackStandIn) -> None:
    slack.script = [Response(429, b"rate_limited", {"Retry-After": "1"})]
    queue(2)
    started = time.time()
    report = deliver_due(get_settings())
    assert report.sent == 2 and len(slack.accepted) == 2
    posts = slack.server.requests_to("/slack/webhook")
    assert len(posts) == 3
    assert posts[1].received_at - posts[0].received_at >= 0.95, "nothing goes to the channel during Retry-After"
    assert time.time() - started < 5


def test_timeouts_are_retried(slack_db: str, slack: SlackStandIn, alert_env: pytest.MonkeyPatch) -> None:
    alert_env.setenv("ALERT_SEND_TIMEOUT_SECONDS", "0.3")
    get_settings.cache_clear()
    slack.script = [Response(200, b"ok", delay_s=1.0)]
    queue()
    report = deliver_due(get_settings(), T0)
    assert report.retrying == 1
    [d] = deliveries()
    assert d.status == "pending" and "timed out" in (d.last_error or "")


def test_messages_are_paced_per_webhook(slack_db: str, slack: SlackStandIn, alert_env: pytest.MonkeyPatch) -> None:
    alert_env.setenv("ALERT_PACE_SECONDS", "0.5")
    get_settings.cache_clear()
    queue(5)
    http_client()  # built once per process; the first message would otherwise arrive late and skew the gaps
    report = deliver_due(get_settings())
    assert report.sent == 5
    times = [r.received_at for r in slack.server.requests_to("/slack/webhook")]
    since_first = [round(t - times[0], 3) for t in times]
    assert since_first[4] >= 0.7, f"five messages take two intervals (less the first's head start): {since_first}"


def test_pacing_lets_a_burst_of_three_through_then_one_per_interval_and_honours_retry_after(
    pg_url: str, alert_env: pytest.MonkeyPatch
) -> None:
    alert_env.setenv("DATABASE_URL", pg_url)
    alert_env.setenv("ALERT_PACE_SECONDS", "10")
    settings = get_settings()
    with unit_of_work() as session:
        hook = make.channel(session, "hook", "slack", "https://hooks.example/x")
        email = make.channel(session, "desk", "email", "desk@example.org")
        started = wall_clock()
        assert [take_slot(session, hook, settings) for _ in range(3)] == [True, True, True]
        assert take_slot(session, hook, settings) is False
        free = ready_at(hook, settings)
        assert free is not None and timedelta(seconds=9) < free - started <= timedelta(seconds=10.5)
        assert all(take_slot(session, email, settings) for _ in range(10)), "SMTP is not paced"
        hold_channel(session, email.id, 5.0, settings)
        assert take_slot(session, email, settings) is False
        held = ready_at(email, settings)
        assert held is not None and timedelta(seconds=4) < held - started <= timedelta(seconds=6)


def test_a_burst_above_the_threshold_becomes_one_digest(
    slack_db: str, slack: SlackStandIn, alert_env: pytest.MonkeyPatch
) -> None:
    alert_env.setenv("ALERT_BURST_THRESHOLD", "20")
    get_settings.cache_clear()
    queue(25, topics=["chips_and_export_controls"])
    report = deliver_due(get_settings(), T0)
    assert report.messages == 1 and report.digested == report.sent == 25
    [message] = slack.accepted
    listed = json.dumps(message)
    assert all(f"Story {i}: CAC publishes AI rules" in listed for i in range(25))
    assert "Chips and export controls" in listed
    ds = deliveries()
    assert {d.status for d in ds} == {"digested"} and len({d.claim_token for d in ds}) == 1
    with unit_of_work() as session:
        assert set(session.execute(select(Alert.status)).scalars()) == {"digested"}

    queue(3, now=T0)
    assert deliver_due(get_settings(), T0).sent == 3, "below the threshold alerts go one by one"
    assert len(slack.accepted) == 4


def test_quiet_hours_hold_alerts_and_send_them_when_they_end(
    pg_url: str, alert_env: pytest.MonkeyPatch, smtp: SMTPSink
) -> None:
    alert_env.setenv("DATABASE_URL", pg_url)
    alert_env.setenv("SMTP_URL", smtp.url())
    evening = T0.replace(hour=21, minute=50)  # quiet 22:00-07:00 Europe/Berlin = 21:00-06:00 UTC in November
    with unit_of_work() as session:
        email = make.channel(session, "desk", "email", "desk@example.org")
        make.subscription(session, "desk", [email], timezone="Europe/Berlin", quiet_start="22:00", quiet_end="07:00")
        make.alerted(session, now=evening - timedelta(hours=1), title="Queued before quiet hours, not yet sent")
        make.alerted(session, now=evening, title="Arrived during quiet hours")
    settings = get_settings()
    assert deliver_due(settings, evening + timedelta(minutes=5)).messages == 0
    morning = T0.replace(hour=6) + timedelta(days=1)
    assert {d.next_attempt_at for d in deliveries()} == {morning}
    assert deliver_due(settings, morning - timedelta(minutes=1)).messages == 0
    assert smtp.messages == []
    report = deliver_due(settings, morning)
    assert report.sent == 2 and len(smtp.messages) == 2, "held, not dropped"


def test_a_daily_digest_subscription_sends_one_email_at_its_time(
    pg_url: str, alert_env: pytest.MonkeyPatch, smtp: SMTPSink
) -> None:
    alert_env.setenv("DATABASE_URL", pg_url)
    alert_env.setenv("SMTP_URL", smtp.url())
    with unit_of_work() as session:
        email = make.channel(session, "desk", "email", "desk@example.org")
        make.subscription(
            session,
            "brief",
            [email],
            mode="digest",
            digest_schedule="daily",
            digest_time="08:00",
            timezone="Asia/Shanghai",
        )  # 00:00 UTC
        for i, topic in enumerate(["regulation", "chips_and_export_controls", "regulation"]):
            make.alerted(session, now=T0 + timedelta(hours=i), title=f"Brief story {i}", topics=[topic])
    settings = get_settings()
    assert deliver_due(settings, T0 + timedelta(hours=5)).messages == 0
    slot = T0.replace(hour=0) + timedelta(days=1)
    report = deliver_due(settings, slot)
    assert report.messages == 1 and report.sent == 3
    [mail] = smtp.messages
    assert mail.message["Subject"] == "[cnai] Daily digest: brief (3 stories)"
    html = mail.message.get_body(("html",)).get_content()
    assert html.index("Regulation (2)") < html.index("Chips and export controls (1)")
    ds = deliveries()
    assert {d.status for d in ds} == {"sent"} and {d.message_ref for d in ds} == {mail.message["Message-ID"]}


def test_a_crash_after_slack_took_the_message_is_unconfirmed_not_sent_twice(
    slack_db: str, slack: SlackStandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    """E.g. the task's soft time limit firing while the send returns: Slack has the message, the sender
    never learns it. Retrying would post it twice, so it is marked failed (unconfirmed) instead."""
    import services.alerts.deliver as deliver_module

    real_send = deliver_module.send

    def send_then_crash(*args, **kwargs):  # type: ignore[no-untyped-def]
        real_send(*args, **kwargs)
        raise TimeoutError("soft time limit exceeded")

    monkeypatch.setattr(deliver_module, "send", send_then_crash)
    queue()
    report = deliver_due(get_settings(), T0)
    assert len(slack.accepted) == 1 and report.failed == 1 and report.retrying == 0
    [d] = deliveries()
    assert d.status == "failed" and "unconfirmed" in (d.last_error or "")
    monkeypatch.setattr(deliver_module, "send", real_send)
    assert deliver_due(get_settings(), T0 + timedelta(hours=2)).messages == 0
    assert len(slack.accepted) == 1, "never posted twice"
