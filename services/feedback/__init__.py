"""Readers' answers to alerts, from every place an alert is read, and what they change.

An answer (``Feedback``) names who gave it, where (web, Slack, email, CLI), the article and
story, and the verdict. "relevant" / "not relevant" also become labels for the learned layer
(``labels``); "mute source" / "mute entity" stop the subscriptions that alerted the story from
alerting on that source or entity again, from the next article on (``mutes``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from db.models import Alert, Article, Feed, Feedback, Label, Mute, Story, Subscription

log = logging.getLogger(__name__)


class Verdict(StrEnum):
    RELEVANT = "relevant"
    NOT_RELEVANT = "not_relevant"
    MUTE_SOURCE = "mute_source"
    MUTE_ENTITY = "mute_entity"

    @property
    def phrase(self) -> str:
        return {
            Verdict.RELEVANT: "Marked relevant",
            Verdict.NOT_RELEVANT: "Marked not relevant",
            Verdict.MUTE_SOURCE: "Source muted",
            Verdict.MUTE_ENTITY: "Entity muted",
        }[self]


class FeedbackSource(StrEnum):
    WEB = "web"
    SLACK = "slack"
    EMAIL = "email"
    CLI = "cli"


class MuteKind(StrEnum):
    SOURCE = "source"
    ENTITY = "entity"


class FeedbackError(ValueError):
    """The answer cannot be recorded (unknown alert or story, nothing to mute); the message says why."""


@dataclass(frozen=True)
class Target:
    article_id: int
    story_id: int | None
    subscription_ids: list[int]


def target_of_alert(session: Session, alert_id: int) -> Target:
    alert = session.get(Alert, alert_id)
    if alert is None:
        raise FeedbackError(f"no alert with id {alert_id}")
    return Target(alert.article_id, alert.story_id, [alert.subscription_id])


def target_of_story(session: Session, story_id: int) -> Target:
    """The story's alerted article (else its first article) and every subscription that alerted it."""
    if session.get(Story, story_id) is None:
        raise FeedbackError(f"no story with id {story_id}")
    alerts = list(session.execute(select(Alert).where(Alert.story_id == story_id).order_by(Alert.id)).scalars())
    if alerts:
        return Target(alerts[0].article_id, story_id, sorted({a.subscription_id for a in alerts}))
    article_id = session.execute(
        select(Article.id).where(Article.story_id == story_id).order_by(Article.published_at, Article.id).limit(1)
    ).scalar_one_or_none()
    if article_id is None:
        raise FeedbackError(f"story {story_id} has no article")
    return Target(article_id, story_id, [])


def target_of_article(session: Session, article_id: int) -> Target:
    article = session.get(Article, article_id)
    if article is None:
        raise FeedbackError(f"no article with id {article_id}")
    subscriptions = (
        sorted(set(session.execute(select(Alert.subscription_id).where(Alert.story_id == article.story_id)).scalars()))
        if article.story_id is not None
        else []
    )
    return Target(article.id, article.story_id, subscriptions)


