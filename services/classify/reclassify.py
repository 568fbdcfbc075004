"""Re-score stored articles with the current classifier version."""

from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import and_, select
from sqlalchemy.orm import Session

from db.models import Article, Classification
from services.classify.article import ArticleText
from services.classify.records import record_verdicts

BATCH_SIZE = 500


def reclassify_articles(session: Session, since: datetime, batch_size: int = BATCH_SIZE) -> int:
    """Add a classification by the current classifier version to every article published
    since ``since`` that has none yet; returns how many were added. The caller commits."""
    from services.classify import classifier_version, score_articles

    if since.tzinfo is None:
        raise ValueError("since must be timezone-aware")
    version = classifier_version()
    already = select(Classification.id).where(
        and_(Classification.article_id == Article.id, Classification.classifier_version == version)
    )
    query = (
        select(Article.id, Article.title, Article.summary, Article.language, Article.url)
        .where(Article.published_at >= since, ~already.exists())
        .order_by(Article.id)
    )
    added = 0
    last_id = 0
    while True:
        rows = session.execute(query.where(Article.id > last_id).limit(batch_size)).all()
        if not rows:
            return added
        verdicts = score_articles([ArticleText(r.title or "", r.summary or "", r.url, r.language) for r in rows])
        record_verdicts(session, [row.id for row in rows], verdicts, version, datetime.now(timezone.utc))
        added += len(rows)
        last_id = rows[-1].id
