"""Chaos soak: the production topology under kills and restarts; nothing lost, nothing doubled, nothing stuck.

Beat, two poll workers and a deliver worker (separate `celery` processes) run against a private
PostgreSQL cluster (tests/support/pgcluster.py) and a private Redis (tests/support/services.py),
never the shared servers. Feeds come from bench/support/scaleserver.py, where new items keep
appearing (every SOAK_RELEVANT_EVERY-th, default 4th, on the monitored beat, so alerts flow); alerts go to a Slack stand-in
and an SMTP sink that fail now and then (HTTP 500/429, SMTP 451) and sometimes answer slowly.

During SOAK_SECONDS (default 600): a SIGKILL every few seconds, of a whole worker (restarted at
once) or of one pool child (Celery replaces it); one Redis restart at a third of the run and one
PostgreSQL restart at two thirds. Then new items stop and the system is given time to settle
(SOAK_SETTLE_SECONDS, default 120), and the checks run:

- every published item stored exactly once (lost / duplicated articles);
- every relevant story alerted exactly once per subscription, each delivery ``sent`` or visibly
  ``failed``; Slack got each story at most once, email at most one Message-ID per story
  (a resend with the same Message-ID is dropped by mail clients);
- no delivery left ``sending``, no feed left leased, the queues drained.

The last line is {"bench": "soak", "lost": ..., "duplicated": ..., "stuck": ..., "kills": ..., ...};
the exit status is 1 when a check fails. Everything listens on 127.0.0.1 and stops by itself.
"""

from __future__ import annotations

import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections import Counter
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.alerts.smtp_sink import Recorder, SMTPSink  # noqa: E402
from tests.support.http import LocalHTTPServer, Request, Response  # noqa: E402
from tests.support.pgcluster import PGCluster  # noqa: E402
from tests.support.services import PrivateRedis  # noqa: E402

BIN = Path(sys.executable).parent
CELERY = [str(BIN / "celery"), "-A", "workers.app"]
SERIAL = re.compile(r"\((\d+)\)")
LIMITS = {  # short, in the order workers.celeryconfig.check_time_limits requires, so dead work is recovered in time
    "ALERT_SWEEP_SECONDS": "5",
    "TASK_SOFT_TIME_LIMIT_SECONDS": "10",
    "TASK_TIME_LIMIT_SECONDS": "12",
    "POLL_LEASE_SECONDS": "20",
    "ALERT_CLAIM_SECONDS": "14",
    "BROKER_VISIBILITY_TIMEOUT_SECONDS": "22",
}


class FlakySlack:
    """A Slack webhook stand-in that fails now and then; ``accepted`` keeps every payload it took."""

    def __init__(self, server: LocalHTTPServer, rng: random.Random) -> None:
        self.accepted: list[str] = []
        self.rng = rng
        self.lock = threading.Lock()
        server.routes["/slack"] = self._handle
        self.url = server.url("/slack")

    def _handle(self, request: Request) -> Response:
        with self.lock:
            roll = self.rng.random()
        if roll < 0.08:
            return Response(500, b"oops")
        if roll < 0.12:
            return Response(429, b"slow down", {"Retry-After": "1"})
        with self.lock:
            self.accepted.append(request.body.decode("utf-8", "replace"))
        return Response(200, b"ok", delay_s=1.5 if roll > 0.97 else 0.0)


class FlakyRecorder(Recorder):
    def __init__(self, rng: random.Random) -> None:
        super().__init__()
        self.rng = rng

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802
        if self.rng.random() < 0.08:
            return "451 4.3.0 try again later"
        return await super().handle_DATA(server, session, envelope)


class Worker:
    def __init__(self, name: str, queues: str, env: dict[str, str], logdir: Path) -> None:
        self.name, self.queues, self.env, self.logdir = name, queues, env, logdir
        self.process: subprocess.Popen[bytes] | None = None
        self.started_at = 0.0

    def start(self) -> None:
        self.started_at = time.monotonic()
        args = [
            *CELERY,
            "worker",
            "--queues",
            self.queues,
            "--concurrency",
            "2",
            "--loglevel",
            "INFO",
            "--hostname",
            f"{self.name}@%h",
            "--without-mingle",
            "--without-gossip",
        ]
        if self.name == "beat":
            args = [*CELERY, "beat", "--scheduler", "redbeat.RedBeatScheduler", "--loglevel", "INFO"]
        log = open(self.logdir / f"{self.name}.log", "ab")
        env = {**self.env, "WORKER_HEARTBEAT_FILE": str(self.logdir / f"{self.name}.heartbeat")}
        self.process = subprocess.Popen(
            args, env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )

    def children(self) -> list[int]:
        if self.process is None:
            return []
        try:
            return [
                int(p) for p in Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children").read_text().split()
            ]
        except OSError:
            return []

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.process.wait(10)


