"""Stories for readers: the filtered, searchable, paged list and one story in full.

The list is newest first (by the story's first article). Filters apply to the articles of a
story and their classifications: a story matches when one of its articles does. Search finds
English words and Chinese runs in titles and summaries: on PostgreSQL through
``search_articles()`` (full text + Han bigram index, migration 0004); on SQLite every term must
appear as a substring (LIKE; case-insensitive for Latin letters).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Text,
    cast,
    exists,
    func,
    literal,
    or_,
    select,
    text,
    type_coerce,
)
from sqlalchemy.orm import Session
from sqlalchemy.sql import Select

from db.models import (
    Alert,
    Article,
    Classification,
    Delivery,
    Feed,
    Feedback,
    Story,
    Subscription,
)

MAX_SEARCH_ROWS = 5000
MAX_QUERY_LENGTH = 200
LANGUAGES = ("en", "zh", "zh-Hans", "zh-Hant")
_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")


class Show:
    ALERTED = "alerted"
    RELEVANT = "relevant"
    ALL = "all"


@dataclass
class StoryFilters:
    show: str = Show.ALERTED
    priority: str | None = None
    topic: str | None = None
    entity: str | None = None
    language: str | None = None
    feed_id: int | None = None
    since: datetime | None = None
    until: datetime | None = None
    q: str | None = None


@dataclass
class StorySummary:
    id: int
    title: str
    first_seen_at: datetime
    last_seen_at: datetime
    article_count: int
    url: str | None = None
    score: float | None = None
    priority: str | None = None
    topics: list[str] = field(default_factory=list)
    entities: list[str] = field(default_factory=list)
    languages: list[str] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)
    alerted: bool = False


@dataclass
class StoryPage:
    items: list[StorySummary]
    page: int
    per_page: int
    has_next: bool


def _json_member(column: Any, value: str, dialect: str) -> ColumnElement[bool]:
    """``value`` is an element of the JSON list ``column`` (GIN-indexed containment on PostgreSQL)."""
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import JSONB

        return type_coerce(column, JSONB).contains([value])
    return cast(column, Text).like("%" + json.dumps(value).replace("%", "\\%").replace("_", "\\_") + "%", escape="\\")


def _search_condition(q: str, dialect: str) -> ColumnElement[bool]:
    q = q[:MAX_QUERY_LENGTH]
    if dialect == "postgresql":
        hits = select(text("story_id")).select_from(func.search_articles(q, MAX_SEARCH_ROWS).table_valued("story_id"))
        return Story.id.in_(hits)
    terms = [t for t in re.split(r"\s+", _HAN.sub(lambda m: f" {m.group(0)} ", q)) if t.strip('"')]
    body = func.coalesce(Article.title, "") + literal("\n") + func.coalesce(Article.summary, "")
    conditions = [
        body.like("%" + t.strip('"').replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%", escape="\\")
        for t in terms
    ]
    return exists(select(Article.id).where(Article.story_id == Story.id, *conditions))


def _article_conditions(filters: StoryFilters, dialect: str) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if filters.language:
        conditions.append(or_(Article.language == filters.language, Article.language.like(filters.language + "-%")))
    if filters.feed_id is not None:
        conditions.append(Article.feed_id == filters.feed_id)
    return conditions


def _classification_conditions(filters: StoryFilters, dialect: str) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if filters.topic:
        conditions.append(_json_member(Classification.topics, filters.topic, dialect))
    if filters.entity:
        conditions.append(_json_member(Classification.entities, filters.entity, dialect))
    priority = getattr(Classification, "priority", None)
    if filters.priority and priority is not None:
        conditions.append(priority == filters.priority)
    if filters.show == Show.RELEVANT or conditions:
        conditions.append(Classification.relevant.is_(True))
    return conditions


def story_query(filters: StoryFilters, dialect: str) -> Select[int, datetime]:
    """SELECT of the matching story ids, newest first."""
    query = select(Story.id, Story.first_seen_at)
    if filters.show == Show.ALERTED:
        query = query.where(exists(select(Alert.id).where(Alert.story_id == Story.id)))
    article_conditions = _article_conditions(filters, dialect)
    classification_conditions = _classification_conditions(filters, dialect)
    selective = filters.feed_id is not None or bool(filters.entity) or bool(filters.topic and filters.language)
    if selective and dialect == "postgresql":
        # A source, an entity, or a topic in one language matches few stories: collect them first
        # through the feed_id and GIN indexes (a MATERIALIZED CTE) rather than walk every story newest
        # first looking for them. (A topic alone matches a tenth of the stories: the walk finds a page
        # sooner; measured with bench/web_stories.py.)
        matching = select(Article.story_id).where(*article_conditions)
        if classification_conditions:
            matching = matching.join(Classification, Classification.article_id == Article.id).where(
                *classification_conditions
            )
        found = matching.cte("matching").prefix_with("MATERIALIZED")
        query = query.where(Story.id.in_(select(found.c.story_id)))
    elif classification_conditions:
        query = query.where(
            exists(
                select(Article.id)
                .join(Classification, Classification.article_id == Article.id)
                .where(Article.story_id == Story.id, *article_conditions, *classification_conditions)
            )
        )
    elif article_conditions:
        query = query.where(exists(select(Article.id).where(Article.story_id == Story.id, *article_conditions)))
    if filters.since is not None:
        query = query.where(Story.first_seen_at >= filters.since)
    if filters.until is not None:
        query = query.where(Story.first_seen_at < filters.until)
    if filters.q and filters.q.strip():
        query = query.where(_search_condition(filters.q.strip(), dialect))
    return query.order_by(Story.first_seen_at.desc(), Story.id.desc())


def list_stories(session: Session, filters: StoryFilters, page: int = 1, per_page: int = 25) -> StoryPage:
    page, per_page = max(1, page), max(1, min(per_page, 200))
    dialect = session.get_bind().dialect.name
    rows = session.execute(story_query(filters, dialect).limit(per_page + 1).offset((page - 1) * per_page)).all()
    ids = [r[0] for r in rows[:per_page]]
    return StoryPage(items=summarise(session, ids), page=page, per_page=per_page, has_next=len(rows) > per_page)


def summarise(session: Session, story_ids: list[int]) -> list[StorySummary]:
    """One summary per story id, in the given order: best verdict, languages, outlets, alerted or not."""
    if not story_ids:
        return []
    stories = {s.id: s for s in session.execute(select(Story).where(Story.id.in_(story_ids))).scalars()}
    summaries = {
        sid: StorySummary(
            id=sid,
            title=s.title,
            first_seen_at=s.first_seen_at,
            last_seen_at=s.last_seen_at,
            article_count=s.article_count,
        )
        for sid, s in stories.items()
    }
    rows = session.execute(
        select(Article.story_id, Article.url, Article.language, Feed.title, Feed.url, Classification)
        .outerjoin(Feed, Feed.id == Article.feed_id)
        .outerjoin(Classification, Classification.article_id == Article.id)
        .where(Article.story_id.in_(story_ids))
        .order_by(Article.published_at, Article.id, Classification.created_at)
    ).all()
    for story_id, url, language, feed_title, feed_url, verdict in rows:
        if story_id not in summaries:
            continue
        item = summaries[story_id]
        item.url = item.url or url
        if language and language not in item.languages:
            item.languages.append(language)
        source = feed_title or feed_url
        if source and source not in item.sources:
            item.sources.append(source)
        if verdict is not None and verdict.relevant and (item.score is None or verdict.score >= item.score):
            item.score = verdict.score
            item.topics, item.entities = list(verdict.topics), list(verdict.entities)
            item.priority = getattr(verdict, "priority", None)
    for alerted_id in session.execute(select(Alert.story_id).where(Alert.story_id.in_(story_ids)).distinct()).scalars():
        if alerted_id in summaries:
            summaries[alerted_id].alerted = True
    return [summaries[i] for i in story_ids if i in summaries]


@dataclass
class ArticleDetail:
    id: int
    title: str
    url: str | None
    source: str | None
    feed_url: str | None
    language: str | None
    published_at: datetime
    fetched_at: datetime
    summary: str
    classifications: list[dict[str, object]]


@dataclass
class StoryDetail:
    summary: StorySummary
    articles: list[ArticleDetail]
    alerts: list[dict[str, object]]
    feedback: list[dict[str, object]]


def story_detail(session: Session, story_id: int) -> StoryDetail | None:
    found = summarise(session, [story_id])
    if not found:
        return None
    articles: list[ArticleDetail] = []
    for article, feed in session.execute(
        select(Article, Feed)
        .outerjoin(Feed, Feed.id == Article.feed_id)
        .where(Article.story_id == story_id)
        .order_by(Article.published_at, Article.id)
    ):
        history = [
            {
                "version": c.classifier_version,
                "relevant": c.relevant,
                "score": c.score,
                "topics": c.topics,
                "entities": c.entities,
                "reasons": c.reasons,
                "priority": getattr(c, "priority", None),
                "reader_reasons": getattr(c, "reader_reasons", None) or [],
                "at": c.created_at,
            }
            for c in session.execute(
                select(Classification)
                .where(Classification.article_id == article.id)
                .order_by(Classification.created_at, Classification.id)
            ).scalars()
        ]
        articles.append(
            ArticleDetail(
                id=article.id,
                title=article.title,
                url=article.url,
                source=(feed.title or feed.url) if feed else None,
                feed_url=feed.url if feed else None,
                language=article.language,
                published_at=article.published_at,
                fetched_at=article.fetched_at,
                summary=article.summary or "",
                classifications=history,
            )
        )
    alerts = []
    for alert, subscription in session.execute(
        select(Alert, Subscription.name)
        .join(Subscription, Subscription.id == Alert.subscription_id)
        .where(Alert.story_id == story_id)
        .order_by(Alert.id)
    ):
        deliveries = session.execute(
            select(Delivery).where(Delivery.alert_id == alert.id).order_by(Delivery.id)
        ).scalars()
        alerts.append(
            {
                "id": alert.id,
                "subscription": subscription,
                "status": alert.status,
                "created_at": alert.created_at,
                "deliveries": [
                    {
                        "channel": d.channel.name,
                        "kind": d.channel.kind,
                        "status": d.status,
                        "sent_at": d.sent_at,
                        "attempts": d.attempts,
                    }
                    for d in deliveries
                ],
            }
        )
    feedback: list[dict[str, object]] = [
        {"who": f.who, "verdict": f.verdict, "source": f.source, "subject": f.subject, "at": f.created_at}
        for f in session.execute(
            select(Feedback).where(Feedback.story_id == story_id).order_by(Feedback.created_at)
        ).scalars()
    ]
    return StoryDetail(summary=found[0], articles=articles, alerts=alerts, feedback=feedback)


def feed_choices(session: Session) -> list[tuple[int, str]]:
    return [
        (fid, title or url)
        for fid, title, url in session.execute(
            select(Feed.id, Feed.title, Feed.url).order_by(func.lower(func.coalesce(Feed.title, Feed.url)))
        )
    ]
