"""A new (or re-enabled) feed alerts only its recent items; its back catalogue is stored and classified silently."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from email.utils import format_datetime

import pytest
from sqlalchemy import func, select

from db.models import Alert, Article, Classification, Feed
from services.alerts.deliver import deliver_due
from services.cycle import run_cycle
from services.database import unit_of_work
from services.feeds.registry import FeedSpec, add_feed, enable_feed
from services.ingest.schedule import disable_feed
from services.settings import get_settings
from tests.support.http import LocalHTTPServer, Response, SlackStandIn

# Our own headlines, one per (age in hours) slot; every one is on the China AI-policy beat.
HEADLINES = [
    "Cyberspace Administration of China publishes draft measures on labelling AI-generated content",
    "Baidu releases Ernie 5 large language model with multimodal reasoning",
    "China's Ministry of Industry and Information Technology sets computing-power targets for AI",
    "Alibaba Cloud open-sources a Qwen model for coding agents",
    "Zhipu AI raises new funding round to train GLM foundation models",
    "DeepSeek publishes a reasoning model trained on Huawei Ascend chips",
]


def rss(items: list[tuple[int, float]]) -> bytes:
    """A feed of (headline index, age in hours) items."""
    now = datetime.now(timezone.utc)
    body = "".join(
        f"<item><title>{HEADLINES[i]}</title><link>https://policy.example/{i}</link><guid>policy-{i}</guid>"
        f"<pubDate>{format_datetime(now - timedelta(hours=age))}</pubDate>"
        f"<description>{HEADLINES[i]}. The announcement concerns artificial intelligence in China.</description></item>"
        for i, age in items
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>China AI policy desk</title>'
        f"<link>https://policy.example/</link>{body}</channel></rss>"
    ).encode()


def _serve(server: LocalHTTPServer, items: list[tuple[int, float]]) -> None:
    server.routes["/policy.xml"] = Response(200, rss(items), {"Content-Type": "application/rss+xml"})


def _poll_and_deliver(settings):  # type: ignore[no-untyped-def]
    cycle = run_cycle(settings, include_not_due=True)
    deliver_due(settings, budget_s=20)
    return cycle


@pytest.mark.parametrize("backend", ["postgres", "sqlite"])
def test_first_poll_alerts_the_last_day_only_and_stores_the_back_catalogue(
    backend: str,
    request: pytest.FixtureRequest,
    env: pytest.MonkeyPatch,
    http_server: LocalHTTPServer,
    slack: SlackStandIn,
) -> None:
    url = request.getfixturevalue("pg_url" if backend == "postgres" else "sqlite_url")
    env.setenv("DATABASE_URL", url)
    env.setenv("FETCH_ALLOWED_NETWORKS", "127.0.0.0/8")
    env.setenv("SLACK_WEBHOOK_URL", slack.url)
    env.setenv("ALERT_PACE_SECONDS", "0")
    env.setenv("ALERT_BACKFILL_HOURS", "24")
    settings = get_settings()
    # Two items from the last day, two from 3 days and 7 months ago.
    _serve(http_server, [(0, 2), (1, 20), (2, 72), (3, 24 * 210)])
    with unit_of_work() as session:
        add_feed(session, FeedSpec(url=http_server.url("/policy.xml")))

    first = _poll_and_deliver(settings)
    assert first.new_articles == 4 and first.relevant == 4
    assert first.alerts_queued == 2 and first.backfilled == 2
    posted = " ".join(m["text"] for m in slack.accepted)
    assert len(slack.accepted) == 2
    assert HEADLINES[0][:40] in posted and HEADLINES[1][:40] in posted
    assert HEADLINES[2][:40] not in posted and HEADLINES[3][:40] not in posted
    with unit_of_work() as session:
        assert session.execute(select(func.count()).select_from(Article)).scalar_one() == 4
        assert session.execute(select(func.count()).select_from(Classification)).scalar_one() == 4
        assert session.execute(select(Feed.backfill_pending)).scalar_one() is False

    # Later polls are not first polls: a new item that is old by its date still alerts (it is new to us).
    _serve(http_server, [(0, 3), (1, 21), (2, 73), (3, 24 * 210), (4, 48)])
    second = _poll_and_deliver(settings)
    assert second.new_articles == 1 and second.alerts_queued == 1 and second.backfilled == 0
    assert len(slack.accepted) == 3

    # Disabled, then re-enabled: the first poll after that is quiet about old items again.
    with unit_of_work() as session:
        feed = session.execute(select(Feed)).scalar_one()
        disable_feed(feed, "operator", datetime.now(timezone.utc))
    with unit_of_work() as session:
        enable_feed(session, http_server.url("/policy.xml"))
    _serve(http_server, [(5, 1), (0, 30), (1, 45), (2, 96), (4, 70)])
    third = _poll_and_deliver(settings)
    assert third.new_articles == 1 and third.alerts_queued == 1
    with unit_of_work() as session:
        assert session.execute(select(func.count()).select_from(Alert)).scalar_one() == 4
    assert HEADLINES[5][:40] in slack.accepted[-1]["text"]


def test_a_re_enabled_feed_keeps_its_old_items_quiet(
    sqlite_url: str, env: pytest.MonkeyPatch, http_server: LocalHTTPServer, slack: SlackStandIn
) -> None:
    env.setenv("DATABASE_URL", sqlite_url)
    env.setenv("FETCH_ALLOWED_NETWORKS", "127.0.0.0/8")
    env.setenv("SLACK_WEBHOOK_URL", slack.url)
    env.setenv("ALERT_PACE_SECONDS", "0")
    env.setenv("ALERT_BACKFILL_HOURS", "24")
    settings = get_settings()
    _serve(http_server, [(0, 1)])
    with unit_of_work() as session:
        add_feed(session, FeedSpec(url=http_server.url("/policy.xml")))
    assert _poll_and_deliver(settings).alerts_queued == 1
    with unit_of_work() as session:
        disable_feed(session.execute(select(Feed)).scalar_one(), "operator", datetime.now(timezone.utc))
    with unit_of_work() as session:
        enable_feed(session, http_server.url("/policy.xml"))
    # While it was disabled the feed published three items; two are now more than a day old.
    _serve(http_server, [(0, 50), (1, 60), (2, 30), (3, 2)])
    cycle = _poll_and_deliver(settings)
    assert cycle.new_articles == 3 and cycle.alerts_queued == 1 and cycle.backfilled == 2
    assert HEADLINES[3][:40] in slack.accepted[-1]["text"]
