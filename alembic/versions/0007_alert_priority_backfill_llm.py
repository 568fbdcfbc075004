"""alert routing by priority, quiet back-catalogue on a feed's first poll, LLM translation cache and budget

- ``feeds.backfill_pending``: the next successful poll is the feed's first (new or re-enabled feed);
  items older than ALERT_BACKFILL_HOURS are then stored and classified without alerts.
- ``subscriptions.instant_priorities`` / ``digest_priorities``: which priorities a subscription wants and how.
  Existing instant subscriptions get high+normal instantly and low in the daily digest; digest
  subscriptions get every priority in their digest.
- ``alerts.priority`` / ``alerts.delivery_mode``: the priority an alert was routed with, and whether
  it goes out instantly or in the subscription's digest.
- ``llm_translations``: English title and summary by content hash; ``llm_usage``: tokens spent per UTC day.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from db.types import UTCDateTime

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSONList = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("feeds", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "backfill_pending",
                sa.Boolean(),
                nullable=False,
                server_default=sa.false(),
                comment="True until the feed's next successful poll, which is its first (new or re-enabled): items older "
                "than ALERT_BACKFILL_HOURS are then stored and classified without alerts.",
            )
        )
    op.execute("UPDATE feeds SET backfill_pending = (last_success_at IS NULL OR disabled_at IS NOT NULL)")

    with op.batch_alter_table("subscriptions", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "instant_priorities",
                JSONList,
                nullable=False,
                server_default='["high", "normal"]',
                comment="Priorities (high, normal, low) sent instantly (JSON array).",
            )
        )
        batch_op.add_column(
            sa.Column(
                "digest_priorities",
                JSONList,
                nullable=False,
                server_default='["low"]',
                comment="Priorities (high, normal, low) sent in the subscription's digest (JSON array); daily at digest_time "
                "(08:00 when unset) for instant subscriptions.",
            )
        )
    op.execute(
        'UPDATE subscriptions SET instant_priorities = \'[]\', digest_priorities = \'["high", "normal", "low"]\' '
        "WHERE mode = 'digest'"
    )

    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "priority",
                sa.String(length=8),
                nullable=True,
                comment="Priority the alert was routed with: high, normal or low (NULL: unknown, routed as normal).",
            )
        )
        batch_op.add_column(
            sa.Column(
                "delivery_mode",
                sa.String(length=16),
                nullable=False,
                server_default="instant",
                comment="instant, or digest (sent in the subscription's next digest).",
            )
        )
    op.execute(
        "UPDATE alerts SET delivery_mode = 'digest' "
        "WHERE subscription_id IN (SELECT id FROM subscriptions WHERE mode = 'digest')"
    )

    op.create_table(
        "llm_translations",
        sa.Column(
            "content_hash",
            sa.String(length=64),
            nullable=False,
            comment="SHA-256 of model, title and summary: the cache key.",
        ),
        sa.Column("model", sa.String(length=200), nullable=False, comment="LLM_MODEL that translated."),
        sa.Column("title_en", sa.Text(), nullable=False, comment="The title in English."),
        sa.Column("summary_en", sa.Text(), nullable=False, comment="One English sentence summing up the article."),
        sa.Column("tokens", sa.Integer(), nullable=False, comment="Tokens the request used (prompt + completion)."),
        sa.Column("created_at", UTCDateTime(), nullable=False, comment="When the translation was made (UTC)."),
        sa.PrimaryKeyConstraint("content_hash", name=op.f("pk_llm_translations")),
        comment="English translations of Chinese alerts by the optional LLM, cached by content hash.",
    )
    op.create_table(
        "llm_usage",
        sa.Column("day", sa.String(length=10), nullable=False, comment="UTC day, YYYY-MM-DD."),
        sa.Column(
            "tokens", sa.Integer(), nullable=False, comment="Tokens used that day, counted against LLM_DAILY_TOKENS."
        ),
        sa.Column("calls", sa.Integer(), nullable=False, comment="Requests made that day."),
        sa.Column(
            "failures",
            sa.Integer(),
            nullable=False,
            comment="Requests that failed that day (timeout, error, bad answer).",
        ),
        sa.PrimaryKeyConstraint("day", name=op.f("pk_llm_usage")),
        comment="LLM requests and tokens per UTC day: the daily token budget.",
    )


def downgrade() -> None:
    op.drop_table("llm_usage")
    op.drop_table("llm_translations")
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.drop_column("delivery_mode")
        batch_op.drop_column("priority")
    with op.batch_alter_table("subscriptions", schema=None) as batch_op:
        batch_op.drop_column("digest_priorities")
        batch_op.drop_column("instant_priorities")
    with op.batch_alter_table("feeds", schema=None) as batch_op:
        batch_op.drop_column("backfill_pending")