def get_json(url: str) -> object:
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.loads(response.read())


def main() -> int:
    seconds = float(os.environ.get("SOAK_SECONDS", "600"))
    settle = float(os.environ.get("SOAK_SETTLE_SECONDS", "120"))
    feeds = int(os.environ.get("SOAK_FEEDS", "30"))
    relevant_every = os.environ.get("SOAK_RELEVANT_EVERY", "4")
    rng = random.Random(int(os.environ.get("SOAK_SEED", str(int(time.time())))))
    workdir = Path(tempfile.mkdtemp(prefix="cnai-soak-"))
    cluster = PGCluster()
    redis = PrivateRedis()
    web = LocalHTTPServer()
    smtp = SMTPSink()
    smtp.recorder = smtp.controller.handler = FlakyRecorder(rng)
    feed_server: subprocess.Popen[str] | None = None
    workers: dict[str, Worker] = {}
    result: dict[str, object] = {"bench": "soak", "seconds": seconds}
    try:
        cluster.start()
        database_url = cluster.create_database("soak")
        redis.start()
        web.start()
        smtp.start()
        slack = FlakySlack(web, rng)
        feed_server = subprocess.Popen(
            [
                sys.executable,
                str(ROOT / "bench" / "support" / "scaleserver.py"),
                str(feeds),
                "20",
                relevant_every,
                "100000",
            ],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert feed_server.stdout is not None
        base = f"http://127.0.0.1:{int(feed_server.stdout.readline())}"
        from services.database import unit_of_work
        from services.feeds.registry import FeedSpec, add_feed
        from services.migrations import upgrade_database

        upgrade_database(database_url)
        with unit_of_work(database_url) as session:
            for n in range(feeds):
                add_feed(session, FeedSpec(url=f"{base}/f/{n}.xml"))
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("SLACK_", "SMTP_", "ALERT_", "SENTRY_", "DATABASE_", "REDIS_", "CELERY_"))
        }
        env.update(
            {
                "PYTHONPATH": str(ROOT),
                "DATABASE_URL": database_url,
                "REDIS_URL": redis.url,
                "SLACK_WEBHOOK_URL": slack.url,
                "SMTP_URL": smtp.url(),
                "ALERT_EMAIL_TO": "desk@example.org",
                "FETCH_ALLOWED_NETWORKS": "127.0.0.0/8",
                "FETCH_PER_HOST_GAP_SECONDS": "0",
                "FETCH_PER_HOST_CONCURRENCY": "8",
                "DISPATCH_INTERVAL_SECONDS": "2",
                "DELIVERY_SWEEP_INTERVAL_SECONDS": "1",
                "POLL_INTERVAL_SECONDS": "3",
                "POLL_MIN_INTERVAL_SECONDS": "2",
                "POLL_MAX_INTERVAL_SECONDS": "4",
                "ALERT_PACE_SECONDS": "0",
                "ALERT_BURST_THRESHOLD": "1000",
                "ALERT_RETRY_BASE_SECONDS": "1",
                "ALERT_MAX_ATTEMPTS": "8",
                "ALERT_SEND_TIMEOUT_SECONDS": "3",
                "METRICS_PORT": "0",
                "LOG_FORMAT": "text",
                "BEAT_HEARTBEAT_FILE": str(workdir / "beat.heartbeat"),
                **LIMITS,
            }
        )
        workers = {
            "beat": Worker("beat", "", env, workdir),
            "poll-1": Worker("poll-1", "dispatch,poll,classify", env, workdir),
            "poll-2": Worker("poll-2", "dispatch,poll,classify", env, workdir),
            "deliver": Worker("deliver", "deliver", env, workdir),
        }
        for worker in workers.values():
            worker.start()

        kills = {"worker": 0, "pool_child": 0}
        exits: dict[str, int] = {}
        restarts = {"redis": 0, "postgres": 0}
        started = time.monotonic()
        next_kill = started + rng.uniform(5, 15)
        next_bump = started + 2
        gap = max(4.0, seconds / 25)  # about 25 kills per run at the default length, at least 10 at 60 s
        while time.monotonic() - started < seconds:
            now = time.monotonic()
            if now >= next_bump:
                urllib.request.urlopen(
                    urllib.request.Request(f"{base}/_bump?share=0.2&add=1", method="POST"), timeout=10
                ).read()
                next_bump = now + 2
            if restarts["redis"] == 0 and now - started > seconds / 3:
                redis.restart()
                restarts["redis"] += 1
            if restarts["postgres"] == 0 and now - started > 2 * seconds / 3:
                cluster.restart()
                restarts["postgres"] += 1
            if now >= next_kill:
                name = rng.choice(["poll-1", "poll-2", "deliver", "poll-1", "poll-2"])
                worker = workers[name]
                # a pool child killed while the worker is still starting stops the whole worker (Celery gives
                # up "Could not start worker processes"): only kill children of a worker that is up
                children = worker.children() if time.monotonic() - worker.started_at > 15 else []
                if children and rng.random() < 0.5:
                    try:
                        os.kill(rng.choice(children), signal.SIGKILL)
                        kills["pool_child"] += 1
                    except ProcessLookupError:
                        pass
                else:
                    worker.kill()
                    worker.start()
                    kills["worker"] += 1
                next_kill = now + rng.uniform(0.5 * gap, 1.5 * gap)
            for worker in workers.values():  # the supervisor's part (systemd, Kubernetes): restart what exited
                if worker.process is not None and worker.process.poll() is not None:
                    exits[worker.name] = exits.get(worker.name, 0) + 1
                    worker.start()
            time.sleep(0.2)

        result.update(
            kills=sum(kills.values()),
            worker_kills=kills["worker"],
            pool_child_kills=kills["pool_child"],
            redis_restarts=restarts["redis"],
            postgres_restarts=restarts["postgres"],
            restarted_after_exit=exits,
        )
        counts = get_json(f"{base}/_counts")
        assert isinstance(counts, list)
        published = {f"http://news.invalid/{n}/{k}" for n, count in enumerate(counts) for k in range(count)}
        outcome = settle_and_check(database_url, redis.url, published, slack, smtp, settle, workers["beat"].kill)
        result.update(outcome)
        result["published"] = len(published)
    finally:
        for worker in workers.values():
            worker.kill()
        if feed_server is not None:
            feed_server.kill()
            feed_server.wait(10)
        from services.database import dispose_engines

        dispose_engines()
        for stop in (smtp.stop, web.stop, redis.stop, cluster.destroy):
            try:
                stop()
            except Exception as exc:  # cleanup goes on; the result line says what the run found
                print(f"cleanup: {type(exc).__name__}: {exc}", file=sys.stderr)
        shutil.rmtree(redis.dir, ignore_errors=True)
    ok = result.get("lost") == 0 and result.get("duplicated") == 0 and result.get("stuck") == 0
    result["passed"] = ok
    if ok:
        shutil.rmtree(workdir, ignore_errors=True)
    else:
        result["logs"] = str(workdir)
    print(json.dumps(result), flush=True)
    return 0 if ok else 1


