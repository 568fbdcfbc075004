"""web app: users, API tokens, feedback, per-subscription mutes, stored classifier models

``users`` sign in to ``cnai web`` (argon2id hashes only; ``login_failures`` rate-limits logins for
every replica); ``api_tokens`` keep a SHA-256 of each
bearer token; ``feedback`` records every reader's answer to an alert (web, Slack, email, CLI),
``request_key`` making a replayed Slack request or email confirmation record nothing;
``mutes`` stop a subscription alerting on a source or an entity; ``classifier_models`` holds
every version of the learned layer, one of them active.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import db.types

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.Integer(), nullable=False, comment="Token id."),
        sa.Column("name", sa.String(length=100), nullable=False, comment="Operator's name for the token."),
        sa.Column("token_hash", sa.String(length=64), nullable=False, comment="SHA-256 (hex) of the token."),
        sa.Column(
            "created_at",
            db.types.UTCDateTime(timezone=True),
            nullable=False,
            comment="When the token was created (UTC).",
        ),
        sa.Column(
            "last_used_at",
            db.types.UTCDateTime(timezone=True),
            nullable=True,
            comment="When the token was last used (UTC).",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_tokens")),
        sa.UniqueConstraint("name", name=op.f("uq_api_tokens_name")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_api_tokens_token_hash")),
        comment="Bearer tokens for /api/... (cnai tokens create); only a SHA-256 of each token is stored.",
    )
    op.create_table(
        "classifier_models",
        sa.Column("id", sa.Integer(), nullable=False, comment="Model id."),
        sa.Column("version", sa.String(length=64), nullable=False, comment="ml-<digest> of the artefact."),
        sa.Column(
            "artefact", sa.LargeBinary(), nullable=False, comment="The pickled artefact (as written by cnai train)."
        ),
        sa.Column(
            "metrics",
            db.types.JSONList,
            nullable=False,
            comment="Evaluation figures (JSON object): precision, recall, examples, labels, of this model and the one it was compared with.",
        ),
        sa.Column("status", sa.String(length=16), nullable=False, comment="candidate, active, retired or rejected."),
        sa.Column("note", sa.Text(), nullable=True, comment="Why it was promoted or rejected."),
        sa.Column(
            "created_at",
            db.types.UTCDateTime(timezone=True),
            nullable=False,
            comment="When the model was trained (UTC).",
        ),
        sa.Column(
            "promoted_at", db.types.UTCDateTime(timezone=True), nullable=True, comment="When it became active (UTC)."
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_classifier_models")),
        sa.UniqueConstraint("version", name=op.f("uq_classifier_models_version")),
        comment="Versions of the learned layer, stored so every worker serves the same one; one is active.",
    )
    with op.batch_alter_table("classifier_models", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_classifier_models_status"), ["status"], unique=False)

    op.create_table(
        "login_failures",
        sa.Column("id", sa.Integer(), nullable=False, comment="Row id."),
        sa.Column("key", sa.String(length=200), nullable=False, comment="ip:<address> or user:<name, case-folded>."),
        sa.Column(
            "at",
            db.types.UTCDateTime(timezone=True),
            nullable=False,
            comment="When the attempt failed (UTC); rows older than the window are deleted.",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_login_failures")),
        comment="Recent failed web logins, per client address and per user name: the login rate limit, shared by every web replica.",
    )
    with op.batch_alter_table("login_failures", schema=None) as batch_op:
        batch_op.create_index("ix_login_failures_key_at", ["key", "at"], unique=False)
        batch_op.create_index(batch_op.f("ix_login_failures_at"), ["at"], unique=False)

    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), nullable=False, comment="User id."),
        sa.Column("username", sa.String(length=100), nullable=False, comment="Login name."),
        sa.Column("role", sa.String(length=16), nullable=False, comment="reader or admin."),
        sa.Column(
            "password_hash", sa.Text(), nullable=False, comment="argon2id hash of the password (never the password)."
        ),
        sa.Column(
            "created_at", db.types.UTCDateTime(timezone=True), nullable=False, comment="When the user was added (UTC)."
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("username", name=op.f("uq_users_username")),
        comment="People who may sign in to the web app (cnai users add).",
    )
    op.create_table(
        "mutes",
        sa.Column("id", sa.Integer(), nullable=False, comment="Mute id."),
        sa.Column("subscription_id", sa.Integer(), nullable=False, comment="Subscription muted."),
        sa.Column(
            "kind",
            sa.String(length=8),
            nullable=False,
            comment="source (a feed URL) or entity (a canonical entity name).",
        ),
        sa.Column("value", sa.Text(), nullable=False, comment="The feed URL or the entity name."),
        sa.Column("created_by", sa.Text(), nullable=True, comment="Who muted it."),
        sa.Column(
            "created_at", db.types.UTCDateTime(timezone=True), nullable=False, comment="When it was muted (UTC)."
        ),
        sa.ForeignKeyConstraint(
            ["subscription_id"],
            ["subscriptions.id"],
            name=op.f("fk_mutes_subscription_id_subscriptions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mutes")),
        sa.UniqueConstraint("subscription_id", "kind", "value", name=op.f("uq_mutes_subscription_id_kind_value")),
        comment="Sources or entities a subscription no longer alerts on (from readers' feedback).",
    )
    op.create_table(
        "feedback",
        sa.Column("id", sa.Integer(), nullable=False, comment="Feedback id."),
        sa.Column(
            "who", sa.Text(), nullable=False, comment="Who answered: a user name, @slack-name or an email address."
        ),
        sa.Column("article_id", sa.Integer(), nullable=True, comment="Article answered about."),
        sa.Column("story_id", sa.Integer(), nullable=True, comment="Story answered about."),
        sa.Column(
            "verdict",
            sa.String(length=16),
            nullable=False,
            comment="relevant, not_relevant, mute_source or mute_entity.",
        ),
        sa.Column(
            "source",
            sa.String(length=8),
            nullable=False,
            comment="Where the answer came from: web, slack, email or cli.",
        ),
        sa.Column("subject", sa.Text(), nullable=True, comment="What was muted (feed URL or entity name) for mutes."),
        sa.Column(
            "request_key",
            sa.String(length=64),
            nullable=True,
            comment="Digest of the request (Slack signature, email link) so a replay records nothing.",
        ),
        sa.Column(
            "created_at",
            db.types.UTCDateTime(timezone=True),
            nullable=False,
            comment="When the answer was given (UTC).",
        ),
        sa.ForeignKeyConstraint(
            ["article_id"], ["articles.id"], name=op.f("fk_feedback_article_id_articles"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["story_id"], ["stories.id"], name=op.f("fk_feedback_story_id_stories"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_feedback")),
        sa.UniqueConstraint("request_key", name=op.f("uq_feedback_request_key")),
        comment="Readers' answers to alerts (web, Slack, email, CLI): relevant, not relevant, mute source, mute entity.",
    )
    with op.batch_alter_table("feedback", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_feedback_article_id"), ["article_id"], unique=False)
        batch_op.create_index("ix_feedback_created_at", ["created_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_feedback_story_id"), ["story_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("feedback", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_feedback_story_id"))
        batch_op.drop_index("ix_feedback_created_at")
        batch_op.drop_index(batch_op.f("ix_feedback_article_id"))

    op.drop_table("feedback")
    op.drop_table("mutes")
    op.drop_table("users")
    with op.batch_alter_table("login_failures", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_login_failures_at"))
        batch_op.drop_index("ix_login_failures_key_at")
    op.drop_table("login_failures")
    with op.batch_alter_table("classifier_models", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_classifier_models_status"))

    op.drop_table("classifier_models")
    op.drop_table("api_tokens")
