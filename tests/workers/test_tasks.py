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


def test_dispatch_leases_due_feeds_and_queues_expiring_batches_once(
    broker: redis.Redis, pg_url: str, env: pytest.MonkeyPatch
) -> None:
    env.setenv("POLL_BATCH_SIZE", "2")
    with unit_of_work(pg_url) as session:
        due = [add_feed(session, FeedSpec(url=f"https://example.org/{n}.xml"))[0] for n in range(3)]
        disabled, _ = add_feed(session, FeedSpec(url="https://example.org/gone.xml"))
        session.flush()
        disabled.disabled_at = disabled.created_at
        due_ids = sorted(feed.id for feed in due)

    assert dispatch_due_feeds.apply().get() == 3
    messages = queued(broker, "poll")
    assert [m["headers"]["task"] for m in messages] == ["cnai.poll.feeds", "cnai.poll.feeds"]
    assert all(m["headers"]["expires"] for m in messages), "a poll message expires before its leases do"
    batches = [
        json.loads(
            m["body"]
            if isinstance(m["body"], str) and m["body"].startswith("[")
            else __import__("base64").b64decode(m["body"])
        )[0]
        for m in messages
    ]
    assert sorted(feed_id for args in batches for feed_id in args[0]) == due_ids
    assert {args[1] for args in batches} and len({args[1] for args in batches}) == 1, "one lease token per dispatch"
    with unit_of_work(pg_url) as session:
        assert session.execute(select(Subscription.name)).scalars().all() == ["default"]
        assert all(session.get(Feed, feed_id).lease_until is not None for feed_id in due_ids)  # type: ignore[union-attr]
    assert dispatch_due_feeds.apply().get() == 0, "leased feeds are not queued again by the next tick"
    assert broker.llen("poll") == 2


def test_a_batch_polls_only_the_feeds_still_holding_its_lease(
    broker: redis.Redis, pg_url: str, http_server: LocalHTTPServer
) -> None:
    from datetime import timedelta

    from services.ingest.leases import claim_feeds
    from workers.tasks import poll_feeds

    http_server.routes["/a.xml"] = Response(500, b"down")
    http_server.routes["/b.xml"] = Response(500, b"down")
    with unit_of_work(pg_url) as session:
        a, _ = add_feed(session, FeedSpec(url=http_server.url("/a.xml")))
        b, _ = add_feed(session, FeedSpec(url=http_server.url("/b.xml")))
    from datetime import datetime, timezone

    now = datetime.now(timezone.utc)
    with unit_of_work(pg_url) as session:
        claim_feeds(session, [a.id, b.id], now, lease=timedelta(seconds=300))
    token = now + timedelta(seconds=300)
    with unit_of_work(pg_url) as session:  # b's lease ran out and a later dispatch took it
        session.get(Feed, b.id).lease_until = token + timedelta(seconds=1)  # type: ignore[union-attr]
    assert poll_feeds.apply(args=([a.id, b.id], token.isoformat())).get() == 1
    assert len(http_server.requests_to("/a.xml")) == 1 and not http_server.requests_to("/b.xml")
    assert poll_feeds.apply(args=([a.id], token.isoformat())).get() == 0, "a redelivered message polls nothing twice"


def test_a_poll_commits_then_queues_one_sweep_and_a_repeat_does_nothing(
    broker: redis.Redis, pg_url: str, http_server: LocalHTTPServer, slack: SlackStandIn, env: pytest.MonkeyPatch
) -> None:
    env.setenv("SLACK_WEBHOOK_URL", slack.url)
    url = http_server.serve_file("/seeds.xml", SAMPLES / "customer_seeds.xml")
    with unit_of_work(pg_url) as session:
        feed, _ = add_feed(session, FeedSpec(url=url))
    from services.alerts.subscriptions import ensure_default_subscription
    from services.settings import get_settings

    with unit_of_work(pg_url) as session:  # the default subscription with the Slack channel, as a dispatch makes it
        ensure_default_subscription(session, get_settings())

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