def settle_and_check(
    database_url: str,
    redis_url: str,
    published: set[str],
    slack: FlakySlack,
    smtp: SMTPSink,
    settle: float,
    stop_beat: Callable[[], None],
) -> dict[str, object]:
    import redis as redis_client
    from sqlalchemy import create_engine, text

    engine = create_engine(database_url)
    broker = redis_client.Redis.from_url(redis_url)

    def scalar(sql: str) -> int:
        with engine.connect() as conn:
            return int(conn.execute(text(sql)).scalar_one())

    def unsettled() -> int:
        """Work still to do: articles not stored yet, deliveries not final, relevant stories without an alert."""
        stored = scalar("SELECT count(DISTINCT url) FROM articles")
        deliveries = scalar("SELECT count(*) FROM deliveries WHERE status IN ('pending', 'sending')")
        return max(0, len(published) - stored) + deliveries + scalar(UNALERTED)

    def idle() -> bool:
        leased = scalar("SELECT count(*) FROM feeds WHERE lease_until > now()")
        return leased == 0 and sum(broker.llen(q) for q in ("poll", "classify", "deliver")) == 0

    # 1. With the beat still running (it sweeps deliveries and dispatches polls), wait for the work to
    #    settle; the deadline moves on while the backlog shrinks, up to three times SOAK_SETTLE_SECONDS.
    started = time.monotonic()
    deadline = started + settle
    best = None
    while time.monotonic() < min(deadline, started + 3 * settle):
        try:
            left = unsettled()
        except Exception:  # PostgreSQL may still be coming back
            left = None
        if left == 0:
            break
        if left is not None and (best is None or left < best):
            best = left
            deadline = max(deadline, time.monotonic() + 15)
        time.sleep(1)
    # 2. Stop the beat: no new dispatch or sweep; the polls in flight end and release their leases.
    stop_beat()
    quiet = time.monotonic() + float(LIMITS["POLL_LEASE_SECONDS"]) + 15
    while time.monotonic() < quiet:
        try:
            if idle():
                break
        except Exception:
            pass
        time.sleep(1)
    with engine.connect() as conn:
        urls = Counter(u for (u,) in conn.execute(text("SELECT url FROM articles")))
        statuses = Counter(s for (s,) in conn.execute(text("SELECT status FROM deliveries")))
        per_story = Counter(
            (story, sub) for story, sub in conn.execute(text("SELECT story_id, subscription_id FROM alerts"))
        )
        unalerted = int(conn.execute(text(UNALERTED)).scalar_one())
        leased = int(conn.execute(text("SELECT count(*) FROM feeds WHERE lease_until > now()")).scalar_one())
        sent = {
            kind: [
                title
                for (title,) in conn.execute(
                    text(
                        "SELECT ar.title FROM deliveries d JOIN channels c ON c.id = d.channel_id JOIN alerts a ON a.id = d.alert_id "
                        "JOIN articles ar ON ar.id = a.article_id WHERE d.status = 'sent' AND c.kind = :kind"
                    ),
                    {"kind": kind},
                )
            ]
            for kind in ("slack", "email")
        }
        failed_unconfirmed = int(
            conn.execute(
                text("SELECT count(*) FROM deliveries WHERE status = 'failed' AND last_error LIKE 'unconfirmed%'")
            ).scalar_one()
        )
    queued = sum(broker.llen(q) for q in ("poll", "classify", "deliver"))
    slack_serials = Counter(s for body in slack.accepted for s in set(SERIAL.findall(body)))
    email_ids: dict[str, set[str]] = {}
    for message in smtp.messages:
        for s in set(SERIAL.findall(str(message.message["Subject"]) + message.message.as_string())):
            email_ids.setdefault(s, set()).add(str(message.message["Message-ID"]))

    def serial(title: str) -> str | None:
        found = SERIAL.findall(title or "")
        return found[-1] if found else None

    missing = sorted(published - set(urls))
    lost_articles = len(missing)
    if missing:
        feeds_missing = sorted({int(u.split("/")[3]) for u in missing})[:5]
        with engine.connect() as conn:
            diagnosis = [
                dict(row._mapping)
                for row in conn.execute(
                    text(
                        "SELECT id, url, last_success_at, next_poll_at, lease_until, consecutive_failures, last_error, disabled_reason "
                        "FROM feeds WHERE url LIKE ANY(:patterns)"
                    ),
                    {"patterns": [f"%/f/{n}.xml" for n in feeds_missing]},
                )
            ]
        print("missing sample:", missing[:10], "\nfeeds:", json.dumps(diagnosis, default=str), file=sys.stderr)
    dup_articles = sum(n - 1 for n in urls.values() if n > 1)
    lost_slack = sum(1 for t in sent["slack"] if serial(t) not in slack_serials)
    lost_email = sum(1 for t in sent["email"] if serial(t) not in email_ids)
    dup_slack = sum(n - 1 for n in slack_serials.values() if n > 1)
    dup_email = sum(len(ids) - 1 for ids in email_ids.values() if len(ids) > 1)
    dup_alerts = sum(n - 1 for n in per_story.values() if n > 1)
    stuck_sending = statuses.get("sending", 0)
    stuck_pending = statuses.get("pending", 0)
    return {
        "lost": lost_articles + unalerted + lost_slack + lost_email,
        "duplicated": dup_articles + dup_alerts + dup_slack + dup_email,
        "stuck": stuck_sending + stuck_pending + leased + queued,
        "articles": sum(urls.values()),
        "lost_articles": lost_articles,
        "duplicated_articles": dup_articles,
        "relevant_stories_unalerted": unalerted,
        "duplicated_alerts": dup_alerts,
        "slack_messages": len(slack.accepted),
        "lost_slack": lost_slack,
        "duplicated_slack": dup_slack,
        "emails": len(smtp.messages),
        "lost_email": lost_email,
        "duplicated_email_ids": dup_email,
        "deliveries": dict(statuses),
        "failed_unconfirmed": failed_unconfirmed,
        "stuck_sending": stuck_sending,
        "stuck_pending": stuck_pending,
        "leased_feeds": leased,
        "queued_messages": queued,
    }


#: Relevant stories (a relevant classification of one of their articles) with no alert for the default subscription.
UNALERTED = (
    "SELECT count(DISTINCT a.story_id) FROM articles a JOIN classifications c ON c.article_id = a.id "
    "WHERE c.relevant AND NOT EXISTS (SELECT 1 FROM alerts al JOIN subscriptions s ON s.id = al.subscription_id "
    "WHERE al.story_id = a.story_id AND s.name = 'default')"
)


if __name__ == "__main__":
    sys.exit(main())
