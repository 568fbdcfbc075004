"""indexes and comments for admin queries

Btree indexes the admin questions need (declared in the models, created on every backend),
GIN indexes on the JSON topic and entity lists (PostgreSQL only: ``topics ? 'regulation'``
and ``topics @> '["regulation"]'`` use them), an index on the UTC publication day
(PostgreSQL only, an expression index), and comments on the columns that had none,
so ``\\d+`` in psql explains every column.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID_COMMENTS = {
    "feeds": "Feed id (feed_id elsewhere).",
    "stories": "Story id (story_id elsewhere).",
    "articles": "Article id (article_id elsewhere).",
    "feed_entries": "Feed entry id.",
    "classifications": "Classification id; the highest created_at per article is its current verdict.",
    "labels": "Label id.",
    "channels": "Channel id (channel_id elsewhere).",
    "subscriptions": "Subscription id (subscription_id elsewhere).",
    "alerts": "Alert id (alert_id elsewhere).",
    "deliveries": "Delivery id.",
    "fetch_log": "Fetch id.",
}
SUBSCRIPTION_CHANNEL_COMMENTS = {
    "subscription_id": "Subscription sending to the channel.",
    "channel_id": "Channel the subscription sends to.",
}
# Days are UTC days; the daily_topic_counts view groups by this expression, so a filter on its
# "day" column can use the index.
PUBLISHED_DAY_INDEX = "CREATE INDEX ix_articles_published_day ON articles (((published_at AT TIME ZONE 'UTC')::date))"
GIN_INDEXES = {
    "ix_classifications_topics": ("classifications", "topics"),
    "ix_classifications_entities": ("classifications", "entities"),
}


def _postgres() -> bool:
    return op.get_bind().dialect.name == "postgresql"


def upgrade() -> None:
    op.create_index("ix_feed_entries_feed_id_first_seen_at", "feed_entries", ["feed_id", "first_seen_at"])
    op.create_index("ix_fetch_log_started_at", "fetch_log", ["started_at"])
    if not _postgres():
        return  # SQLite has neither GIN indexes nor comments.
    for name, (table, column) in GIN_INDEXES.items():
        op.create_index(name, table, [column], postgresql_using="gin")
    op.execute(PUBLISHED_DAY_INDEX)
    for table, comment in ID_COMMENTS.items():
        op.alter_column(table, "id", existing_type=sa.Integer(), existing_nullable=False, comment=comment)
    for column, comment in SUBSCRIPTION_CHANNEL_COMMENTS.items():
        op.alter_column(
            "subscription_channels", column, existing_type=sa.Integer(), existing_nullable=False, comment=comment
        )
    op.execute("COMMENT ON TABLE alembic_version IS 'Alembic bookkeeping: the migration revision this database is at.'")
    op.execute(
        "COMMENT ON COLUMN alembic_version.version_num IS 'Current Alembic revision id (see alembic/versions/).'"
    )


def downgrade() -> None:
    if _postgres():
        op.execute("COMMENT ON COLUMN alembic_version.version_num IS NULL")
        op.execute("COMMENT ON TABLE alembic_version IS NULL")
        for column in SUBSCRIPTION_CHANNEL_COMMENTS:
            op.alter_column(
                "subscription_channels", column, existing_type=sa.Integer(), existing_nullable=False, comment=None
            )
        for table in ID_COMMENTS:
            op.alter_column(table, "id", existing_type=sa.Integer(), existing_nullable=False, comment=None)
        op.drop_index("ix_articles_published_day", table_name="articles")
        for name, (table, _column) in GIN_INDEXES.items():
            op.drop_index(name, table_name=table)
    op.drop_index("ix_fetch_log_started_at", table_name="fetch_log")
    op.drop_index("ix_feed_entries_feed_id_first_seen_at", table_name="feed_entries")
