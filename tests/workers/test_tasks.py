"""The tasks run in this process against real PostgreSQL, a private Redis as broker and local HTTP servers."""
from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from prometheus_client import REGISTRY
from sqlalchemy import func, select

from db.models import Alert, Feed, Subscription
from services.database import unit_of_work
from services.feeds.registry import FeedSpec, add_feed
from services.observability.logs import LogContextFilter
from tests.support.http import LocalHTTPServer, Response, SlackStandIn
from tests.support.services import PrivateRedis
from workers.app import app
from workers.tasks import dispatch_due_feeds, poll_feed, sweep_deliveries

SAMPLES = Path(__file__).resolve().parents[2] / "config" / "samples"


@pytest.fixture
def broker(private_redis: PrivateRedis, env: pytest.MonkeyPatch, pg_url: str) -> Iterator[redis.Redis]:
    """The app publishes to a private Redis; settings point at a fresh PostgreSQL database."""
    env.setenv("DATABASE_URL", pg_url)
    env.setenv("REDIS_URL", private_redis.url)
    env.setenv("FETCH_ALLOWED_NETWORKS", "127.0.0.0/8")
    saved = app.conf.broker_url
    app.conf.broker_url = private_redis.url
    app._after_fork()  # drop pooled connections to the old broker
    yield redis.Redis.from_url(private_redis.url)
    app.conf.broker_url = saved
    app._after_fork()


def queued(client: redis.Redis, queue: str) -> list[dict]:
    return [json.loads(raw) for raw in client.lrange(queue, 0, -1)]


def test_dispatch_queues_one_expiring_poll_per_due_feed(broker: redis.Redis, pg_url: str) -> None:
    with unit_of_work(pg_url) as session:
        due = [add_feed(session, FeedSpec(url=f"https://example.org/{n}.xml"))[0] for n in range(2)]
        disabled, _ = add_feed(session, FeedSpec(url="https://example.org/gone.xml"))
        session.flush()
        disabled.disabled_at = disabled.created_at
        due_ids = sorted(feed.id for feed in due)

    assert dispatch_due_feeds.apply().get() == 2
    messages = queued(broker, "poll")
    tasks = [m["headers"]["task"] for m in messages]
    assert tasks == ["cnai.poll.feed", "cnai.poll.feed"]
    assert all(m["headers"]["expires"] for m in messages), "a poll message expires when a newer dispatch supersedes it"
    assert sorted(int(m["headers"]["argsrepr"].strip("(),")) for m in messages) == due_ids
    with unit_of_work(pg_url) as session:
        assert session.execute(select(Subscription.name)).scalars().all() == ["default"]


def test_a_poll_commits_then_queues_one_sweep_and_a_repeat_does_nothing(
    broker: redis.Redis, pg_url: str, http_server: LocalHTTPServer, slack: SlackStandIn, env: pytest.MonkeyPatch
) -> None:
    env.setenv("SLACK_WEBHOOK_URL", slack.url)
    url = http_server.serve_file("/seeds.xml", SAMPLES / "customer_seeds.xml")
    with unit_of_work(pg_url) as session:
        feed, _ = add_feed(session, FeedSpec(url=url))
    dispatch_due_feeds.apply().get()  # creates the default subscription with the Slack channel

    assert poll_feed.apply(args=(feed.id,)).get() == "ok"
    with unit_of_work(pg_url) as session:
        assert session.execute(select(func.count()).select_from(Alert)).scalar_one() == 5
    assert [m["headers"]["task"] for m in queued(broker, "deliver")] == ["cnai.alerts.sweep"]

    assert poll_feed.apply(args=(feed.id,)).get() == "skipped", "the feed is not due again yet"
    assert broker.llen("deliver") == 1

    before = REGISTRY.get_sample_value("cnai_alerts_sent_total", {"channel": "slack-default"}) or 0
    assert sweep_deliveries.apply().get() == 10  # to Slack and to the console
    assert len(slack.accepted) == 5
    after = REGISTRY.get_sample_value("cnai_alerts_sent_total", {"channel": "slack-default"})
    assert after == before + 5
    assert sweep_deliveries.apply().get() == 0 and len(slack.accepted) == 5


def test_a_poll_logs_with_its_task_and_feed(
    broker: redis.Redis, pg_url: str, http_server: LocalHTTPServer, caplog: pytest.LogCaptureFixture
) -> None:
    http_server.routes["/broken.xml"] = Response(500, b"oops")
    with unit_of_work(pg_url) as session:
        feed, _ = add_feed(session, FeedSpec(url=http_server.url("/broken.xml")))
    caplog.handler.addFilter(LogContextFilter())
    with caplog.at_level(logging.WARNING):
        result = poll_feed.apply(args=(feed.id,))
    assert result.get() == "error"
    [failure] = [r for r in caplog.records if r.name == "services.poll" and "failed" in r.getMessage()]
    assert failure.feed_id == feed.id  # type: ignore[attr-defined]
    assert failure.task_name == "cnai.poll.feed" and failure.task_id == result.id  # type: ignore[attr-defined]
    with unit_of_work(pg_url) as session:
        assert session.get(Feed, feed.id).consecutive_failures == 1  # type: ignore[union-attr]
    assert broker.llen("deliver") == 0
