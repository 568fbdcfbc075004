"""Every query of docs/admin-queries.sql runs on a year of data (100,000 articles), and the
selective ones are answered from indexes; search and JSON filters use their indexes; the
"why did this article not alert" query agrees with the outbox's own rules."""

from __future__ import annotations

import re
from typing import Any

import pytest
from sqlalchemy import Connection, desc, select, text
from sqlalchemy.orm import Session

from bench.support.plans import index_scanned, indexes_used, sequentially_scanned
from bench.support.query_catalogue import AdminQuery, read_admin_queries
from db.models import Article, Classification, Subscription
from services.alerts.outbox import subscription_matches
from tests.admin.conftest import ARTICLES, AdminDataset

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

QUERIES = read_admin_queries()
# Tables that grow with time. A selective query must reach one of them through an index, and
# never read the fetch log (by far the largest) whole. Whether reading a smaller one whole
# beats a few thousand index probes is the planner's call.
GROWING = {"articles", "classifications", "stories", "feed_entries", "alerts", "deliveries", "fetch_log"}
# Windows that start at a calendar boundary (month start, last Friday) can be empty just after it.
MAY_BE_EMPTY = {"alerts-about-cac-this-month", "alerts-per-subscription-this-month", "feeds-failing-since-friday"}


def _plan(connection: Connection, sql: str) -> dict[str, Any]:
    return connection.execute(text("EXPLAIN (FORMAT JSON) " + sql)).scalar_one()[0]["Plan"]


def test_the_catalogue_has_at_least_15_named_documented_queries() -> None:
    names = [q.name for q in QUERIES]
    assert len(QUERIES) >= 15
    assert len(set(names)) == len(names)
    for query in QUERIES:
        assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", query.name), query.name
        assert len(query.question) > 30, f"{query.name}: say what question it answers"
    assert sum(q.selective for q in QUERIES) >= 10


def test_the_dataset_is_a_year_of_realistic_data(admin_dataset: AdminDataset) -> None:
    counts = admin_dataset.counts
    assert counts["articles"] == ARTICLES
    assert counts["classifications"] > ARTICLES and counts["feed_entries"] > ARTICLES
    assert counts["stories"] < ARTICLES * 0.7
    assert counts["alerts"] > 1000 and counts["deliveries"] > counts["alerts"]
    with admin_dataset.engine.connect() as connection:
        span_days, chinese_share, relevant_share = connection.execute(
            text(
                "SELECT extract(day FROM max(published_at) - min(published_at)),"
                "       avg((language LIKE 'zh%')::int), avg(relevant::int) FROM article_verdicts"
            )
        ).one()
    assert span_days >= 360
    assert 0.25 < chinese_share < 0.5
    assert 0.1 < relevant_share < 0.3


def test_the_dataset_keeps_every_foreign_key(admin_dataset: AdminDataset) -> None:
    """The loader skips foreign-key triggers for speed; nothing may point nowhere."""
    with admin_dataset.engine.connect() as connection:
        foreign_keys = connection.execute(
            text("""
            SELECT c.conrelid::regclass::text, a.attname, c.confrelid::regclass::text, fa.attname
            FROM pg_constraint c
            JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]
            JOIN pg_attribute fa ON fa.attrelid = c.confrelid AND fa.attnum = c.confkey[1]
            WHERE c.contype = 'f' AND c.connamespace = 'public'::regnamespace
        """)
        ).all()
        assert len(foreign_keys) >= 12
        for table, column, target, target_column in foreign_keys:
            dangling = connection.execute(
                text(
                    f"SELECT count(*) FROM {table} t WHERE t.{column} IS NOT NULL"
                    f" AND NOT EXISTS (SELECT 1 FROM {target} x WHERE x.{target_column} = t.{column})"
                )
            ).scalar_one()
            assert dangling == 0, f"{table}.{column} -> {target}"


@pytest.mark.parametrize("query", QUERIES, ids=[q.name for q in QUERIES])
def test_admin_query_runs_and_selective_ones_use_indexes(admin_dataset: AdminDataset, query: AdminQuery) -> None:
    with admin_dataset.engine.connect() as connection:
        rows = connection.execute(text(query.sql)).all()
        plan = _plan(connection, query.sql)
    if query.name not in MAY_BE_EMPTY:
        assert rows, f"{query.name} found nothing in a year of data"
    if query.selective:
        assert index_scanned(plan) & GROWING, f"{query.name} is tagged selective but reads no large table by index"
        assert "fetch_log" not in sequentially_scanned(plan), f"{query.name} reads the whole fetch log"


