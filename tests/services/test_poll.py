"""A full cycle through the real pipeline: local feed server → PostgreSQL/SQLite → Slack stand-in."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest
from sqlalchemy import func, select

from db.models import Alert, Article, Classification, Delivery, FeedEntry, FetchLog
from services.alerts.deliver import deliver_pending
from services.cycle import run_cycle
from services.database import unit_of_work
from services.feeds.registry import FeedSpec, add_feed
from services.settings import get_settings
from tests.support.http import LocalHTTPServer, Response, SlackStandIn

SAMPLES = Path(__file__).resolve().parents[2] / "config" / "samples"

FOOTBALL_RSS = """<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0"><channel><title>European football</title><link>https://sport.example/</link>
<item><title>Bayern Munich beat Borussia Dortmund 3-1 in the Bundesliga title race</title>
<link>https://sport.example/bayern-dortmund</link><guid>sport-1</guid>
<pubDate>Sat, 21 Nov 2026 19:30:00 +0000</pubDate>
<description>Harry Kane scored twice as Bayern moved four points clear at the top of the table.</description></item>
</channel></rss>
"""


def _count(session, model) -> int:  # type: ignore[no-untyped-def]
    return session.execute(select(func.count()).select_from(model)).scalar_one()


@pytest.fixture
def feeds(http_server: LocalHTTPServer) -> list[str]:
    seeds = http_server.serve_file("/seeds.xml", SAMPLES / "customer_seeds.xml")
    http_server.routes["/sport.xml"] = Response(200, FOOTBALL_RSS.encode(), {"Content-Type": "application/rss+xml"})
    return [seeds, http_server.url("/sport.xml")]


@pytest.mark.parametrize("backend", ["postgres", "sqlite"])
def test_two_polls_store_and_alert_each_story_once(
    backend: str, request: pytest.FixtureRequest, env: pytest.MonkeyPatch, feeds: list[str], slack: SlackStandIn
) -> None:
    url = request.getfixturevalue("pg_url" if backend == "postgres" else "sqlite_url")
    env.setenv("DATABASE_URL", url)
    env.setenv("FETCH_ALLOWED_NETWORKS", "127.0.0.0/8")
    env.setenv("SLACK_WEBHOOK_URL", slack.url)
    settings = get_settings()
    with unit_of_work() as session:
        for feed_url in feeds:
            add_feed(session, FeedSpec(url=feed_url))

    first = run_cycle(settings, include_not_due=True)
    with unit_of_work() as session:
        delivered = deliver_pending(session, settings, datetime.now(timezone.utc))
    assert first.feeds_polled == 2 and first.feeds_failed == 0
    assert first.new_articles == 6
    assert first.relevant == 5, "the five seed stories are relevant and the football match is not"
    assert delivered.sent_by_channel.get("slack-default") == 5
    titles = [m["text"] for m in slack.accepted]
    assert not any("Bayern" in t for t in titles)

    second = run_cycle(settings, include_not_due=True)
    with unit_of_work() as session:
        again = deliver_pending(session, settings, datetime.now(timezone.utc))
        assert second.new_articles == 0 and second.alerts_queued == 0 and again.sent == 0
        assert _count(session, Article) == 6
        assert _count(session, FeedEntry) == 6
        assert _count(session, Classification) == 6
        verdicts = session.query(Classification).all()
        # priority and reader reasons are stored with every verdict (NULL priority when not relevant)
        assert all((v.priority in ("high", "normal", "low")) == v.relevant for v in verdicts)
        assert all(1 <= len(v.reader_reasons or []) <= 3 for v in verdicts if v.relevant)
        assert _count(session, Alert) == 5
        assert _count(session, Delivery) == 10  # console + Slack for each alert
        assert _count(session, FetchLog) == 4
    assert len(slack.accepted) == 5


def test_a_broken_feed_is_recorded_and_does_not_stop_the_others(
    sqlite_url: str, env: pytest.MonkeyPatch, feeds: list[str], http_server: LocalHTTPServer
) -> None:
    env.setenv("DATABASE_URL", sqlite_url)
    env.setenv("FETCH_ALLOWED_NETWORKS", "127.0.0.0/8")
    http_server.routes["/broken.xml"] = Response(500, b"oops")
    with unit_of_work() as session:
        for feed_url in [http_server.url("/broken.xml"), *feeds]:
            add_feed(session, FeedSpec(url=feed_url))
    cycle = run_cycle(get_settings(), include_not_due=True)
    assert cycle.feeds_polled == 3 and cycle.feeds_failed == 1 and cycle.new_articles == 6
    with unit_of_work() as session:
        log = session.execute(select(FetchLog).where(FetchLog.status_code == 500)).scalar_one()
        assert "HTTP 500" in (log.error or "")
        assert log.feed_id is not None


def test_cnai_poll_delivery_sends_everything_due_in_bounded_batches(
    env: pytest.MonkeyPatch, feeds: list[str], slack: SlackStandIn, sqlite_url: str
) -> None:
    from services.alerts.deliver import deliver_all_due

    env.setenv("DATABASE_URL", sqlite_url)
    env.setenv("FETCH_ALLOWED_NETWORKS", "127.0.0.0/8")
    env.setenv("SLACK_WEBHOOK_URL", slack.url)
    env.setenv("ALERT_PACE_SECONDS", "0")
    settings = get_settings()
    with unit_of_work() as session:
        for feed_url in feeds:
            add_feed(session, FeedSpec(url=feed_url))
    assert run_cycle(settings, include_not_due=True).alerts_queued == 5

    delivered = deliver_all_due(settings, batch=2)  # 10 deliveries (Slack and console), 2 messages per batch
    assert delivered.sent == 10 and delivered.messages == 10
    assert len(slack.accepted) == 5
    with unit_of_work() as session:
        assert set(session.execute(select(Delivery.status)).scalars()) == {"sent"}
