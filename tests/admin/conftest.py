"""A private PostgreSQL database holding a year of generated monitor data, shared by a test module."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import NamedTuple

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from bench.support.admin_data import load_admin_dataset
from tests.support.services import TEST_DATABASE_URL

ARTICLES = 100_000


class AdminDataset(NamedTuple):
    url: str
    engine: Engine
    counts: dict[str, int]


def database_url(name: str) -> str:
    return make_url(TEST_DATABASE_URL).set(database=name).render_as_string(hide_password=False)


@pytest.fixture(scope="module")
def admin_dataset(pg_template: str) -> Iterator[AdminDataset]:
    """100,000 articles and everything around them, loaded once per module (about a minute)."""
    name = f"cnai_admin_{uuid.uuid4().hex[:10]}"
    server = create_engine(database_url("postgres"), isolation_level="AUTOCOMMIT")
    with server.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{pg_template}"'))
    url = database_url(name)
    engine = create_engine(url)
    try:
        yield AdminDataset(url, engine, load_admin_dataset(engine, articles=ARTICLES))
    finally:
        engine.dispose()
        with server.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        server.dispose()
