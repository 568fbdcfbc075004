"""The schema explains itself: every table, view, column and function of ours carries a comment,
and docs/admin.md describes every view and its columns."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

pytestmark = pytest.mark.postgres

ADMIN_DOC = Path(__file__).resolve().parents[2] / "docs" / "admin.md"
NOT_FROM_AN_EXTENSION = "NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = {oid} AND d.deptype = 'e')"


def _rows(url: str, sql: str) -> list[tuple]:  # type: ignore[type-arg]
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return [tuple(row) for row in connection.execute(text(sql))]
    finally:
        engine.dispose()


def test_every_table_view_and_column_has_a_comment(pg_url: str) -> None:
    relations = f"""
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
          AND {NOT_FROM_AN_EXTENSION.format(oid="c.oid")}
    """
    described = _rows(pg_url, f"SELECT c.relname {relations} AND obj_description(c.oid, 'pg_class') IS NOT NULL")
    silent = _rows(pg_url, f"SELECT c.relname {relations} AND obj_description(c.oid, 'pg_class') IS NULL")
    silent_columns = _rows(
        pg_url,
        f"""
        SELECT c.relname, a.attname {relations.replace("WHERE", "JOIN pg_attribute a ON a.attrelid = c.oid WHERE")}
          AND a.attnum > 0 AND NOT a.attisdropped AND col_description(c.oid, a.attnum) IS NULL
    """,
    )
    assert {"articles", "alembic_version", "relevant_articles", "feed_health"} <= {name for (name,) in described}
    assert silent == [], f"tables/views without COMMENT ON: {silent}"
    assert silent_columns == [], f"columns without COMMENT ON: {silent_columns}"


def test_every_function_of_ours_has_a_comment(pg_url: str) -> None:
    silent = _rows(
        pg_url,
        f"""
        SELECT p.oid::regprocedure::text FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
        WHERE n.nspname = 'public' AND {NOT_FROM_AN_EXTENSION.format(oid="p.oid")}
          AND obj_description(p.oid, 'pg_proc') IS NULL
    """,
    )
    assert silent == []


def test_admin_doc_describes_every_view_and_its_columns(pg_url: str) -> None:
    doc = ADMIN_DOC.read_text(encoding="utf-8")
    columns = _rows(
        pg_url,
        """
        SELECT c.relname, a.attname FROM pg_class c
        JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = 'public'
        JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0
        WHERE c.relkind = 'v' ORDER BY c.relname, a.attnum
    """,
    )
    views = {view for view, _column in columns}
    assert len(views) >= 8
    for view in views:
        section = re.search(rf"^### `{view}`\n(.*?)(?=^#)", doc, flags=re.MULTILINE | re.DOTALL)
        assert section, f"docs/admin.md has no '### `{view}`' section"
        missing = [c for v, c in columns if v == view and f"`{c}`" not in section.group(1)]
        assert not missing, f"docs/admin.md, view {view}: columns not described: {missing}"
    assert "search_articles" in doc and "admin-queries.sql" in doc and "cnai_readonly" in doc
