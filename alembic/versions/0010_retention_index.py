"""index feed_entries by first_seen_at for retention

Retention (services/retention.py) deletes feed entries older than FEED_ENTRY_RETENTION_DAYS in
bounded batches, oldest first; this index makes each batch an index range scan instead of a
scan of the whole table. fetch_log already has ix_fetch_log_started_at.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_feed_entries_first_seen_at", "feed_entries", ["first_seen_at"])


def downgrade() -> None:
    op.drop_index("ix_feed_entries_first_seen_at", table_name="feed_entries")
