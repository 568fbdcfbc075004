"""story coverage: outlets, languages, first outlet and first publication time; article event keys

``stories.outlet_count``, ``languages``, ``first_outlet`` and ``first_published_at`` say who
reported a story and who was first ("reported by 4 outlets (first: X, 09:12)");
``articles.story_keys`` holds an article's event keys (catalogue names, versions, numbers)
so a later article from another outlet, in any language, can be compared with it.

Existing stories get outlet_count 1 (the server default); their other fields stay NULL
until an article joins them.

Revision ID: 0008
Revises: 0006
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from db.types import UTCDateTime

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


_BASE_SELECT = """
        SELECT s.id AS story_id, s.title, s.first_seen_at, s.last_seen_at, s.article_count,
               coalesce(o.outlet_count, 0) AS outlet_count, coalesce(o.entry_count, 0) AS entry_count,
               coalesce(o.outlets, '{}') AS outlets, coalesce(l.languages, '{}') AS languages,
               (SELECT count(*) FROM alerts al WHERE al.story_id = s.id) AS alert_count{extra}
        FROM stories s
        LEFT JOIN LATERAL (
            SELECT count(DISTINCT fe.feed_id) AS outlet_count, count(*) AS entry_count,
                   array_agg(DISTINCT coalesce(f.title, f.url) ORDER BY coalesce(f.title, f.url)) AS outlets
            FROM articles a
            JOIN feed_entries fe ON fe.article_id = a.id
            JOIN feeds f ON f.id = fe.feed_id
            WHERE a.story_id = s.id
        ) o ON true
        LEFT JOIN LATERAL (
            SELECT array_agg(DISTINCT a.language ORDER BY a.language)
                   FILTER (WHERE a.language IS NOT NULL)::text[] AS languages
            FROM articles a
            WHERE a.story_id = s.id
        ) l ON true
"""
_NEW_COLUMNS = {
    "first_outlet": "Outlet of the story's earliest-published article: who reported it first.",
    "first_published_at": "Publication time of the story's earliest article (UTC).",
}


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def upgrade() -> None:
    with op.batch_alter_table("stories") as batch:
        batch.add_column(
            sa.Column(
                "outlet_count",
                sa.Integer(),
                server_default="1",
                nullable=False,
                comment="Number of distinct feeds (outlets) whose articles are in the story.",
            )
        )
        batch.add_column(
            sa.Column(
                "languages",
                sa.String(64),
                nullable=True,
                comment='Languages of the story\'s articles, comma-separated and sorted ("en,zh").',
            )
        )
        batch.add_column(
            sa.Column(
                "first_outlet",
                sa.Text(),
                nullable=True,
                comment="Outlet (feed title or host) of the story's earliest-published article.",
            )
        )
        batch.add_column(
            sa.Column(
                "first_published_at",
                UTCDateTime(timezone=True),
                nullable=True,
                comment="Publication time of the story's earliest article (UTC): when it was first reported.",
            )
        )
    with op.batch_alter_table("articles") as batch:
        batch.add_column(
            sa.Column(
                "story_keys",
                sa.Text(),
                nullable=True,
                comment="Event keys for story grouping (JSON: catalogue names, subjects, versions, numbers, dates).",
            )
        )
    if op.get_bind().dialect.name == "postgresql":  # the admin view gains who reported the story first
        extra = ",\n               s.first_outlet, s.first_published_at"
        op.execute("CREATE OR REPLACE VIEW stories_with_outlets AS " + _BASE_SELECT.replace("{extra}", extra))
        for column, comment in _NEW_COLUMNS.items():
            op.execute(f"COMMENT ON COLUMN stories_with_outlets.{column} IS {_quote(comment)}")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP VIEW stories_with_outlets")
        op.execute("CREATE VIEW stories_with_outlets AS " + _BASE_SELECT.replace("{extra}", ""))
    with op.batch_alter_table("articles") as batch:
        batch.drop_column("story_keys")
    with op.batch_alter_table("stories") as batch:
        batch.drop_column("first_published_at")
        batch.drop_column("first_outlet")
        batch.drop_column("languages")
        batch.drop_column("outlet_count")