@pytest.mark.parametrize(
    "condition",
    [
        "topics ? 'standards'",
        """topics @> '["standards"]'""",
        "entities ? 'TC260'",
        """entities @> '["Cyberspace Administration of China"]'""",
    ],
)
def test_selective_topic_and_entity_filters_use_the_gin_indexes(admin_dataset: AdminDataset, condition: str) -> None:
    with admin_dataset.engine.connect() as connection:
        plan = _plan(connection, f"SELECT article_id, score FROM classifications WHERE {condition}")
        matches = connection.execute(text(f"SELECT count(*) FROM classifications WHERE {condition}")).scalar_one()
        total = connection.execute(text("SELECT count(*) FROM classifications")).scalar_one()
    column = condition.split()[0]
    assert 0 < matches < total * 0.1
    assert f"ix_classifications_{column}" in indexes_used(plan)


def _search(connection: Connection, q: str) -> set[int]:
    return set(connection.execute(text("SELECT article_id FROM search_articles(:q, 1000000)"), {"q": q}).scalars())


def test_two_character_chinese_search_finds_every_article_by_the_bigram_index(admin_dataset: AdminDataset) -> None:
    with admin_dataset.engine.connect() as connection:
        found = _search(connection, "算力")
        truth = set(
            connection.execute(
                text("SELECT id FROM articles WHERE title LIKE '%算力%' OR summary LIKE '%算力%'")
            ).scalars()
        )
        plan = _plan(connection, "SELECT * FROM search_articles('算力')")
    assert found == truth and len(truth) > 100
    assert "ix_articles_text_han_bigrams" in indexes_used(plan)


def test_english_search_is_stemmed_full_text_by_its_index(admin_dataset: AdminDataset) -> None:
    with admin_dataset.engine.connect() as connection:
        found = _search(connection, '"export control"')  # singular: stemming finds "export controls"
        truth = set(
            connection.execute(
                text("SELECT id FROM articles WHERE title ILIKE '%export control%' OR summary ILIKE '%export control%'")
            ).scalars()
        )
        plan = _plan(connection, "SELECT * FROM search_articles('\"export control\"')")
    assert found == truth and len(truth) > 100
    assert "ix_articles_text_tsvector" in indexes_used(plan)


def test_mixed_search_needs_every_part_including_latin_words_inside_chinese_text(admin_dataset: AdminDataset) -> None:
    with admin_dataset.engine.connect() as connection:
        found = _search(connection, "英伟达 H20")
        chinese_only = _search(connection, "英伟达")
        truth = set(
            connection.execute(
                text(
                    "SELECT id FROM articles WHERE article_text(title, summary) LIKE '%英伟达%'"
                    " AND article_text(title, summary) ILIKE '%h20%'"
                )
            ).scalars()
        )
    assert found == truth and found
    assert found <= chinese_only


def test_trigram_index_serves_rare_substrings_in_any_script(admin_dataset: AdminDataset) -> None:
    with admin_dataset.engine.connect() as connection:
        plan = _plan(connection, "SELECT id FROM articles WHERE article_text(title, summary) ILIKE '%TC260 responds%'")
    assert "ix_articles_text_trgm" in indexes_used(plan)


def test_why_not_alert_query_applies_the_outbox_rules(admin_dataset: AdminDataset) -> None:
    """For a sample of articles, the query's verdict per subscription equals services.alerts.outbox's."""
    query = next(q for q in QUERIES if q.name == "why-did-this-article-not-alert")
    assert "a.article_id = 4242" in query.sql
    with Session(admin_dataset.engine) as session:
        subscriptions = {s.id: s for s in session.scalars(select(Subscription))}
        sample = session.scalars(select(Article.id).where(Article.id % 197 == 0).order_by(Article.id)).all()
        checked = matched = 0
        for article_id in sample:
            article = session.get(Article, article_id)
            verdict = session.scalars(
                select(Classification)
                .where(Classification.article_id == article_id)
                .order_by(desc(Classification.created_at), desc(Classification.id))
                .limit(1)
            ).one()
            rows = (
                session.execute(
                    text(query.sql.replace("a.article_id = 4242", "a.article_id = :id")), {"id": article_id}
                )
                .mappings()
                .all()
            )
            assert {row["subscription_id"] for row in rows} == set(subscriptions)
            for row in rows:
                by_sql = (
                    row["enabled"]
                    and row["relevant"]
                    and all(row[rule] for rule in ("score_ok", "topics_ok", "entities_ok", "language_ok", "source_ok"))
                )
                assert by_sql == subscription_matches(subscriptions[row["subscription_id"]], article, verdict), (
                    article_id,
                    row["subscription"],
                )
                assert (row["outcome"] == "alerted") == (row["alert_id"] is not None)
                checked += 1
                matched += by_sql
    assert checked > 2500 and matched > 50
