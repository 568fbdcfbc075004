"""Store classifier verdicts: the one writer of ``classifications`` rows, for polls and for reclassification."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import insert
from sqlalchemy.orm import Session

from db.models import Classification
from services.classify.scorer import Verdict

_INSERT = insert(Classification.__table__)


def verdict_row(article_id: int, verdict: Verdict, version: str, now: datetime) -> dict[str, Any]:
    return {
        "article_id": article_id,
        "classifier_version": version,
        "relevant": verdict.relevant,
        "score": verdict.score,
        "topics": list(verdict.topics),
        "entities": list(verdict.entities),
        "reasons": list(verdict.reasons),
        "priority": verdict.priority,
        "reader_reasons": list(verdict.reader_reasons),
        "created_at": now,
    }


def record_verdicts(
    session: Session, article_ids: Sequence[int], verdicts: Sequence[Verdict], version: str, now: datetime
) -> None:
    """Insert one classification per (article, verdict) pair in one statement. The caller commits."""
    if len(article_ids) != len(verdicts):
        raise ValueError(f"{len(article_ids)} articles but {len(verdicts)} verdicts")
    rows = [verdict_row(article_id, verdict, version, now) for article_id, verdict in zip(article_ids, verdicts)]
    if rows:
        session.execute(_INSERT, rows)
