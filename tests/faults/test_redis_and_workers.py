"""Redis restarted with tasks queued, and workers SIGKILLed mid-task: nothing lost, nothing doubled.

Real Celery workers (``celery -A workers.app worker``) on a redis-server of the test's own and a
PostgreSQL database of the test's own.
"""

from __future__ import annotations

import re
import shutil
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

import pytest
import redis
from celery import Celery
from kombu import Queue
from sqlalchemy import select

from db.models import Feed
from services.database import unit_of_work
from tests.faults.conftest import assert_stored_once, entries_of, feed_body, register, serve_feed, wait_until
from tests.faults.worker import CeleryWorker
from tests.support.http import LocalHTTPServer, Request, Response
from tests.support.services import PrivateRedis

pytestmark = [pytest.mark.slow, pytest.mark.redis, pytest.mark.postgres]

QUEUES = ("dispatch", "poll", "classify", "deliver")


def client(broker_url: str) -> Celery:
    """A producer only, configured like the workers' routing (one queue per kind of work)."""
    app = Celery("cnai-test-client", broker=broker_url, set_as_current=False)
    app.conf.update(
        task_serializer="json",
        accept_content=["json"],
        task_queues=[Queue(q, routing_key=q) for q in QUEUES],
        broker_connection_retry_on_startup=True,
    )
    return app


def queue_poll(broker_url: str, feed_id: int) -> None:
    with client(broker_url) as app:
        app.send_task("cnai.poll.feed", args=[feed_id], queue="poll")


def queue_dispatch(broker_url: str) -> None:
    """What beat sends every DISPATCH_INTERVAL_SECONDS."""
    with client(broker_url) as app:
        app.send_task("cnai.poll.dispatch", queue="dispatch")


def queued(broker_url: str, queue: str = "poll") -> int:
    with redis.Redis.from_url(broker_url) as r:
        return int(r.llen(queue))


def broker_idle(broker_url: str) -> bool:
    """No message waiting in any queue and none delivered but unacknowledged (kombu's ``unacked`` hash)."""
    with redis.Redis.from_url(broker_url) as r:
        return all(int(r.llen(q)) == 0 for q in QUEUES) and int(r.hlen("unacked")) == 0


_TASK_LINE = re.compile(r"Task [\w.]+\[([0-9a-f-]{36})\] (received|succeeded|failed|raised|retry|rejected|revoked)")
# An expired message is dropped unrun: "Discarding revoked task: NAME[id]" ends it as well.
_DISCARDED = re.compile(r"Discarding revoked task: [\w.]+\[([0-9a-f-]{36})\]")


def unfinished_tasks(log: str) -> set[str]:
    """Ids of tasks the worker log shows received and not yet finished (succeeded, failed, retried...)."""
    received, finished = set(), set()
    for task_id, event in _TASK_LINE.findall(log):
        (received if event == "received" else finished).add(task_id)
    finished.update(_DISCARDED.findall(log))
    return received - finished


def wait_idle(worker: CeleryWorker, broker_url: str, since: int, timeout: float, what: str) -> None:
    """Wait out the whole window in which more work could happen: nothing queued or unacknowledged, and every
    task the worker received since log offset ``since`` has finished."""
    wait_until(
        lambda: broker_idle(broker_url) and not unfinished_tasks(worker.output()[since:]), timeout, what, worker.output
    )


def lease_expired(database_url: str, feed_id: int) -> bool:
    with unit_of_work(database_url) as session:
        until = session.execute(select(Feed.lease_until).where(Feed.id == feed_id)).scalar_one()
    if until is None:
        return True
    return (until if until.tzinfo else until.replace(tzinfo=timezone.utc)) < datetime.now(timezone.utc)


def worker_env(database_url: str, broker_url: str, **extra: str) -> dict[str, str]:
    return {
        "DATABASE_URL": database_url,
        "REDIS_URL": broker_url,
        "FETCH_ALLOWED_NETWORKS": "127.0.0.0/8",
        "FETCH_PER_HOST_GAP_SECONDS": "0",
        "FETCH_TIMEOUT_SECONDS": "5",
        "METRICS_PORT": "0",
        "SLACK_WEBHOOK_URL": "",
        "SMTP_URL": "",
        "SENTRY_DSN": "",
        **extra,
    }


def lose_everything(server: PrivateRedis) -> None:
    """SIGKILL redis and delete its files: every queued message is gone, as after losing the node and its disk."""
    assert server.process is not None
    server.process.kill()
    server.process.wait(10)
    server.process = None
    for item in Path(server.dir).iterdir():
        if item.name != "redis.log":
            shutil.rmtree(item) if item.is_dir() else item.unlink()
    server.start()


