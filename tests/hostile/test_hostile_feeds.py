"""Hostile and broken feeds end in a clear recorded error or a correct parse, never a crash, and never
harm the good feeds polled in the same cycle (see corpus.py for the inputs and their expected endings)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from services.settings import get_settings
from tests.hostile.corpus import (
    CASES,
    DEADLINE_S,
    MAX_BYTES,
    SECRET_MARKER,
    TIMEOUT_S,
    Context,
    HostileCase,
    case_params,
)
from tests.hostile.cycle import (
    assert_good_feeds_unharmed,
    database_text,
    poll_between_good_feeds,
    serve_good_feeds,
    write_secret,
)
from tests.support.http import LocalHTTPServer, Response


@pytest.fixture
def hostile_context(env: pytest.MonkeyPatch, http_server: LocalHTTPServer, tmp_path: Path) -> Iterator[Context]:
    env.setenv("FETCH_ALLOWED_NETWORKS", "127.0.0.0/8")
    env.setenv("FETCH_TIMEOUT_SECONDS", str(TIMEOUT_S))
    env.setenv("FETCH_DEADLINE_SECONDS", str(DEADLINE_S))
    env.setenv("FETCH_MAX_BYTES", str(MAX_BYTES))
    env.setenv("FETCH_PER_HOST_GAP_SECONDS", "0")
    ctx = Context(http_server, write_secret(tmp_path, SECRET_MARKER))
    http_server.routes[ctx.probe_path] = Response(
        200, f'<!ENTITY leak "{SECRET_MARKER}">'.encode(), {"Content-Type": "application/xml-dtd"}
    )
    yield ctx
    for server in ctx.raw_servers:
        server.stop()


@pytest.mark.parametrize("case", case_params())
def test_hostile_feed_ends_cleanly_between_good_feeds(
    case: HostileCase, sqlite_url: str, env: pytest.MonkeyPatch, hostile_context: Context
) -> None:
    env.setenv("DATABASE_URL", sqlite_url)
    for name, value in case.env.items():
        env.setenv(name, value)
    good = serve_good_feeds(hostile_context.http)
    hostile_url = case.serve(hostile_context)

    cycle = poll_between_good_feeds(get_settings(), good, {case.name: hostile_url})

    assert cycle.report.feeds_polled == 3
    case.expect(cycle.outcome(case.name, hostile_context.http))
    assert_good_feeds_unharmed(cycle)
    assert SECRET_MARKER not in database_text()


@pytest.mark.postgres
def test_every_hostile_feed_in_one_cycle_on_postgres(
    pg_url: str, env: pytest.MonkeyPatch, hostile_context: Context
) -> None:
    """The corpus as a production cycle meets it: PostgreSQL, concurrent fetches, batched writes, one
    feed's failure never leaking into the next."""
    env.setenv("DATABASE_URL", pg_url)
    env.setenv("FETCH_PER_HOST_CONCURRENCY", "4")  # below the local server's listen backlog of 5
    cases = [case for case in CASES if not case.heavy]
    good = serve_good_feeds(hostile_context.http)
    hostile = {case.name: case.serve(hostile_context) for case in cases}

    cycle = poll_between_good_feeds(get_settings(), good, hostile)

    failures = []
    for case in cases:
        try:
            case.expect(cycle.outcome(case.name, hostile_context.http))
        except AssertionError as exc:
            failures.append(f"{case.name}: {str(exc).splitlines()[0]}")
    assert_good_feeds_unharmed(cycle)
    assert SECRET_MARKER not in database_text()
    assert cycle.report.feeds_polled == len(cases) + 2, failures
    assert not failures, "\n".join(failures)
