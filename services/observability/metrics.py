"""Prometheus metrics: what the pipeline did, how long tasks took, how deep the queues are.

Counters are incremented wherever the work happens (a Celery pool child, ``cnai poll``) and
served by one HTTP endpoint per worker (``serve_metrics``). Celery's prefork pool runs tasks in
child processes, so the worker uses prometheus_client's multiprocess mode: every process writes
its samples to files under ``PROMETHEUS_MULTIPROC_DIR`` and the endpoint in the main process
adds them up. prometheus_client reads that variable when it is first imported, so this module
imports it only on first use, and the worker sets the variable before (``workers.signals``).
Queue depth is read from Redis at scrape time.
"""

from __future__ import annotations

import logging
import os
import shutil
import threading
from collections.abc import Iterable, Iterator, Mapping
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from db.enums import PollStatus, Queue

if TYPE_CHECKING:
    from prometheus_client import CollectorRegistry

log = logging.getLogger(__name__)

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
QUEUES = tuple(queue.value for queue in Queue)


class _Instruments:
    def __init__(self) -> None:
        from prometheus_client import Counter, Histogram

        self.feeds_polled = Counter(
            "cnai_feeds_polled", "Feed polls, by outcome (ok, not_modified, error, skipped).", ["status"]
        )
        self.fetch_errors = Counter("cnai_fetch_errors", "Feed fetches or parses that failed.")
        self.articles_ingested = Counter("cnai_articles_ingested", "New articles stored.")
        self.articles_relevant = Counter("cnai_articles_relevant", "New articles classified relevant.")
        self.alerts_queued = Counter("cnai_alerts_queued", "Alerts written to the outbox.")
        self.alerts_sent = Counter("cnai_alerts_sent", "Deliveries a channel accepted, by channel.", ["channel"])
        self.alerts_failed = Counter("cnai_alerts_failed", "Deliveries that failed for good.")
        self.alerts_retrying = Counter("cnai_alerts_retrying", "Delivery attempts that failed and will be retried.")
        self.full_text_pages = Counter(
            "cnai_full_text_pages", "Article pages fetched for full text, by outcome (extracted, failed).", ["outcome"]
        )
        self.full_text_failures = Counter(
            "cnai_full_text_failures", "Full-text fetches or extractions that failed, by host.", ["host"]
        )
        self.llm_requests = Counter(
            "cnai_llm_requests",
            "English translations asked of the LLM, by outcome (ok, cached, timeout, unreachable, http_error, malformed, "
            "budget, circuit_open).",
            ["outcome"],
        )
        self.llm_tokens = Counter("cnai_llm_tokens", "Tokens the LLM reported using (prompt + completion).")
        self.task_duration = Histogram(
            "cnai_task_duration_seconds",
            "Run time of Celery tasks, by task name and final state.",
            ["task", "state"],
            buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300),
        )


_instruments_lock = threading.Lock()


@lru_cache(maxsize=1)
def _make_instruments() -> _Instruments:
    return _Instruments()


def instruments() -> _Instruments:
    """This process's metrics, made once; fetch threads may ask at the same moment, so the first making is locked."""
    with _instruments_lock:
        return _make_instruments()


def record_feed_poll(status: str, *, new_articles: int = 0, relevant: int = 0, alerts: int = 0) -> None:
    m = instruments()
    m.feeds_polled.labels(status).inc()
    if status == PollStatus.ERROR:
        m.fetch_errors.inc()
    m.articles_ingested.inc(new_articles)
    m.articles_relevant.inc(relevant)
    m.alerts_queued.inc(alerts)


def record_deliveries(sent_by_channel: Mapping[str, int], *, failed: int = 0, retrying: int = 0) -> None:
    m = instruments()
    for channel, count in sent_by_channel.items():
        m.alerts_sent.labels(channel).inc(count)
    m.alerts_failed.inc(failed)
    m.alerts_retrying.inc(retrying)


def record_full_text(host: str, *, ok: bool) -> None:
    """One article page fetched for its main text; failures are counted per host."""
    m = instruments()
    m.full_text_pages.labels("extracted" if ok else "failed").inc()
    if not ok:
        m.full_text_failures.labels(host).inc()


def record_llm(outcome: str, tokens: int = 0) -> None:
    """One translation asked of the LLM (or answered from the cache, or skipped) and the tokens it used."""
    m = instruments()
    m.llm_requests.labels(outcome).inc()
    if tokens:
        m.llm_tokens.inc(tokens)


