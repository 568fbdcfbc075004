"""Which stories alert whom: subscription rules, one alert per story, the default subscription from env."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest
from sqlalchemy import func, select, text

from db.models import Alert, Channel, Delivery
from services.alerts.content import alert_content
from services.alerts.deliver import deliver_due
from services.alerts.outbox import queue_alerts
from services.alerts.subscriptions import ensure_default_subscription
from services.database import unit_of_work
from services.settings import get_settings
from tests.alerts import factories as make
from tests.alerts.smtp_sink import SMTPSink
from tests.support.http import SlackStandIn
from tests.support.threads import CheckedThread, join_all


def _names(alerts: list[Alert], session) -> set[str]:  # type: ignore[no-untyped-def]
    from db.models import Subscription

    return {session.get(Subscription, a.subscription_id).name for a in alerts}


def test_subscriptions_filter_by_topic_language_score_entity_and_source(
    sqlite_url: str, alert_env: pytest.MonkeyPatch
) -> None:
    alert_env.setenv("DATABASE_URL", sqlite_url)
    with unit_of_work() as session:
        console = make.channel(session, "console", "console", "stdout")
        make.subscription(session, "everything", [console])
        make.subscription(session, "chips-zh", [console], topics=["chips_and_export_controls"], languages=["zh"])
        make.subscription(session, "strong", [console], min_score=0.9)
        make.subscription(session, "deepseek", [console], entities=["deepseek"])
        make.subscription(session, "caixin", [console], sources=["caixin.example"])
        make.subscription(session, "off", [console], enabled=False)
        caixin = make.feed(session, "https://www.caixin.example/rss", "Caixin")

        def alerted_to(**kwargs: object) -> set[str]:
            return _names(make.alerted(session, **kwargs), session)

        assert alerted_to(topics=["chips_and_export_controls"], language="en") == {"everything"}
        assert alerted_to(topics=["chips_and_export_controls"], language="zh-Hans") == {"everything", "chips-zh"}
        assert alerted_to(topics=["chips_and_export_controls", "regulation"], language="zh-Hant") == {
            "everything",
            "chips-zh",
        }
        assert alerted_to(topics=["regulation"], language="zh-Hans") == {"everything"}
        assert alerted_to(score=0.95) == {"everything", "strong"}
        assert alerted_to(entities=["DeepSeek", "Moonshot AI"]) == {"everything", "deepseek"}
        assert alerted_to(source=caixin) == {"everything", "caixin"}
        assert alerted_to(relevant=False, score=0.99) == set()


@pytest.mark.parametrize("backend", ["postgres", "sqlite"])
def test_a_story_alerts_once_per_subscription_and_lists_later_outlets(
    backend: str, request: pytest.FixtureRequest, alert_env: pytest.MonkeyPatch
) -> None:
    alert_env.setenv("DATABASE_URL", request.getfixturevalue("pg_url" if backend == "postgres" else "sqlite_url"))
    with unit_of_work() as session:
        console = make.channel(session, "console", "console", "stdout")
        make.subscription(session, "everything", [console])
        [first] = make.alerted(session, title="Moonshot releases Kimi K3")
        story = first.article_id
        later_feed = make.feed(session, "https://www.scmp.example/rss", "SCMP")
        from db.models import Article

        article, verdict = make.article(
            session, "Moonshot AI unveils Kimi K3 model", source=later_feed, story=session.get(Article, story).story
        )
        assert queue_alerts(session, article, verdict, make.NOW) == []
        assert queue_alerts(session, article, verdict, make.NOW) == []
        assert session.execute(select(func.count()).select_from(Alert)).scalar_one() == 1
        content = alert_content(session, first)
        assert content.title == "Moonshot releases Kimi K3"
        assert [o.name for o in content.other_outlets] == ["SCMP"]


def lock_waiters(database_url: str) -> int:
    """Sessions of this database waiting for a lock another transaction holds."""
    with unit_of_work(database_url) as session:
        return int(
            session.execute(
                text(
                    "SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
                    "WHERE NOT l.granted AND a.datname = current_database()"
                )
            ).scalar_one()
        )


def wait_for(condition: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return condition()


def test_two_workers_queueing_the_same_story_at_once_make_one_alert(pg_url: str, alert_env: pytest.MonkeyPatch) -> None:
    alert_env.setenv("DATABASE_URL", pg_url)
    from db.models import Article

    with unit_of_work() as session:
        console = make.channel(session, "console", "console", "stdout")
        make.subscription(session, "everything", [console])
        first, first_verdict = make.article(session, "Zhipu files for IPO")
        second, second_verdict = make.article(session, "Zhipu AI IPO filing", story=first.story)
        ids = (first.id, first_verdict, second.id, second_verdict)
    outcome: dict[str, object] = {}
    a_inserted, b_done = threading.Event(), threading.Event()

    def worker_b() -> None:
        with unit_of_work() as session:
            a_inserted.wait(10)
            outcome["b"] = queue_alerts(
                session, session.get(Article, ids[2]), ids[3], make.NOW
            )  # blocks until A commits
        b_done.set()

    thread = CheckedThread(worker_b)
    thread.start()
    with unit_of_work() as session:
        outcome["a"] = queue_alerts(session, session.get(Article, ids[0]), ids[1], make.NOW)
        a_inserted.set()
        # B is seen blocked on a row lock (the condition, with a deadline), not merely "not done after a while"
        assert wait_for(lambda: lock_waiters(pg_url) > 0 or b_done.is_set(), 30), "B never reached the alert insert"
        assert not b_done.is_set(), "B waits on A's uncommitted alert row"
    join_all([thread], 30)
    assert len(outcome["a"]) == 1 and outcome["b"] == []  # type: ignore[arg-type]
    with unit_of_work() as session:
        assert session.execute(select(func.count()).select_from(Alert)).scalar_one() == 1
        assert session.execute(select(func.count()).select_from(Delivery)).scalar_one() == 1


def test_slack_and_smtp_env_alone_give_a_working_default_subscription(
    pg_url: str, alert_env: pytest.MonkeyPatch, slack: SlackStandIn, smtp: SMTPSink
) -> None:
    alert_env.setenv("DATABASE_URL", pg_url)
    alert_env.setenv("SLACK_WEBHOOK_URL", slack.url)
    alert_env.setenv("SMTP_URL", smtp.url())
    alert_env.setenv("ALERT_EMAIL_TO", "desk@example.org")
    settings = get_settings()
    with unit_of_work() as session:
        subscription = ensure_default_subscription(session, settings)
        ensure_default_subscription(session, settings)
        assert sorted(c.name for c in subscription.channels) == ["console", "email-default", "slack-default"]
        assert subscription.mode == "instant" and subscription.min_score == 0 and not subscription.topics
        targets = [c.target for c in session.execute(select(Channel)).scalars()]
        assert slack.url not in targets and not any("smtp://" in t for t in targets), "secrets stay in the environment"
        make.alerted(session, title="CAC approves 20 more generative AI services", language="zh-Hans")
        make.alerted(session, title="Irrelevant", relevant=False)
    report = deliver_due(settings)
    assert report.sent == 3 and report.failed == 0
    assert [m["text"] for m in slack.accepted] == [
        "CAC approves 20 more generative AI services (Example News, 2026-11-20 09:00 UTC, score 0.80)"
    ]
    [mail] = smtp.messages
    assert mail.rcpt_tos == ["desk@example.org"] and "CAC approves" in mail.message["Subject"]
