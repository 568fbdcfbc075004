"""full text for thin items: feeds.full_text setting, articles.full_text

``feeds.full_text`` (auto / always / never, default auto) says when a poll fetches an article's
page for its main text; ``articles.full_text`` holds the text extracted (NULL when none was
fetched or extraction failed).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FEED_COMMENT = (
    "When to fetch an article's page for its main text: auto (thin text, uncertain verdict), always or never."
)
ARTICLE_COMMENT = "Main text extracted from the article's page when the feed text was thin; NULL when not fetched or extraction failed."


def upgrade() -> None:
    with op.batch_alter_table("feeds", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("full_text", sa.String(length=8), nullable=False, server_default="auto", comment=FEED_COMMENT)
        )
    with op.batch_alter_table("articles", schema=None) as batch_op:
        batch_op.add_column(sa.Column("full_text", sa.Text(), nullable=True, comment=ARTICLE_COMMENT))


def downgrade() -> None:
    with op.batch_alter_table("articles", schema=None) as batch_op:
        batch_op.drop_column("full_text")
    with op.batch_alter_table("feeds", schema=None) as batch_op:
        batch_op.drop_column("full_text")
