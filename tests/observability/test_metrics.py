"""Prometheus metrics: counters from the pipeline, and queue depth read from a real Redis at scrape time."""

from __future__ import annotations

import httpx
import redis
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from services.observability.metrics import (
    metrics_registry,
    observe_task,
    queue_depths,
    record_deliveries,
    record_feed_poll,
    serve_metrics,
)
from tests.support.services import PrivateRedis, free_port


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def scrape(broker_url: str) -> dict:
    return samples(generate_latest(metrics_registry(broker_url)).decode())


def test_queue_depth_counts_every_priority_list_of_each_queue(private_redis: PrivateRedis) -> None:
    client = redis.Redis.from_url(private_redis.url)
    client.lpush("poll", "a", "b", "c")
    client.lpush("deliver\x06\x163", "d")
    client.hset("unacked", "tag-1", "{}")
    assert queue_depths(client) == {"dispatch": 0, "poll": 3, "classify": 0, "deliver": 1}
    scraped = scrape(private_redis.url)
    assert scraped[("cnai_queue_depth", (("queue", "poll"),))] == 3
    assert scraped[("cnai_queue_depth", (("queue", "deliver"),))] == 1
    assert scraped[("cnai_queue_depth", (("queue", "classify"),))] == 0
    assert scraped[("cnai_queue_unacked", ())] == 1
    assert scraped[("cnai_broker_up", ())] == 1


def test_an_unreachable_broker_is_reported_not_raised(private_redis: PrivateRedis) -> None:
    url = private_redis.url
    private_redis.stop()
    scraped = scrape(url)
    assert scraped[("cnai_broker_up", ())] == 0
    assert not any(name == "cnai_queue_depth" for name, _ in scraped)


def test_pipeline_counters_are_served_over_http(private_redis: PrivateRedis) -> None:
    before = scrape(private_redis.url)

    def delta(name: str, **labels: str) -> float:
        key = (name, tuple(sorted(labels.items())))
        return after.get(key, 0.0) - before.get(key, 0.0)

    record_feed_poll("ok", new_articles=4, relevant=2, alerts=2)
    record_feed_poll("error")
    record_deliveries({"slack-default": 2}, failed=1, retrying=3)
    observe_task("cnai.poll.feed", "SUCCESS", 0.3)

    port = free_port()
    assert serve_metrics(port, private_redis.url)
    after = samples(httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text)
    assert delta("cnai_feeds_polled_total", status="ok") == 1
    assert delta("cnai_feeds_polled_total", status="error") == 1
    assert delta("cnai_fetch_errors_total") == 1
    assert delta("cnai_articles_ingested_total") == 4
    assert delta("cnai_articles_relevant_total") == 2
    assert delta("cnai_alerts_queued_total") == 2
    assert delta("cnai_alerts_sent_total", channel="slack-default") == 2
    assert delta("cnai_alerts_failed_total") == 1
    assert delta("cnai_alerts_retrying_total") == 3
    assert delta("cnai_task_duration_seconds_count", task="cnai.poll.feed", state="SUCCESS") == 1
    assert after[("cnai_broker_up", ())] == 1


def test_a_second_worker_on_the_host_serves_on_the_next_free_port(private_redis: PrivateRedis) -> None:
    import socket
    import urllib.request

    with socket.socket() as busy:
        busy.bind(("0.0.0.0", 0))
        busy.listen()
        taken = busy.getsockname()[1]
        served = serve_metrics(taken, private_redis.url)
        assert served is not None and taken < served < taken + 16, "the taken port is skipped, not a crash"
        with urllib.request.urlopen(f"http://127.0.0.1:{served}/metrics", timeout=5) as response:
            assert b"cnai_broker_up" in response.read()
