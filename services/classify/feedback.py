"""Reader feedback: labels on stored articles, the training data of the learned layer."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from db.models import Article, Label
from services.classify.training import Example


class UnknownArticle(LookupError):
    """No article (or story) with that id."""


def record_label(session: Session, article_id: int, relevant: bool) -> Label:
    """Store a reader's verdict on an article (the newest label of an article wins)."""
    if session.get(Article, article_id) is None:
        raise UnknownArticle(f"no article with id {article_id}")
    label = Label(article_id=article_id, relevant=relevant)
    session.add(label)
    session.flush()
    return label


def record_story_label(session: Session, story_id: int, relevant: bool) -> list[Label]:
    """Store a reader's verdict on every article of a story (as `cnai alerts show` names it)."""
    article_ids = (
        session.execute(select(Article.id).where(Article.story_id == story_id).order_by(Article.id)).scalars().all()
    )
    if not article_ids:
        raise UnknownArticle(f"no story with id {story_id}")
    return [record_label(session, article_id, relevant) for article_id in article_ids]


def labelled_examples(session: Session) -> list[Example]:
    """One training example per labelled article, from its most recent label."""
    rows = session.execute(
        select(Label.article_id, Label.relevant, Article.title, Article.summary, Article.language, Article.url)
        .join(Article, Article.id == Label.article_id)
        .order_by(Label.article_id, Label.created_at, Label.id)
    ).all()
    latest: dict[int, Example] = {}
    for article_id, relevant, title, summary, language, url in rows:
        latest[article_id] = Example(
            title=title or "", summary=summary or "", relevant=bool(relevant), lang=language, link=url
        )
    return list(latest.values())
