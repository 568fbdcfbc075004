"""Subscriptions route by priority: which priorities, instantly or in a digest; low is never instant unless asked."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

import pytest
from pydantic import ValidationError
from sqlalchemy import select

from db.models import Alert, Subscription
from services.alerts.deliver import deliver_due
from services.alerts.outbox import queue_alerts
from services.alerts.subscriptions import SubscriptionSpec, ensure_default_subscription, save_subscription
from services.database import unit_of_work
from services.settings import get_settings
from tests.alerts import factories as make
from tests.support.http import SlackStandIn

T0 = make.NOW  # 2026-11-20 09:00 UTC


@dataclass
class Triaged:
    """A classifier verdict with a priority and reader reasons."""

    priority: str | None
    relevant: bool = True
    score: float = 0.9
    topics: list[str] = field(default_factory=lambda: ["regulation"])
    entities: list[str] = field(default_factory=lambda: ["Cyberspace Administration of China"])
    reader_reasons: list[str] = field(default_factory=list)


def _queue(session, priority: str | None, title: str) -> list[Alert]:  # type: ignore[no-untyped-def]
    item, _ = make.article(session, title=title)
    return queue_alerts(session, item, Triaged(priority), T0)


@pytest.fixture
def default_db(pg_url: str, alert_env: pytest.MonkeyPatch, slack: SlackStandIn) -> str:
    alert_env.setenv("DATABASE_URL", pg_url)
    alert_env.setenv("SLACK_WEBHOOK_URL", slack.url)
    with unit_of_work() as session:
        ensure_default_subscription(session, get_settings())
    return pg_url


def test_default_subscription_sends_high_and_normal_now_and_low_in_the_daily_digest(
    default_db: str, slack: SlackStandIn
) -> None:
    with unit_of_work() as session:
        _queue(session, "high", "Regulator issues binding rules on generative AI services")
        _queue(session, "normal", "Provincial government opens an AI computing centre")
        _queue(session, "low", "Ten prompts to get more out of a chatbot at work")
        _queue(session, None, "Startup shows an AI assistant at a trade fair")  # no priority: routed as normal
    settings = get_settings()
    now = deliver_due(settings, T0)
    texts = [m["text"] for m in slack.accepted]
    assert len(texts) == 3, texts
    assert not any("Ten prompts" in t for t in texts), "low is never pushed instantly by default"
    assert texts[0].startswith("[high] Regulator issues")
    assert now.sent_by_channel == {"slack-default": 3, "console": 3}

    assert deliver_due(settings, T0 + timedelta(hours=22)).messages == 0, "the digest waits for 08:00 UTC"
    morning = deliver_due(settings, (T0 + timedelta(days=1)).replace(hour=8))
    assert morning.sent_by_channel.get("slack-default") == 1
    digest = slack.accepted[-1]
    assert digest["text"] == "Daily digest: default (1 story): 1 stories"
    body = "\n".join(b["text"]["text"] for b in digest["blocks"] if "text" in b and isinstance(b["text"], dict))
    assert "Ten prompts to get more out of a chatbot at work" in body and ":white_circle:" in body
    with unit_of_work() as session:
        modes = dict(session.execute(select(Alert.priority, Alert.delivery_mode)).all())
    assert modes == {"high": "instant", "normal": "instant", "low": "digest", None: "instant"}


def test_a_subscription_gets_only_the_priorities_it_asks_for_and_low_instantly_only_when_asked(
    pg_url: str, alert_env: pytest.MonkeyPatch, slack: SlackStandIn
) -> None:
    alert_env.setenv("DATABASE_URL", pg_url)
    alert_env.setenv("SLACK_WEBHOOK_URL", slack.url)
    with unit_of_work() as session:
        save_subscription(
            session,
            SubscriptionSpec(
                name="urgent",
                channels=[{"name": "hook", "kind": "slack", "target": "env:SLACK_WEBHOOK_URL"}],  # type: ignore[list-item]
                priorities={"high": "instant"},
            ),
        )
        save_subscription(
            session,
            SubscriptionSpec(
                name="everything-now",
                channels=["hook"],
                priorities={"high": "instant", "normal": "instant", "low": "instant"},
            ),
        )
        high = _queue(session, "high", "Ministry drafts AI safety law for public comment")
        low = _queue(session, "low", "A beginner's guide to fine-tuning open models")
        assert [session.get(Subscription, a.subscription_id).name for a in high] == ["urgent", "everything-now"]  # type: ignore[union-attr]
        assert [session.get(Subscription, a.subscription_id).name for a in low] == ["everything-now"]  # type: ignore[union-attr]
    report = deliver_due(get_settings(), T0)
    assert report.sent == 3
    assert sum("beginner's guide" in m["text"] for m in slack.accepted) == 1


def test_a_digest_subscription_puts_every_priority_in_its_digest_unless_told_otherwise(
    pg_url: str, alert_env: pytest.MonkeyPatch
) -> None:
    alert_env.setenv("DATABASE_URL", pg_url)
    with unit_of_work() as session:
        brief = save_subscription(
            session,
            SubscriptionSpec(
                name="brief",
                channels=[{"name": "out", "kind": "console", "target": "stdout"}],  # type: ignore[list-item]
                mode="digest",
                schedule="daily",
                at="07:30",
                timezone="Asia/Shanghai",
            ),
        )
        assert (brief.instant_priorities, brief.digest_priorities) == ([], ["high", "normal", "low"])
        mixed = save_subscription(
            session,
            SubscriptionSpec(
                name="mixed",
                channels=["out"],
                mode="digest",
                priorities={"high": "instant", "normal": "digest"},
            ),
        )
        assert (mixed.instant_priorities, mixed.digest_priorities) == (["high"], ["normal"])
        alerts = _queue(session, "high", "State Council publishes an AI-plus action plan")
        assert sorted((a.subscription_id, a.delivery_mode) for a in alerts) == [
            (brief.id, "digest"),
            (mixed.id, "instant"),
        ]


@pytest.mark.parametrize(
    "priorities, message",
    [
        ({"urgent": "instant"}, "priorities.urgent"),
        ({"low": "sometimes"}, "priorities.low"),
        ({}, "name at least one"),
    ],
)
def test_bad_priorities_are_refused_with_a_clear_message(priorities: dict, message: str) -> None:  # type: ignore[type-arg]
    with pytest.raises(ValidationError) as error:
        SubscriptionSpec(name="x", channels=["console"], priorities=priorities)  # type: ignore[arg-type]
    assert message in str(error.value)


def test_cli_adds_priority_routes_and_alerts_list_shows_priority_local_time_english_and_reasons(
    pg_url: str, alert_env: pytest.MonkeyPatch
) -> None:
    from tests.alerts.test_cli import run

    alert_env.setenv("DATABASE_URL", pg_url)
    added = run(
        "subscriptions",
        "add",
        "urgent-sh",
        "--channel",
        "console:stdout",
        "--tz",
        "Asia/Shanghai",
        "--priority",
        "high=instant",
        "--priority",
        "normal=digest",
        "--at",
        "09:30",
    )
    assert added.exit_code == 0, added.output
    assert "high instant, normal in the daily digest at 09:30 Asia/Shanghai" in added.stdout
    bad = run("subscriptions", "add", "typo", "--channel", "console:stdout", "--priority", "high=now")
    assert bad.exit_code == 2 and "priorities.high" in bad.output and "Traceback" not in bad.output
    with unit_of_work() as session:
        make.alerted(
            session,
            title="国务院印发人工智能安全治理条例",
            summary="国务院发布条例。",
            language="zh-Hans",
            priority="high",
            topics=["regulation"],
            entities=["State Council"],
            reader_reasons=["The State Council, China's cabinet, issues a regulation.", "Names AI safety."],
        )
        make.alerted(session, title="Vendor blog lists five AI meeting-note apps", priority="low")
    listed = run("alerts", "list")
    assert listed.exit_code == 0, listed.output
    lines = listed.stdout.splitlines()
    assert "PRIORITY" in lines[0] and "CREATED (SUBSCRIPTION'S ZONE)" in lines[0]
    row = next(i for i, line in enumerate(lines) if "国务院印发" in line)
    assert "2026-11-20 17:00 Asia/Shanghai (UTC+08:00)" in lines[row] and " high " in lines[row]
    assert lines[row + 1].strip().startswith("English gloss: Chinese-language item on regulation: State Council")
    assert lines[row + 2].strip() == "Why: The State Council, China's cabinet, issues a regulation. Names AI safety."
    assert "five AI meeting-note apps" not in listed.stdout, "low is not wanted by urgent-sh: no alert"