def record_feedback(
    session: Session,
    who: str,
    verdict: Verdict | str,
    source: FeedbackSource | str,
    target: Target,
    *,
    entity: str | None = None,
    request_key: str | None = None,
    now: datetime | None = None,
) -> Feedback | None:
    """Store the answer and apply it (label or mute). None when ``request_key`` was seen before (a replay)."""
    verdict, source = Verdict(verdict), FeedbackSource(source)
    if (
        request_key is not None
        and session.execute(select(Feedback.id).where(Feedback.request_key == request_key)).first() is not None
    ):
        return None
    article = session.get(Article, target.article_id)
    if article is None:
        raise FeedbackError(f"no article with id {target.article_id}")
    subject: str | None = None
    if verdict is Verdict.MUTE_SOURCE:
        feed = session.get(Feed, article.feed_id) if article.feed_id is not None else None
        if feed is None:
            raise FeedbackError(f"article {article.id} has no source feed to mute")
        subject = feed.url
    elif verdict is Verdict.MUTE_ENTITY:
        if not entity or not entity.strip():
            raise FeedbackError("mute entity: name the entity")
        subject = entity.strip()[:200]
    row = Feedback(
        who=who[:200],
        article_id=article.id,
        story_id=target.story_id or article.story_id,
        verdict=verdict.value,
        source=source.value,
        subject=subject,
        request_key=request_key,
    )
    if now is not None:
        row.created_at = now
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError:  # the same request recorded concurrently
        return None
    if verdict in (Verdict.RELEVANT, Verdict.NOT_RELEVANT):
        label = Label(article_id=article.id, relevant=verdict is Verdict.RELEVANT)
        if now is not None:
            label.created_at = now
        session.add(label)
    elif subject is not None:
        kind = MuteKind.SOURCE if verdict is Verdict.MUTE_SOURCE else MuteKind.ENTITY
        subscriptions = target.subscription_ids or list(session.execute(select(Subscription.id)).scalars())
        for subscription_id in subscriptions:
            add_mute(session, subscription_id, kind, subject, who)
    session.flush()
    log.info("feedback %s from %s on article %s", verdict.value, source.value, article.id)
    return row


def add_mute(session: Session, subscription_id: int, kind: MuteKind, value: str, who: str | None = None) -> bool:
    """Mute ``value`` for the subscription; False when it already was."""
    exists = session.execute(
        select(Mute.id).where(Mute.subscription_id == subscription_id, Mute.kind == kind.value, Mute.value == value)
    ).first()
    if exists is not None:
        return False
    session.add(Mute(subscription_id=subscription_id, kind=kind.value, value=value, created_by=who))
    session.flush()
    return True


def remove_mute(session: Session, subscription: str, kind: MuteKind | str, value: str) -> bool:
    """Unmute ``value`` for the subscription named ``subscription``; False when it was not muted."""
    row = session.execute(
        select(Mute)
        .join(Subscription, Subscription.id == Mute.subscription_id)
        .where(Subscription.name == subscription, Mute.kind == MuteKind(kind).value, Mute.value == value)
    ).scalar_one_or_none()
    if row is None:
        return False
    session.delete(row)
    session.flush()
    return True


def muted(session: Session, subscription_id: int, feed_url: str | None, entities: list[str]) -> bool:
    """Whether the subscription muted this article's source feed or one of its entities."""
    rows = session.execute(select(Mute.kind, Mute.value).where(Mute.subscription_id == subscription_id)).all()
    if not rows:
        return False
    wanted = {e.casefold() for e in entities}
    for kind, value in rows:
        if kind == MuteKind.SOURCE and feed_url and value == feed_url:
            return True
        if kind == MuteKind.ENTITY and value.casefold() in wanted:
            return True
    return False


def list_mutes(session: Session) -> list[dict[str, object]]:
    rows = session.execute(
        select(Mute, Subscription.name)
        .join(Subscription, Subscription.id == Mute.subscription_id)
        .order_by(Mute.created_at, Mute.id)
    ).all()
    return [
        {"subscription": name, "kind": m.kind, "value": m.value, "by": m.created_by, "at": m.created_at}
        for m, name in rows
    ]


def list_feedback(session: Session, limit: int = 200) -> list[dict[str, object]]:
    """Newest first: who, which article and story, verdict, where from, when."""
    rows = session.execute(
        select(Feedback, Article.title)
        .outerjoin(Article, Article.id == Feedback.article_id)
        .order_by(Feedback.created_at.desc(), Feedback.id.desc())
        .limit(limit)
    ).all()
    return [
        {
            "id": f.id,
            "who": f.who,
            "article_id": f.article_id,
            "story_id": f.story_id,
            "title": title,
            "verdict": f.verdict,
            "source": f.source,
            "subject": f.subject,
            "created_at": f.created_at,
        }
        for f, title in rows
    ]
