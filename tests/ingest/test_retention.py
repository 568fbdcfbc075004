"""Retention on the real PostgreSQL: old logs and dedupe keys go in bounded batches; old items never alert again."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, insert, select, update

from db.models import Alert, Article, FeedEntry, FetchLog
from services.database import unit_of_work
from services.retention import prune_logs
from services.settings import Settings
from tests.ingest.polling import add, poll
from tests.support.http import LocalHTTPServer, Response

pytestmark = pytest.mark.postgres

RSS = b"""<?xml version="1.0"?><rss version="2.0"><channel><title>Retention test</title>
<item><guid>keep-1</guid><title>Regulator publishes draft rules for generative AI services</title>
<link>https://retention.example/1</link></item>
</channel></rss>"""


def count(model: type) -> int:
    with unit_of_work() as session:
        return int(session.execute(select(func.count()).select_from(model)).scalar_one())


@pytest.mark.parametrize("backend_url", ["postgres"], indirect=True)
def test_fetch_log_older_than_the_retention_goes_in_batches_and_recent_rows_stay(
    polling: Settings, env: pytest.MonkeyPatch
) -> None:
    env.setenv("FETCH_LOG_RETENTION_DAYS", "30")
    env.setenv("RETENTION_BATCH_ROWS", "7")
    feed_id = add("https://retention.example/feed.xml")
    now = datetime.now(timezone.utc)
    ages = [45] * 20 + [31] * 5 + [29] * 6 + [0] * 4
    with unit_of_work() as session:
        session.execute(insert(FetchLog), [{"feed_id": feed_id, "started_at": now - timedelta(days=d)} for d in ages])
    report = prune_logs(Settings(), now)
    assert report.deleted["fetch_log"] == 25 and report.finished
    assert count(FetchLog) == 10
    with unit_of_work() as session:
        oldest = session.execute(select(func.min(FetchLog.started_at))).scalar_one()
    assert now - oldest < timedelta(days=30)
    assert prune_logs(Settings(), now).deleted["fetch_log"] == 0


@pytest.mark.parametrize("backend_url", ["postgres"], indirect=True)
def test_a_run_out_of_budget_stops_after_a_batch_and_the_next_run_continues(
    polling: Settings, env: pytest.MonkeyPatch
) -> None:
    env.setenv("RETENTION_BATCH_ROWS", "10")
    feed_id = add("https://retention.example/feed.xml")
    now = datetime.now(timezone.utc)
    with unit_of_work() as session:
        session.execute(insert(FetchLog), [{"feed_id": feed_id, "started_at": now - timedelta(days=60)}] * 35)
    first = prune_logs(Settings(), now, budget_s=0)
    assert first.deleted["fetch_log"] == 10 and not first.finished
    second = prune_logs(Settings(), now)
    assert second.deleted["fetch_log"] == 25 and second.finished
    assert count(FetchLog) == 0


@pytest.mark.parametrize("backend_url", ["postgres"], indirect=True)
def test_an_old_item_still_in_its_feed_after_its_key_was_pruned_is_not_a_new_article(
    polling: Settings, http_server: LocalHTTPServer, env: pytest.MonkeyPatch
) -> None:
    http_server.routes["/feed.xml"] = Response(200, RSS)
    feed_id = add(http_server.url("/feed.xml"))
    first = poll(feed_id, polling)
    assert first.new_articles == 1
    alerts = count(Alert)
    with unit_of_work() as session:  # the entry was first seen long ago
        session.execute(update(FeedEntry).values(first_seen_at=datetime.now(timezone.utc) - timedelta(days=200)))
    assert prune_logs(Settings(), datetime.now(timezone.utc)).deleted["feed_entries"] == 1
    assert count(FeedEntry) == 0
    http_server.routes["/feed.xml"] = Response(200, RSS)
    again = poll(feed_id, polling)
    assert again.new_articles == 0 and again.alerts == 0
    assert count(Article) == 1 and count(FeedEntry) == 1 and count(Alert) == alerts
