"""classification priority and reader reasons; admin views show them

``classifications.priority`` (high / normal / low; NULL when the article is not relevant,
and for verdicts made before priorities existed) and ``classifications.reader_reasons``
(at most three short English sentences for readers, JSON array; NULL for older verdicts).

On PostgreSQL the admin views of 0003 that show a verdict are recreated with both columns
(``latest_classifications``, ``article_verdicts``, ``relevant_articles``; and
``article_topics`` gains ``priority``, so topic counts can be split by it). Views that
read them (``article_entities``, ``daily_topic_counts``) are dropped and recreated
unchanged. Downgrade restores the 0003 views.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07
"""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON_TYPE = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
PRIORITY_COMMENT = "Triage: high (see now), normal (read today) or low (digest); NULL when not relevant."
READER_REASONS_COMMENT = (
    "At most three short English sentences for readers, decisive evidence first (JSON array); "
    "NULL for verdicts made before priorities."
)
# Views of 0003 replaced here, in creation order (dependents after what they read).
CHANGED = (
    "latest_classifications",
    "article_verdicts",
    "relevant_articles",
    "article_topics",
    "article_entities",
    "daily_topic_counts",
)


def _views_0003() -> ModuleType:
    path = Path(__file__).with_name("0003_admin_views.py")
    spec = importlib.util.spec_from_file_location("cnai_migration_0003", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _with_priority(m: ModuleType) -> list:
    """The 0003 views that show a verdict, with priority and reader_reasons added."""
    View = m.View
    old = {view.name: view for view in m.VIEWS}
    lc = old["latest_classifications"]
    lc_cols = dict(lc.columns)
    classified_at = lc_cols.pop("classified_at")
    lc_cols.update(
        {"priority": PRIORITY_COMMENT, "reader_reasons": READER_REASONS_COMMENT, "classified_at": classified_at}
    )
    latest = View(
        lc.name,
        lc.comment,
        lc_cols,
        lc.sql.replace(
            "c.topics, c.entities, c.reasons, c.created_at AS classified_at",
            "c.topics, c.entities, c.reasons, c.priority, c.reader_reasons, c.created_at AS classified_at",
        ),
    )

    av = old["article_verdicts"]
    av_cols = {}
    for name, comment in av.columns.items():
        av_cols[name] = comment
        if name == "score":
            av_cols["priority"] = "Current triage: high, normal or low; NULL when not relevant."
        if name == "reasons":
            av_cols["reader_reasons"] = "Reasons for readers: at most three short English sentences (JSONB array)."
    verdicts = View(
        av.name,
        av.comment.replace("(score, topics", "(score, priority, topics"),
        av_cols,
        av.sql.replace(
            "lc.relevant, lc.score, lc.topics, lc.entities, lc.reasons,",
            "lc.relevant, lc.score, lc.priority, lc.topics, lc.entities, lc.reasons, lc.reader_reasons,",
        ),
    )

    ra = old["relevant_articles"]
    ra_cols = {}
    for name, comment in ra.columns.items():
        ra_cols[name] = comment
        if name == "score":
            ra_cols["priority"] = "Triage: high (see now), normal (read today) or low (digest)."
        if name == "reasons":
            ra_cols["reader_reasons"] = "Reasons for readers: at most three short English sentences (JSONB array)."
    relevant = View(
        ra.name,
        ra.comment.replace("with score,", "with score, priority,"),
        ra_cols,
        ra.sql.replace(
            "story_id, story_title, story_article_count, score, topics, entities, reasons,",
            "story_id, story_title, story_article_count, score, priority, topics, entities, reasons, reader_reasons,",
        ),
    )

    at = old["article_topics"]
    at_cols = {}
    for name, comment in at.columns.items():
        at_cols[name] = comment
        if name == "score":
            at_cols["priority"] = "Current triage: high, normal or low; NULL when not relevant."
    topics = View(
        at.name,
        at.comment,
        at_cols,
        at.sql.replace(
            "SELECT v.article_id, t.topic, v.relevant, v.score,",
            "SELECT v.article_id, t.topic, v.relevant, v.score, v.priority,",
        ),
    )

    new = {view.name: view for view in (latest, verdicts, relevant, topics)}
    for view in new.values():
        if view == old[view.name]:
            raise RuntimeError(f"view {view.name}: 0003 text changed, priority not added")
    return [new.get(name, old[name]) for name in CHANGED]


def _create(m: ModuleType, views: list) -> None:
    for view in views:
        op.execute(f"CREATE VIEW {view.name} AS {view.sql}")
        m._check_documented(view)
        op.execute(f"COMMENT ON VIEW {view.name} IS {m._quote(view.comment)}")
        for column, comment in view.columns.items():
            op.execute(f"COMMENT ON COLUMN {view.name}.{column} IS {m._quote(comment)}")


def _drop() -> None:
    for name in reversed(CHANGED):
        op.execute(f"DROP VIEW IF EXISTS {name}")


def upgrade() -> None:
    with op.batch_alter_table("classifications", schema=None) as batch_op:
        batch_op.add_column(sa.Column("priority", sa.String(length=8), nullable=True, comment=PRIORITY_COMMENT))
        batch_op.add_column(sa.Column("reader_reasons", JSON_TYPE, nullable=True, comment=READER_REASONS_COMMENT))
    if op.get_bind().dialect.name != "postgresql":
        return
    m = _views_0003()
    _drop()
    _create(m, _with_priority(m))


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        m = _views_0003()
        _drop()
        _create(m, [view for view in m.VIEWS if view.name in CHANGED])
    with op.batch_alter_table("classifications", schema=None) as batch_op:
        batch_op.drop_column("reader_reasons")
        batch_op.drop_column("priority")
