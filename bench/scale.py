"""Scale benchmark: BENCH_FEEDS (default 10,000) feeds through the production path.

Beat, one poll worker (prefork, BENCH_POLL_CONCURRENCY=2) and one deliver worker run as separate
`celery` processes on a private Redis and a fresh PostgreSQL database (on the local server,
dropped at the end); the feeds are served by bench/support/scaleserver.py on 127.0.0.1, each with
BENCH_ITEMS (15) unique items, ETag and Last-Modified.

Phases, each bounded by BENCH_PHASE_TIMEOUT_S (1200 s; the benchmark fails rather than hang):
1. registration: the feeds are added (add_feed, one transaction);
2. first round: the workers start (they ask for a dispatch when ready) and poll every feed once;
   every item is new and unique: new articles per second over the round;
3. unchanged round: every feed is made due again and one dispatch is sent (as the beat's tick);
   every answer is a 304: polls per second, CPU of the worker processes per poll.
Also: peak RSS of any worker process, table growth per 1,000 polls and per 1,000 articles, and
the machine's load average (the benchmark shares the machine). Per-host politeness is off
(FETCH_PER_HOST_GAP_SECONDS=0): every feed is on 127.0.0.1 and the benchmark measures the pipeline.

The last line is {"bench": "scale", "feeds": ..., "unchanged_polls_per_s": ...,
"cpu_ms_per_unchanged_poll": ..., "new_articles_per_s": ..., "peak_worker_rss_mb": ...}.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support.services import PrivateRedis  # noqa: E402

BIN = Path(sys.executable).parent
CELERY = [str(BIN / "celery"), "-A", "workers.app"]
ADMIN_URL = os.environ.get("BENCH_ADMIN_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
TABLES = (
    "articles",
    "feed_entries",
    "stories",
    "story_bands",
    "classifications",
    "fetch_log",
    "feeds",
    "alerts",
    "deliveries",
)
TICK = os.sysconf("SC_CLK_TCK")
LOG_LEVEL = os.environ.get("BENCH_LOG_LEVEL", "WARNING")


def loadavg() -> str:
    return Path("/proc/loadavg").read_text().split(" ", 3)[:3].__str__()


def tree(pid: int) -> list[int]:
    """``pid`` and its descendants (from /proc)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            children.setdefault(int(fields[1]), []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo.extend(children.get(current, []))
    return found


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU of the process trees (including waited-for children)."""
    total = 0
    for root in pids:
        for pid in tree(root):
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            total += sum(int(v) for v in fields[11:15])
    return total / TICK


def rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


class RssSampler(threading.Thread):
    def __init__(self, roots: list[int]) -> None:
        super().__init__(daemon=True)
        self.roots, self.peak, self.stopped = roots, 0.0, threading.Event()

    def run(self) -> None:
        while not self.stopped.wait(0.5):
            for root in self.roots:
                for pid in tree(root):
                    self.peak = max(self.peak, rss_mb(pid))


def wait_for(condition: Callable[[], bool], timeout: float, what: str, procs: list[subprocess.Popen[bytes]]) -> float:
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > timeout:
            raise SystemExit(f"bench scale: timed out after {timeout:.0f} s waiting for {what}")
        for proc in procs:
            if proc.poll() is not None:
                raise SystemExit(f"bench scale: a process exited ({proc.args!r}) while waiting for {what}")
        time.sleep(0.5)
    return time.monotonic() - started


def main() -> None:
    feeds = int(os.environ.get("BENCH_FEEDS", "10000"))
    items = int(os.environ.get("BENCH_ITEMS", "15"))
    phase_timeout = float(os.environ.get("BENCH_PHASE_TIMEOUT_S", "1200"))
    concurrency = os.environ.get("BENCH_POLL_CONCURRENCY", "2")
    workdir = Path(tempfile.mkdtemp(prefix="cnai-bench-scale-"))
    from sqlalchemy import create_engine, text

    admin = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    name = f"cnai_bench_scale_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    database_url = ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    redis = PrivateRedis()
    redis.start()
    server = subprocess.Popen(
        [sys.executable, str(ROOT / "bench" / "support" / "scaleserver.py"), str(feeds), str(items)],
        stdout=subprocess.PIPE,
        text=True,
    )
    procs: list[subprocess.Popen[bytes]] = []
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "SMTP_", "ALERT_EMAIL", "SENTRY_"))}
    env.update(
        {
            "PYTHONPATH": str(ROOT),
            "DATABASE_URL": database_url,
            "REDIS_URL": redis.url,
            "CELERY_BROKER_URL": redis.url,
            "FETCH_ALLOWED_NETWORKS": "127.0.0.0/8",
            "FETCH_PER_HOST_GAP_SECONDS": "0",
            "FETCH_PER_HOST_CONCURRENCY": "64",
            "LOG_LEVEL": "WARNING",
            "METRICS_PORT": "0",
            "WORKER_HEARTBEAT_FILE": str(workdir / "w.hb"),
            "BEAT_HEARTBEAT_FILE": str(workdir / "b.hb"),
            "PROMETHEUS_MULTIPROC_DIR": str(workdir / "metrics"),
        }
    )
    os.environ.update({"DATABASE_URL": database_url, "REDIS_URL": redis.url})
    try:
        assert server.stdout is not None
        port = int(server.stdout.readline())
        base = f"http://127.0.0.1:{port}"
        from services.database import unit_of_work
        from services.migrations import upgrade_database

        upgrade_database(database_url)
        engine = create_engine(database_url)

        def scalar(sql: str) -> int:
            with engine.connect() as conn:
                return int(conn.execute(text(sql)).scalar_one())

        def sizes() -> dict[str, int]:
            with engine.connect() as conn:
                return {
                    t: int(conn.execute(text(f"SELECT pg_total_relation_size('{t}')")).scalar_one()) for t in TABLES
                }

        load_start = loadavg()
        started = time.monotonic()
        from services.feeds.registry import FeedSpec, add_feed

        with unit_of_work(database_url) as session:
            for n in range(feeds):
                add_feed(session, FeedSpec(url=f"{base}/f/{n}.xml"))
        registration_s = time.monotonic() - started
        print(f"registered {feeds} feeds in {registration_s:.1f} s; load {load_start}", flush=True)

        def start(name: str, args: list[str]) -> subprocess.Popen[bytes]:
            log = open(workdir / f"{name}.log", "ab")
            proc = subprocess.Popen(
                CELERY + args, env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
            procs.append(proc)
            return proc

        os.makedirs(workdir / "metrics", exist_ok=True)
        size0 = sizes()
        start("beat", ["beat", "--loglevel", LOG_LEVEL, "-s", str(workdir / "beat-schedule")])
        poll = start(
            "poll",
            ["worker", "-Q", "dispatch,poll,classify", "-c", concurrency, "-n", "poll@%h", "--loglevel", LOG_LEVEL],
        )
        deliver = start("deliver", ["worker", "-Q", "deliver", "-c", "1", "-n", "deliver@%h", "--loglevel", LOG_LEVEL])
        sampler = RssSampler([poll.pid, deliver.pid])
        sampler.start()
        first_s = wait_for(
            lambda: scalar("SELECT count(*) FROM feeds WHERE last_success_at IS NULL") == 0,
            phase_timeout,
            "the first round",
            procs,
        )
        articles = scalar("SELECT count(*) FROM articles")
        errors = scalar("SELECT count(*) FROM fetch_log WHERE error IS NOT NULL AND status_code IS DISTINCT FROM 200")
        first_polls = scalar("SELECT count(*) FROM fetch_log")
        size1 = sizes()
        new_rate = articles / first_s
        print(
            f"first round: {first_polls} polls, {articles} new articles in {first_s:.1f} s ({new_rate:.0f}/s), "
            f"{errors} failed polls; load {loadavg()}",
            flush=True,
        )

        time.sleep(2)
        before_polls = scalar("SELECT count(*) FROM fetch_log")
        with engine.begin() as conn:
            conn.execute(text("UPDATE feeds SET next_poll_at = now()"))
        cpu_before = cpu_seconds([poll.pid])
        from celery import Celery

        sender = Celery("bench", broker=redis.url, set_as_current=False)
        sender.send_task("cnai.poll.dispatch", queue="dispatch")  # the beat's tick, without waiting for it
        second_s = wait_for(
            lambda: scalar("SELECT count(*) FROM fetch_log") - before_polls >= feeds,
            phase_timeout,
            "the unchanged round",
            procs,
        )
        cpu = cpu_seconds([poll.pid]) - cpu_before
        polls = scalar("SELECT count(*) FROM fetch_log") - before_polls
        not_modified = scalar(
            f"SELECT count(*) FROM (SELECT status_code FROM fetch_log ORDER BY id DESC LIMIT {polls}) s WHERE status_code = 304"
        )
        size2 = sizes()
        unchanged_rate = polls / second_s
        print(
            f"unchanged round: {polls} polls ({not_modified} answered 304) in {second_s:.1f} s ({unchanged_rate:.0f}/s), "
            f"poll worker CPU {cpu:.1f} s ({1000 * cpu / polls:.1f} ms per poll); load {loadavg()}",
            flush=True,
        )
        per_1000_articles = {t: round((size1[t] - size0[t]) / max(articles, 1) * 1000 / 1024, 1) for t in TABLES}
        per_1000_polls = {t: round((size2[t] - size1[t]) / max(polls, 1) * 1000 / 1024, 1) for t in TABLES}
        print(f"growth in KiB per 1,000 new articles (first round): {per_1000_articles}", flush=True)
        print(f"growth in KiB per 1,000 unchanged polls: {per_1000_polls}", flush=True)
        sampler.stopped.set()
        print(
            json.dumps(
                {
                    "bench": "scale",
                    "feeds": feeds,
                    "registration_s": round(registration_s, 1),
                    "first_round_s": round(first_s, 1),
                    "unchanged_polls_per_s": round(unchanged_rate, 1),
                    "cpu_ms_per_unchanged_poll": round(1000 * cpu / polls, 2),
                    "new_articles_per_s": round(new_rate, 1),
                    "peak_worker_rss_mb": round(sampler.peak, 1),
                    "load_avg": loadavg(),
                }
            )
        )
    finally:
        for proc in procs:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.wait(10)
        server.kill()
        server.wait(10)
        redis.stop()
        shutil.rmtree(redis.dir, ignore_errors=True)
        from services.database import dispose_engines

        dispose_engines()
        try:
            engine.dispose()
        except NameError:
            pass
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        if os.environ.get("BENCH_KEEP_LOGS"):
            print(f"logs kept in {workdir}", flush=True)
        else:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
