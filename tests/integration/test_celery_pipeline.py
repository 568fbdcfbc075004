"""The production topology for real: beat, a poll worker and a deliver worker as separate processes on a
private Redis and PostgreSQL, feeds from a local server, alerts to a local Slack stand-in.

New stories appear in the feeds and each relevant one reaches Slack exactly once. Then, in the middle
of a batch of polls, the poll worker is killed with SIGKILL (its whole process group, as when a pod
dies) and Redis is restarted: once a replacement worker is up, every story still arrives, exactly once.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from pathlib import Path
from xml.sax.saxutils import escape

import pytest
import redis
from sqlalchemy import func, select

from db.models import Alert, Article, Delivery, Feed
from services.database import unit_of_work
from services.feeds.registry import FeedSpec, add_feed
from tests.integration.processes import CELERY, ServiceProcess, service_env, wait_until
from tests.support.http import LocalHTTPServer, Request, Response, SlackStandIn
from tests.support.services import PrivateRedis

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.redis, pytest.mark.timeout(180)]

SAMPLES = Path(__file__).resolve().parents[2] / "config" / "samples"
SEED_TITLES = [
    "Country to boost policies, develop national standards for LLM technology",
    "China's large language models spread beyond office and entertainment, Zhongguancun Forum report shows",
    "China making headway in large-scale AI models",
    "The trio dominating China's large-scale model development landscape",
    "Beijing enlists Chinese big tech firms Alibaba, Baidu to boost AI models, computing power",
]

# feed path -> (relevant, irrelevant) titles of the first round, then of the second round.
FIRST_ROUND = {
    "/en.xml": (["DeepSeek releases new large language model"], ["Manchester United beat Arsenal 2-1 at Old Trafford"]),
    "/cn.xml": (["网信办发布生成式人工智能服务管理办法"], ["皇家马德里3比1战胜巴塞罗那"]),
    "/ai-1.xml": (["Alibaba open-sources Qwen 4 model family"], []),
    "/ai-2.xml": (["MiniMax launches new multimodal foundation model"], []),
    "/sport.xml": ([], ["Liverpool sign new striker in record transfer"]),
}
SECOND_ROUND = {
    "/en.xml": (
        ["Moonshot AI unveils Kimi K3 reasoning model"],
        ["Chelsea and Tottenham draw 0-0 in the London derby"],
    ),
    "/cn.xml": (["百度发布文心大模型5.0"], []),
    "/ai-1.xml": (["智谱AI发布新一代GLM大模型"], []),
    "/ai-2.xml": (["China releases draft rules for labelling AI-generated content"], []),
    "/sport.xml": ([], ["Bayern Munich win the Bundesliga title on the final day"]),
}
SLOW_FEED_S = 3.0  # second-round responses take this long, so the kill lands while polls are in flight

#: Time limits short enough to see a dead worker's work recovered within the test, in the order
#: workers.celeryconfig.check_time_limits requires.
LIMITS = {
    "ALERT_SWEEP_SECONDS": "5",
    "TASK_SOFT_TIME_LIMIT_SECONDS": "10",
    "TASK_TIME_LIMIT_SECONDS": "12",
    "POLL_LEASE_SECONDS": "14",
    "ALERT_CLAIM_SECONDS": "14",
    "BROKER_VISIBILITY_TIMEOUT_SECONDS": "16",
}


def rss(path: str, items: list[str]) -> bytes:
    published = datetime.now(timezone.utc) - timedelta(minutes=30)
    entries = "".join(
        f"<item><title>{escape(title)}</title><link>https://news.example{path[:-4]}/{i}</link>"
        f"<guid>{path}#{title}</guid><pubDate>{format_datetime(published + timedelta(minutes=i))}</pubDate>"
        f"<description>{escape(title)}</description></item>"
        for i, title in enumerate(items)
    )
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>Test feed {path}</title>'
        f"<link>https://news.example{path[:-4]}</link>{entries}</channel></rss>"
    ).encode()


@dataclass
class FeedSite:
    """The feeds served to the workers, switchable to their second round with slow responses."""

    server: LocalHTTPServer
    second_round_since: float | None = None

    def serve(self, rounds: list[dict[str, tuple[list[str], list[str]]]], delay: float) -> None:
        for path in FIRST_ROUND:
            titles = [t for r in rounds for t in (*r[path][0], *r[path][1])]
            self.server.routes[path] = Response(200, rss(path, titles), {"Content-Type": "application/rss+xml"}, delay)

    def second_round_requests(self) -> list[Request]:
        since = self.second_round_since or float("inf")
        return [r for path in FIRST_ROUND for r in self.server.requests_to(path) if r.received_at > since]


def expected_titles(*rounds: dict[str, tuple[list[str], list[str]]]) -> tuple[set[str], set[str]]:
    relevant = {t for r in rounds for titles, _ in r.values() for t in titles}
    irrelevant = {t for r in rounds for _, titles in r.values() for t in titles}
    return relevant, irrelevant


def slack_counts(slack: SlackStandIn, titles: set[str]) -> Counter[str]:
    """How many Slack messages name each title (payloads are escaped only for &, < and >)."""
    counts: Counter[str] = Counter()
    for payload in list(slack.accepted):
        text = json.dumps(payload, ensure_ascii=False)
        for title in titles:
            if json.dumps(title, ensure_ascii=False)[1:-1] in text:
                counts[title] += 1
    return counts


def wait_for_alerts(
    slack: SlackStandIn,
    expected: set[str],
    every_title: set[str],
    timeout: float,
    processes: dict[str, ServiceProcess],
    pg_url: str,
) -> None:
    try:
        wait_until(lambda: set(slack_counts(slack, every_title)) >= expected, timeout, "the alerts in Slack")
    except AssertionError:
        missing = expected - set(slack_counts(slack, every_title))
        with unit_of_work(pg_url) as session:
            feeds = session.execute(select(Feed.url, Feed.next_poll_at, Feed.lease_until, Feed.last_error)).all()
        errors = "\n".join(
            f"{name}: {line}"
            for name, p in processes.items()
            for line in p.log().splitlines()
            if '"level": "error"' in line or '"level": "warning"' in line or "Traceback" in line
        )
        raise AssertionError(
            f"not alerted within {timeout:.0f}s: {sorted(missing)}\nfeeds (url, next poll, lease until, last error) at "
            f"{datetime.now(timezone.utc)}:\n" + "\n".join(map(str, feeds)) + f"\n{errors[-6000:]}"
        ) from None


@pytest.fixture
def site(http_server: LocalHTTPServer, pg_url: str) -> FeedSite:
    http_server.serve_file("/seeds.xml", SAMPLES / "customer_seeds.xml")
    feeds = FeedSite(http_server)
    feeds.serve([FIRST_ROUND], delay=0)
    with unit_of_work(pg_url) as session:
        for path in ["/seeds.xml", *FIRST_ROUND]:
            add_feed(session, FeedSpec(url=http_server.url(path)))
    return feeds


@pytest.fixture
def processes(
    tmp_path: Path, pg_url: str, private_redis: PrivateRedis, slack: SlackStandIn
) -> Iterator[dict[str, ServiceProcess]]:
    env = service_env(
        DATABASE_URL=pg_url,
        REDIS_URL=private_redis.url,
        SLACK_WEBHOOK_URL=slack.url,
        FETCH_ALLOWED_NETWORKS="127.0.0.0/8",
        FETCH_PER_HOST_GAP_SECONDS="0",
        FETCH_PER_HOST_CONCURRENCY="8",
        DISPATCH_INTERVAL_SECONDS="1",
        DELIVERY_SWEEP_INTERVAL_SECONDS="1",
        POLL_INTERVAL_SECONDS="2",
        POLL_MIN_INTERVAL_SECONDS="1",
        POLL_MAX_INTERVAL_SECONDS="2",
        ALERT_PACE_SECONDS="0.05",
        ALERT_BURST_THRESHOLD="50",
        METRICS_PORT="0",
        LOG_FORMAT="json",
        BEAT_HEARTBEAT_FILE=str(tmp_path / "beat.heartbeat"),
        **LIMITS,
    )

    def worker(name: str, queues: str) -> ServiceProcess:
        worker_env = {**env, "WORKER_HEARTBEAT_FILE": str(tmp_path / f"{name}.heartbeat")}
        args = [
            *CELERY,
            "worker",
            "--queues",
            queues,
            "--concurrency",
            "2",
            "--loglevel",
            "INFO",
            "--hostname",
            f"{name}@%h",
            "--without-mingle",
            "--without-gossip",
        ]
        return ServiceProcess(name, args, worker_env, tmp_path)

    started = {
        "beat": ServiceProcess(
            "beat", [*CELERY, "beat", "--scheduler", "redbeat.RedBeatScheduler", "--loglevel", "INFO"], env, tmp_path
        ),
        "poll": worker("poll", "dispatch,poll,classify"),
        "deliver": worker("deliver", "deliver"),
        "poll-2": worker("poll-2", "dispatch,poll,classify"),  # the replacement, started after the kill
    }
    try:
        for name in ("beat", "poll", "deliver"):
            started[name].start()
        yield started
    finally:
        for process in started.values():
            process.kill()  # the test is over: no need to wait for a warm shutdown


def test_every_relevant_story_is_alerted_exactly_once_through_a_worker_crash_and_a_redis_restart(
    pg_url: str, private_redis: PrivateRedis, slack: SlackStandIn, site: FeedSite, processes: dict[str, ServiceProcess]
) -> None:
    first_relevant, _ = expected_titles(FIRST_ROUND)
    first_relevant |= set(SEED_TITLES)
    all_relevant, all_irrelevant = expected_titles(FIRST_ROUND, SECOND_ROUND)
    all_relevant |= set(SEED_TITLES)
    every_title = all_relevant | all_irrelevant

    processes["beat"].wait_for_log("beat: Acquired lock", 60)
    processes["poll"].wait_for_log(" ready.", 60)
    processes["deliver"].wait_for_log(" ready.", 60)

    # First round: the stories of the feeds as they are, alerted once each, football never.
    wait_for_alerts(slack, first_relevant, every_title, 45, processes, pg_url)
    first = slack_counts(slack, every_title)
    assert set(first) == first_relevant, f"unexpected alerts: {set(first) - first_relevant}"
    assert all(n == 1 for n in first.values()), f"doubled: {first}"

    # Second round, slow to fetch: kill the poll worker while its polls are in flight.
    site.second_round_since = time.time()
    site.serve([FIRST_ROUND, SECOND_ROUND], delay=SLOW_FEED_S)
    wait_until(site.second_round_requests, 20, "a poll of the second round in flight")
    processes["poll"].kill()
    broker = redis.Redis.from_url(private_redis.url)
    held = broker.hgetall("unacked")  # the dead worker's polls, acknowledged late, so still in Redis
    held_polls = [json.loads(raw)[0]["headers"]["id"] for raw in held.values() if b"cnai.poll.feed" in raw]
    assert held_polls, "the killed worker held no poll"
    private_redis.restart()
    processes["poll-2"].start()

    assert set(slack_counts(slack, every_title)) == first_relevant, "the killed polls must not have committed"
    wait_for_alerts(slack, all_relevant, every_title, 60, processes, pg_url)

    # The dead worker's messages come back after the visibility timeout and must change nothing.
    broker = redis.Redis.from_url(private_redis.url)
    visibility = float(LIMITS["BROKER_VISIBILITY_TIMEOUT_SECONDS"])
    wait_until(
        lambda: not set(held) & set(broker.hkeys("unacked")),
        visibility + 20,
        "the dead worker's messages to be redelivered",
    )
    assert all(task_id in processes["poll-2"].log() for task_id in held_polls), "redelivered to the replacement"
    wait_until(lambda: broker.llen("deliver") == 0, 10, "the deliver queue to drain")
    counts = slack_counts(slack, every_title)
    assert set(counts) == all_relevant, f"missing {all_relevant - set(counts)}, unexpected {set(counts) - all_relevant}"
    assert all(n == 1 for n in counts.values()), f"doubled: { {t: n for t, n in counts.items() if n > 1} }"
    assert len(slack.accepted) == len(all_relevant)

    # Slack takes a message before its sender records it as sent (in a transaction of its own, after the
    # send): on a loaded machine a check made right after Slack got the last story saw it still 'sending'.
    def deliveries_settled() -> bool:
        with unit_of_work(pg_url) as session:
            return not session.execute(
                select(func.count()).select_from(Delivery).where(Delivery.status.in_(("pending", "sending")))
            ).scalar_one()

    wait_until(deliveries_settled, float(LIMITS["ALERT_CLAIM_SECONDS"]) + 20, "every delivery to be recorded")
    with unit_of_work(pg_url) as session:
        assert session.execute(select(func.count()).select_from(Alert)).scalar_one() == len(all_relevant)
        statuses = Counter(session.execute(select(Delivery.status)).scalars())
        assert statuses == {"sent": 2 * len(all_relevant)}, statuses  # Slack and the console, each once
        titles = Counter(session.execute(select(Article.title)).scalars())
        assert set(titles) == every_title and all(n == 1 for n in titles.values())

    for name in ("beat", "deliver", "poll-2"):
        assert processes[name].alive(), f"{name} died:\n{processes[name].log()[-3000:]}"
