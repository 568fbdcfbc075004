"""Alerts arrive exactly once, fast: 500 relevant stories at once, then a trickle, then a failing sink.

Creates its own PostgreSQL database on the server of ``BENCH_DATABASE_URL`` (default: the local
one), one instant Slack subscription (a local Slack stand-in) and one instant email subscription
(a local aiosmtpd server), and two delivery workers (threads calling ``deliver_due`` whenever a
poll commits, and every half second, as the Celery sweep tasks do). Stories are committed the way
a poll commits them: article, classification and alert rows in one transaction per feed.

Scenarios:
1. burst: 500 stories from 10 feeds committed back to back. Slack is paced (1 message/s per
   webhook), so the backlog turns into burst digests (ALERT_BURST_THRESHOLD, default 20); a story
   folded into a digest counts as delivered once.
2. trickle: 20 stories, one every 1.1 s: each goes out alone; their commit-to-receipt latency is
   the ``latency_p50_s``/``latency_p95_s`` of the JSON line (alerts not held back by pacing or digests).
3. failing: 40 stories in 4 commits while the Slack sink answers 500 twice and then 429 with
   Retry-After once, and the SMTP sink answers 451 twice: still exactly once. Retries back off from
   ALERT_RETRY_BASE_SECONDS, set to 0.5 s here (30 s in production) to keep the bench short.

Prints per-scenario counts and latencies, then, last, one JSON line. The database is dropped at the end.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import statistics
import sys
import threading
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import create_engine, func, select, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

SERVER_URL = os.environ.get("BENCH_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
STORY = re.compile(r"B#\d+")
TOPICS = [
    "regulation",
    "chips_and_export_controls",
    "model_releases",
    "funding_and_subsidies",
    "standards",
    "compute_and_infrastructure",
    "industry_and_investment",
    "security_and_content_control",
]


@dataclass
class Sink:
    """What one sink accepted: for each story, the times of the accepted messages that carried it."""

    name: str
    receipts: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    single: dict[str, bool] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def accept(self, body: str, at: float) -> None:
        stories = set(STORY.findall(body))
        with self.lock:
            for story in stories:
                self.receipts[story].append(at)
                self.single.setdefault(story, len(stories) == 1)


class FailingScript:
    """Answers to serve before the normal 200s (scenario 3)."""

    def __init__(self) -> None:
        self.answers: list[object] = []
        self.lock = threading.Lock()

    def next(self) -> object | None:
        with self.lock:
            return self.answers.pop(0) if self.answers else None


def start_sinks(slack_sink: Sink, email_sink: Sink, slack_script: FailingScript, smtp_script: FailingScript):
    from tests.alerts.smtp_sink import SMTPSink
    from tests.support.http import LocalHTTPServer, Request, Response

    http = LocalHTTPServer().start()

    def slack(request: Request) -> Response:
        scripted = slack_script.next()
        if scripted is not None:
            return scripted  # type: ignore[return-value]  # the script holds Response objects for this sink
        slack_sink.accept(request.body.decode(), time.time())
        return Response(200, b"ok", {"Content-Type": "text/plain"})

    http.routes["/services/T0/B0/bench"] = slack
    smtp = SMTPSink().start()

    async def on_data() -> None:
        message = smtp.recorder.messages.pop()
        scripted = smtp_script.next()
        if scripted is not None:
            smtp.recorder.reply = str(scripted)
            return
        smtp.recorder.reply = "250 Message accepted for delivery"
        body = message.message.get_body(("plain",))
        assert body is not None, "the alert e-mail has no text/plain part"
        email_sink.accept(body.get_content(), message.received_at)

    smtp.recorder.on_data = on_data
    return http, smtp


def commit_stories(titles: list[tuple[str, str]], feed_url: str, commits: dict[str, float]) -> None:
    """One poll's transaction: each story's article, classification and alerts, then the commit."""
    from db.models import Article, Classification, Feed, FeedEntry, Story
    from services.alerts.outbox import queue_alerts
    from services.database import unit_of_work

    now = datetime.now(timezone.utc)
    with unit_of_work() as session:
        feed = session.execute(select(Feed).where(Feed.url == feed_url)).scalar_one_or_none()
        if feed is None:
            feed = Feed(url=feed_url, title=f"Bench feed {feed_url.rsplit('/', 1)[-1]}")
            session.add(feed)
            session.flush()
        for key, title in titles:
            story = Story(title=title, first_seen_at=now, last_seen_at=now)
            session.add(story)
            session.flush()
            article = Article(
                feed_id=feed.id,
                story_id=story.id,
                url=f"https://bench.example/{key}",
                title=title,
                fingerprint=hashlib.sha256(key.encode()).hexdigest(),
                summary="Bench story.",
                language="en",
                published_at=now,
                fetched_at=now,
            )
            session.add(article)
            session.flush()
            session.add(FeedEntry(feed_id=feed.id, entry_key=key, article_id=article.id, first_seen_at=now))
            n = int(key[2:])
            verdict = Classification(
                article_id=article.id,
                classifier_version="bench",
                relevant=True,
                score=0.5 + (n % 50) / 100,
                topics=[TOPICS[n % len(TOPICS)]],
                entities=["DeepSeek"],
                reasons=["bench"],
                created_at=now,
            )
            session.add(verdict)
            session.flush()
            queue_alerts(session, article, verdict, now)
    committed = time.time()
    for key, _ in titles:
        commits[key] = committed


class Workers:
    """Delivery workers: sweep when a poll commits (like ``sweep_deliveries.delay()``) and every 0.5 s."""

    def __init__(self, count: int) -> None:
        from services.alerts.deliver import deliver_due
        from services.settings import get_settings

        self.wake = threading.Event()
        self.stop = threading.Event()
        settings = get_settings()

        def loop() -> None:
            while not self.stop.is_set():
                deliver_due(settings, budget_s=20)
                self.wake.wait(0.5)
                self.wake.clear()

        self.threads = [threading.Thread(target=loop, daemon=True) for _ in range(count)]
        for thread in self.threads:
            thread.start()

    def poke(self) -> None:
        self.wake.set()

    def close(self) -> None:
        self.stop.set()
        self.wake.set()
        for thread in self.threads:
            thread.join(60)


def wait_settled(timeout: float) -> int:
    """Wait until no delivery is pending or being sent; the number still unsettled."""
    from db.models import Delivery
    from services.database import unit_of_work

    deadline = time.monotonic() + timeout
    while True:
        with unit_of_work() as session:
            open_ = session.execute(
                select(func.count()).select_from(Delivery).where(Delivery.status.in_(("pending", "sending")))
            ).scalar_one()
        if not open_ or time.monotonic() > deadline:
            return int(open_)
        time.sleep(0.2)


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def main() -> None:
    name = f"cnai_bench_alerts_{uuid.uuid4().hex[:8]}"
    server = create_engine(SERVER_URL, isolation_level="AUTOCOMMIT")
    with server.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(SERVER_URL).set(database=name).render_as_string(hide_password=False)
    slack_sink, email_sink = Sink("slack"), Sink("email")
    slack_script, smtp_script = FailingScript(), FailingScript()
    http, smtp = start_sinks(slack_sink, email_sink, slack_script, smtp_script)
    os.environ.update(
        DATABASE_URL=url,
        SLACK_WEBHOOK_URL=http.url("/services/T0/B0/bench"),
        SMTP_URL=smtp.url(),
        ALERT_EMAIL_TO="desk@example.org",
        ALERT_RETRY_BASE_SECONDS="0.5",
        LOG_LEVEL="WARNING",
    )
    from db.models import Channel, Subscription
    from services.database import dispose_engines, unit_of_work
    from services.migrations import upgrade_database
    from services.settings import get_settings

    get_settings.cache_clear()
    workers: Workers | None = None
    try:
        upgrade_database(url)
        with unit_of_work() as session:
            slack_channel = Channel(name="bench-slack", kind="slack", target="env:SLACK_WEBHOOK_URL")
            email_channel = Channel(name="bench-email", kind="email", target="env:ALERT_EMAIL_TO")
            session.add_all(
                [
                    Subscription(name="slack-instant", channels=[slack_channel]),
                    Subscription(name="email-instant", channels=[email_channel]),
                ]
            )
        workers = Workers(2)
        commits: dict[str, float] = {}
        scenarios: dict[str, list[str]] = {}
        started = time.perf_counter()

        burst = [f"B#{i}" for i in range(500)]
        for f in range(10):
            chunk = burst[f * 50 : (f + 1) * 50]
            commit_stories(
                [(k, f"{k} Beijing issues rules on AI story {k}") for k in chunk],
                f"https://bench.example/feed{f}",
                commits,
            )
            workers.poke()
        scenarios["burst"] = burst
        committed = time.perf_counter() - started
        unsettled = wait_settled(90)
        print(
            f"burst: 500 stories committed in {committed:.1f} s, all deliveries settled after "
            f"{time.perf_counter() - started:.1f} s ({unsettled} unsettled)",
            flush=True,
        )

        trickle = [f"B#{i}" for i in range(500, 520)]
        for key in trickle:
            commit_stories([(key, f"{key} MIIT update {key}")], "https://bench.example/trickle", commits)
            workers.poke()
            time.sleep(1.1)
        scenarios["trickle"] = trickle
        wait_settled(30)

        from tests.support.http import Response

        slack_script.answers = [
            Response(500, b"oops"),
            Response(500, b"oops"),
            Response(429, b"rate_limited", {"Retry-After": "1"}),
        ]
        smtp_script.answers = ["451 Try again later", "451 Try again later"]
        failing = [f"B#{i}" for i in range(520, 560)]
        for c in range(4):
            chunk = failing[c * 10 : (c + 1) * 10]
            commit_stories([(k, f"{k} chip export story {k}") for k in chunk], "https://bench.example/failing", commits)
            workers.poke()
            time.sleep(0.5)
        scenarios["failing"] = failing
        unsettled = wait_settled(60)
        print(
            f"failing sinks: settled ({unsettled} unsettled); scripted failures left: "
            f"slack {len(slack_script.answers)}, smtp {len(smtp_script.answers)}",
            flush=True,
        )
    finally:
        if workers is not None:
            workers.close()
        http.stop()
        smtp.stop()
        dispose_engines()
        with server.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        server.dispose()

    stories = [k for keys in scenarios.values() for k in keys]
    duplicates = sum(max(0, len(sink.receipts.get(k, [])) - 1) for sink in (slack_sink, email_sink) for k in stories)
    lost = sum(1 for sink in (slack_sink, email_sink) for k in stories if not sink.receipts.get(k))
    delivered = sum(1 for k in stories if all(len(sink.receipts.get(k, [])) == 1 for sink in (slack_sink, email_sink)))
    instant: list[float] = []
    for scenario, keys in scenarios.items():
        for sink in (slack_sink, email_sink):
            alone = [sink.receipts[k][0] - commits[k] for k in keys if sink.receipts.get(k) and sink.single.get(k)]
            folded = [sink.receipts[k][0] - commits[k] for k in keys if sink.receipts.get(k) and not sink.single.get(k)]
            if scenario == "trickle":
                instant += alone
            line = f"{scenario:8} {sink.name:5}: {len(alone)} alone"
            if alone:
                line += f" (p50 {statistics.median(alone):.2f} s, p95 {percentile(alone, 0.95):.2f} s)"
            line += f", {len(folded)} in digests"
            if folded:
                line += f" (p50 {statistics.median(folded):.2f} s, p95 {percentile(folded, 0.95):.2f} s)"
            print(line, flush=True)
    print(
        json.dumps(
            {
                "bench": "alerts",
                "stories": len(stories),
                "delivered": delivered,
                "duplicates": duplicates,
                "lost": lost,
                "latency_p50_s": round(statistics.median(instant), 3) if instant else None,
                "latency_p95_s": round(percentile(instant, 0.95), 3) if instant else None,
            }
        )
    )


if __name__ == "__main__":
    main()
