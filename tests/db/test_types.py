from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from db.engine import make_engine, make_session_factory, session_scope
from db.models import Feed


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_timestamps_come_back_aware_and_utc(backend: str, request: pytest.FixtureRequest) -> None:
    url = request.getfixturevalue("sqlite_url" if backend == "sqlite" else "pg_url")
    factory = make_session_factory(make_engine(url))
    beijing = timezone(timedelta(hours=8))
    with session_scope(factory) as session:
        session.add(Feed(url="https://example.com/feed", next_poll_at=datetime(2026, 1, 1, 8, 0, tzinfo=beijing)))
    with session_scope(factory) as session:
        when = session.execute(select(Feed.next_poll_at)).scalar_one()
    assert when.tzinfo is not None and when.utcoffset() == timedelta(0)
    assert when == datetime(2026, 1, 1, 0, 0, tzinfo=timezone.utc)


def test_naive_timestamps_are_refused(sqlite_url: str) -> None:
    factory = make_session_factory(make_engine(sqlite_url))
    with pytest.raises(Exception, match="naive datetime"):
        with session_scope(factory) as session:
            session.add(Feed(url="https://example.com/feed", next_poll_at=datetime(2026, 1, 1)))
