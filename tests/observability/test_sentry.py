"""Sentry: a real event sent to a local stand-in for sentry.io, tagged, and with every secret scrubbed."""

from __future__ import annotations

import gzip
import json
import zlib
from collections.abc import Iterator

import pytest

from services.observability.sentry import FILTERED, init_sentry, scrub
from services.settings import get_settings
from tests.integration.processes import wait_until
from tests.support.http import LocalHTTPServer, Request, Response

SLACK = "https://hooks.slack.com/services/T0AAA/B0BBB/s3cr3tWebhookToken"
SMTP_PASSWORD = "hunter2-smtp-pass"
DB_PASSWORD = "pg-pass-0987"


def _line_end(body: bytes, pos: int) -> int:
    end = body.find(b"\n", pos)
    return len(body) if end == -1 else end


def decode_envelope(request: Request) -> list[tuple[dict, object]]:
    """(item header, payload) pairs of a Sentry envelope, whatever compression the SDK chose."""
    body, encoding = request.body, request.headers.get("content-encoding", "")
    if encoding == "gzip":
        body = gzip.decompress(body)
    elif encoding == "br":
        import brotli  # type: ignore[import-not-found]

        body = brotli.decompress(body)
    elif encoding == "deflate":
        body = zlib.decompress(body)
    items: list[tuple[dict, object]] = []
    pos = body.index(b"\n") + 1  # after the envelope header
    while pos < len(body):
        end = _line_end(body, pos)
        if not body[pos:end].strip():
            pos = end + 1
            continue
        header = json.loads(body[pos:end])
        pos = end + 1
        length = header.get("length")
        if length is None:
            length = _line_end(body, pos) - pos
        payload = body[pos : pos + length]
        pos += length + 1
        try:
            items.append((header, json.loads(payload)))
        except ValueError:
            items.append((header, payload))
    return items


@pytest.fixture
def sentry_server(http_server: LocalHTTPServer) -> Iterator[LocalHTTPServer]:
    http_server.routes["/api/1/envelope/"] = Response(200, b"{}", {"Content-Type": "application/json"})
    yield http_server
    import sentry_sdk

    sentry_sdk.get_client().close(timeout=2)
    sentry_sdk.init(dsn=None)


def events(server: LocalHTTPServer) -> list[dict]:
    found = []
    for request in server.requests_to("/api/1/envelope/"):
        found += [payload for header, payload in decode_envelope(request) if header.get("type") == "event"]
    return found


def test_an_exception_arrives_tagged_with_every_secret_scrubbed(
    env: pytest.MonkeyPatch, sentry_server: LocalHTTPServer
) -> None:
    env.setenv("SENTRY_DSN", f"http://public@127.0.0.1:{sentry_server.port}/1")
    env.setenv("SENTRY_ENVIRONMENT", "staging")
    env.setenv("SENTRY_RELEASE", "cnai-monitor@test-1")
    env.setenv("SLACK_WEBHOOK_URL", SLACK)
    env.setenv("SMTP_URL", f"smtp://alerts:{SMTP_PASSWORD}@127.0.0.1:2525")
    env.setenv("DATABASE_URL", f"postgresql+psycopg://cnai:{DB_PASSWORD}@127.0.0.1:5432/cnai")
    settings = get_settings()
    assert init_sentry(settings, "worker")

    import sentry_sdk

    def deliver(webhook: str) -> None:
        smtp_password = SMTP_PASSWORD  # a local variable: the SDK sends frame variables too
        raise RuntimeError(f"POST {webhook} failed; fallback smtp login alerts:{smtp_password}; db {DB_PASSWORD}")

    try:
        deliver(SLACK)
    except RuntimeError:
        sentry_sdk.capture_exception()
    sentry_sdk.flush(timeout=5)

    [event] = wait_until(lambda: events(sentry_server), 5, "the event at the Sentry stand-in")
    raw = json.dumps(event, ensure_ascii=False)
    for secret in (SLACK, SMTP_PASSWORD, DB_PASSWORD, "s3cr3tWebhookToken"):
        assert secret not in raw, f"{secret!r} reached Sentry"
    message = event["exception"]["values"][-1]["value"]
    assert message.startswith(f"POST {FILTERED} failed") and "alerts:" + FILTERED in message
    assert event["environment"] == "staging"
    assert event["release"] == "cnai-monitor@test-1"
    assert event["tags"]["component"] == "worker"
    frames = event["exception"]["values"][-1]["stacktrace"]["frames"]
    assert any(frame.get("function") == "deliver" for frame in frames), "the stack trace arrived"


def test_no_dsn_means_no_sentry(env: pytest.MonkeyPatch) -> None:
    assert init_sentry(get_settings(), "cli") is False


def test_scrub_walks_nested_structures_and_keys() -> None:
    event = {"a": ["x secret-1 y", ("secret-1",), {"secret-1": 3}], "n": 5, "b": None}
    assert scrub(event, ["secret-1"]) == {"a": [f"x {FILTERED} y", (FILTERED,), {FILTERED: 3}], "n": 5, "b": None}
