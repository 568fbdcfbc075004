"""Reader feedback: labels on stored articles, the training data of the learned layer."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from db.models import Article, Label
from services.classify.training import Example


class UnknownArticle(LookupError):
    """No article with that id."""


def record_label(session: Session, article_id: int, relevant: bool) -> Label:
    """Store a reader's verdict on an article (the newest label of an article wins)."""
    if session.get(Article, article_id) is None:
        raise UnknownArticle(f"no article with id {article_id}")
    label = Label(article_id=article_id, relevant=relevant)
    session.add(label)
    session.flush()
    return label


def labelled_examples(session: Session) -> list[Example]:
    """One training example per labelled article, from its most recent label."""
    rows = session.execute(
        select(Label.article_id, Label.relevant, Article.title, Article.summary, Article.language, Article.url)
        .join(Article, Article.id == Label.article_id)
        .order_by(Label.article_id, Label.created_at, Label.id)
    ).all()
    latest: dict[int, Example] = {}
    for article_id, relevant, title, summary, language, url in rows:
        latest[article_id] = Example(title=title or "", summary=summary or "", relevant=bool(relevant), lang=language, link=url)
    return list(latest.values())