def test_redis_restart_keeps_queued_polls_and_dispatch_recovers_lost_ones(
    fault_env: pytest.MonkeyPatch,
    pg_url: str,
    private_redis: PrivateRedis,
    http_server: LocalHTTPServer,
    tmp_path: Path,
) -> None:
    broker = private_redis.url
    f1, f2, f3, f4 = register(pg_url, [serve_feed(http_server, n) for n in ("alpha", "bravo", "charlie", "delta")])
    worker = CeleryWorker(worker_env(pg_url, broker), tmp_path / "worker.log")
    try:
        # 1. Tasks queued, no worker yet; Redis restarted (SIGTERM): the append-only file keeps them.
        queue_poll(broker, f1)
        queue_poll(broker, f2)
        assert queued(broker) == 2
        private_redis.restart()
        assert queued(broker) == 2, "queued tasks lost on a clean Redis restart"

        worker.start()
        wait_until(
            lambda: entries_of(pg_url, f1) == 3 and entries_of(pg_url, f2) == 3, 30, "alpha and bravo", worker.output
        )

        # 2. Redis restarted under a running worker: it reconnects and takes new work.
        private_redis.restart()
        queue_poll(broker, f4)
        wait_until(lambda: entries_of(pg_url, f4) == 3, 40, "delta after the worker reconnected", worker.output)
        worker.stop()

        # 3. Redis lost with a task queued (and its files): the message is gone for good...
        queue_poll(broker, f3)
        lose_everything(private_redis)
        assert queued(broker) == 0
        # ...but charlie is still due in the database, so beat's next dispatch queues it again.
        since = len(worker.output())
        worker.start()
        queue_dispatch(broker)
        wait_until(lambda: entries_of(pg_url, f3) == 3, 30, "charlie re-dispatched", worker.output)
        # a duplicate poll the dispatch might have caused would be queued or running until the worker is idle
        wait_idle(worker, broker, since, 30, "the dispatch and every poll it queued to finish")
    finally:
        worker.stop()
    assert_stored_once(pg_url, [f1, f2, f3, f4])
    assert len(http_server.requests_to("/alpha.xml")) == 1 and len(http_server.requests_to("/bravo.xml")) == 1, (
        "a feed polled successfully was polled again"
    )


class Stall:
    """A feed route whose first request hangs until released: the worker is killed while fetching it."""

    def __init__(self, name: str) -> None:
        self.body = feed_body(name)
        self.arrived = threading.Event()
        self.release = threading.Event()
        self.calls = 0

    def __call__(self, request: Request) -> Response:
        self.calls += 1
        if self.calls == 1:
            self.arrived.set()
            self.release.wait(20)
        return Response(200, self.body, {"Content-Type": "application/rss+xml"})


# Short limits so leases and the visibility timeout expire within the test (the order is checked at start-up).
SHORT_LIMITS = {
    "ALERT_SWEEP_SECONDS": "2",
    "TASK_SOFT_TIME_LIMIT_SECONDS": "3",
    "TASK_TIME_LIMIT_SECONDS": "4",
    # A dispatched batch message expires POLL_LEASE_SECONDS - TASK_TIME_LIMIT_SECONDS after it is sent: 4 s, so a
    # loaded machine still consumes it in time.
    "POLL_LEASE_SECONDS": "8",
    "BROKER_VISIBILITY_TIMEOUT_SECONDS": "9",
    "ALERT_CLAIM_SECONDS": "10",
}


def test_a_worker_killed_mid_poll_loses_nothing(
    fault_env: pytest.MonkeyPatch,
    pg_url: str,
    private_redis: PrivateRedis,
    http_server: LocalHTTPServer,
    tmp_path: Path,
) -> None:
    broker = private_redis.url
    stall_pool, stall_node = Stall("echo"), Stall("foxtrot")
    (f1,) = register(pg_url, [serve_feed(http_server, "echo", stall_pool)])
    env = worker_env(pg_url, broker, **SHORT_LIMITS)
    first, second = CeleryWorker(env, tmp_path / "w1.log", "w1"), CeleryWorker(env, tmp_path / "w2.log", "w2")
    try:
        first.start()

        # The pool process dies mid-fetch. Celery notices (WorkerLostError: the message is requeued, as
        # task_reject_on_worker_lost asks) or, if the child died before it confirmed the job, only at the hard
        # time limit (the message is then acked as failed). Either way the feed is still due in the database
        # and its lease (POLL_LEASE_SECONDS) keeps a redelivery from polling it twice; the first dispatch after
        # the lease has expired polls it.
        queue_poll(broker, f1)
        assert stall_pool.arrived.wait(30), first.output()[-3000:]
        assert first.kill_pool_processes(), "no pool process to kill"
        stall_pool.release.set()
        wait_until(
            lambda: "exited with 'signal 9 (SIGKILL)'" in first.output(),
            20,
            "Celery to notice the dead pool process",
            first.output,
        )
        wait_until(lambda: lease_expired(pg_url, f1), 30, "echo's poll lease (POLL_LEASE_SECONDS) to expire")
        queue_dispatch(broker)
        wait_until(lambda: entries_of(pg_url, f1) == 3, 30, "echo polled after its lease expired", first.output)

        # The whole worker dies (SIGKILL to every process): the message stays unacknowledged in Redis and is
        # restored to the queue after BROKER_VISIBILITY_TIMEOUT_SECONDS, for any worker; no dispatch needed.
        (f2,) = register(pg_url, [serve_feed(http_server, "foxtrot", stall_node)])
        queue_poll(broker, f2)
        assert stall_node.arrived.wait(30), first.output()[-3000:]
        first.kill()
        stall_node.release.set()
        second.start()
        # Polled again either from the restored message, or, when a dispatch had leased foxtrot first (a worker
        # that empties the poll queue asks for one) and that batch message expired with the dead worker, by the
        # next dispatch once the lease has run out: beat sends one every interval, as this loop does.
        deadline = time.monotonic() + 60
        while entries_of(pg_url, f2) != 3:
            assert time.monotonic() < deadline, "foxtrot never polled again\n" + second.output()[-3000:]
            if lease_expired(pg_url, f2):
                queue_dispatch(broker)
            time.sleep(2)
        # a second restore of the message would still be unacknowledged or running: wait until there is none
        wait_idle(second, broker, 0, 45, "no message left to restore and the second worker idle")
    finally:
        stall_pool.release.set()
        stall_node.release.set()
        first.stop()
        second.stop()
    assert_stored_once(pg_url, [f1, f2])
    assert stall_pool.calls == 2 and stall_node.calls == 2, "each feed fetched once by the killed worker and once after"