def observe_task(task: str, state: str, seconds: float) -> None:
    instruments().task_duration.labels(task, state).observe(seconds)


def queue_depths(client: Any, queues: Iterable[str] = QUEUES) -> dict[str, int]:
    """LLEN of each queue, counting kombu's per-priority lists (``name``, ``name\\x06\\x163``, ...)."""
    from kombu.transport.redis import PRIORITY_STEPS, Channel

    queues = tuple(queues)
    pipe = client.pipeline()
    names: list[str] = []
    for queue in queues:
        for step in PRIORITY_STEPS:
            pipe.llen(queue if step == 0 else f"{queue}{Channel.sep}{step}")
            names.append(queue)
    depths = dict.fromkeys(queues, 0)
    for queue, count in zip(names, pipe.execute()):
        depths[queue] += int(count)
    return depths


class QueueDepthCollector:
    """``cnai_queue_depth{queue}``: messages waiting in each Redis list, read at scrape time.

    Also ``cnai_queue_unacked`` (messages a worker holds and has not acknowledged) and
    ``cnai_broker_up`` (0 when Redis did not answer; the depths are then left out).
    """

    def __init__(self, broker_url: str, queues: Iterable[str] = QUEUES) -> None:
        self.broker_url = broker_url
        self.queues = tuple(queues)
        self._client: Any = None

    def describe(self) -> list[Any]:
        return []  # read Redis at scrape time only, never at registration

    def collect(self) -> Iterator[Any]:
        import redis
        from prometheus_client.core import GaugeMetricFamily

        if self._client is None:
            self._client = redis.Redis.from_url(self.broker_url, socket_timeout=2, socket_connect_timeout=2)
        up = GaugeMetricFamily("cnai_broker_up", "1 when the broker answered the last scrape.")
        try:
            depths = queue_depths(self._client, self.queues)
            unacked = int(self._client.hlen("unacked"))
        except redis.RedisError as exc:
            log.warning("metrics: broker unreachable: %s", type(exc).__name__)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        depth = GaugeMetricFamily("cnai_queue_depth", "Messages waiting in each queue.", labels=["queue"])
        for queue, count in depths.items():
            depth.add_metric([queue], count)
        yield depth
        yield GaugeMetricFamily(
            "cnai_queue_unacked", "Messages delivered to a worker, not yet acknowledged.", value=unacked
        )


def prepare_multiprocess_dir(path: Path) -> None:
    """Start from an empty directory: files left by an earlier run would add stale counts."""
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True, exist_ok=True)


def metrics_registry(broker_url: str, queues: Iterable[str] = QUEUES) -> CollectorRegistry:
    """What the endpoint serves: every process's samples (multiprocess mode) or this one's, plus queue depths."""
    from prometheus_client import REGISTRY, CollectorRegistry

    instruments()
    registry = CollectorRegistry(auto_describe=False)
    if os.environ.get(MULTIPROC_ENV):
        from prometheus_client import multiprocess

        multiprocess.MultiProcessCollector(registry)
    else:
        registry.register(_ProcessMetrics(REGISTRY))
    registry.register(QueueDepthCollector(broker_url, queues))
    return registry


class _ProcessMetrics:
    """This process's metrics (the default registry), inside another registry."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry

    def describe(self) -> list[Any]:
        return []

    def collect(self) -> Iterator[Any]:
        return iter(self.registry.collect())


#: Ports tried from METRICS_PORT upwards, so several workers on one host each serve their own /metrics.
METRICS_PORT_SPAN = 16


def serve_metrics(port: int, broker_url: str, queues: Iterable[str] = QUEUES) -> int | None:
    """Serve /metrics from a daemon thread on the first free port of METRICS_PORT .. METRICS_PORT+15
    (all interfaces); the port taken, or None when every one is taken."""
    from prometheus_client import start_http_server

    registry = metrics_registry(broker_url, queues)
    for candidate in range(port, min(port + METRICS_PORT_SPAN, 65536)):
        try:
            start_http_server(candidate, registry=registry)
        except OSError:
            continue
        log.info("metrics: serving on :%s/metrics", candidate)
        return candidate
    log.warning("metrics: ports %s-%s are all taken; metrics are not served", port, port + METRICS_PORT_SPAN - 1)
    return None
