"""Structured logs: one JSON object per line with the task, feed and article context; no secret in any line."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from services.observability.logs import (
    JSONFormatter,
    LogContextFilter,
    SecretScrubber,
    bind_log_context,
    configure_logging,
    current_log_context,
    set_log_context,
)
from services.settings import get_settings

SLACK = "https://hooks.slack.com/services/T1/B2/verysecrettoken"


@pytest.fixture
def json_lines() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(LogContextFilter())
    handler.addFilter(SecretScrubber([SLACK]))
    handler.setFormatter(JSONFormatter())
    logger = logging.getLogger("cnai.test.logs")
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    yield stream
    logger.removeHandler(handler)


def records(stream: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_bound_context_and_extra_fields_reach_the_json_line(json_lines: io.StringIO) -> None:
    log = logging.getLogger("cnai.test.logs")
    with bind_log_context(task_id="t-1", task_name="cnai.poll.feed", feed_id=7):
        log.info("polled %s", "feed")
        log.info("stored", extra={"article_id": 42, "feed_id": 8})
    log.info("outside")
    first, second, outside = records(json_lines)
    assert first["message"] == "polled feed"
    assert (first["task_id"], first["task_name"], first["feed_id"]) == ("t-1", "cnai.poll.feed", 7)
    assert "article_id" not in first
    assert second["article_id"] == 42 and second["feed_id"] == 8, "extra= wins over the bound context"
    assert set(outside) == {"time", "level", "logger", "message"}
    assert first["time"].endswith("+00:00") and first["level"] == "info"


def test_chinese_stays_readable(json_lines: io.StringIO) -> None:
    logging.getLogger("cnai.test.logs").warning("网信办发布生成式人工智能服务管理办法")
    assert "网信办" in json_lines.getvalue()


def test_secrets_are_scrubbed_from_messages_and_tracebacks(json_lines: io.StringIO) -> None:
    log = logging.getLogger("cnai.test.logs")
    log.error("posting to %s", SLACK)
    try:
        raise ConnectionError(f"cannot reach {SLACK}")
    except ConnectionError:
        log.exception("delivery failed")
    text = json_lines.getvalue()
    assert SLACK not in text and "verysecrettoken" not in text
    message, failure = records(json_lines)
    assert message["message"] == "posting to [redacted]"
    assert "ConnectionError: cannot reach [redacted]" in failure["exception"]


def test_contexts_nest_and_unwind() -> None:
    with bind_log_context(task_id="outer"):
        with bind_log_context(feed_id=3):
            assert current_log_context() == {"task_id": "outer", "feed_id": 3}
        assert current_log_context() == {"task_id": "outer"}
    assert current_log_context() == {}


def test_only_known_fields_can_be_bound() -> None:
    with pytest.raises(ValueError, match="password"):
        set_log_context(password="x")


def test_configure_logging_takes_the_more_verbose_of_setting_and_celery_level(env: pytest.MonkeyPatch) -> None:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    try:
        env.setenv("LOG_LEVEL", "WARNING")
        env.setenv("LOG_FORMAT", "json")
        configure_logging(get_settings(), "DEBUG")
        assert root.level == logging.DEBUG
        assert isinstance(root.handlers[0].formatter, JSONFormatter)
        configure_logging(get_settings(), None)
        assert root.level == logging.WARNING
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
