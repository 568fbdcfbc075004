"""What an alert says: the article, its priority, score and reasons, an English line for Chinese items,
the story's coverage and other outlets, and the time zone its times are shown in.

Every channel renders the same ``AlertContent`` (Slack in ``slack.py``, email and console from the templates in
``config/templates``), so what a reader sees is decided here once:

- ``priority``: ``high`` (see now), ``normal`` (read today), ``low`` (digest); None when unknown.
- ``reader_reasons``: at most three short English sentences, decisive evidence first (``why``); the full
  evidence list (``reasons``) stays for ``cnai alerts show`` and the database.
- ``english``: for Chinese items, the LLM's translated title and one-sentence summary when configured and
  available, else the offline gloss from the catalogue.
- ``timezone``: the subscription's IANA zone; every time is shown in it, with the zone named (UTC when unset).
- ``coverage``: how widely the story is reported (filled from the story's coverage fields when known).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select
from sqlalchemy.orm import Session

from db.enums import DeliveryMode
from db.models import Alert, Article, Classification, Feed, FeedEntry, Subscription
from services.classify.priority import Priority
from services.ingest.stories import story_coverage

_UNSAFE_IN_URL = re.compile(r'[\x00-\x20\x7f<>"|`{}\\^]')

__all__ = ["DeliveryMode"]  # re-exported for the alerts package

PRIORITIES: tuple[str, ...] = tuple(p.value for p in Priority)
PRIORITY_LABELS: dict[str, str] = {
    Priority.HIGH: "High priority",
    Priority.NORMAL: "Normal priority",
    Priority.LOW: "Low priority",
}

MAX_READER_REASONS = 3


def priority_rank(priority: str | None) -> int:
    """high 0, normal 1 (also unknown), low 2: for sorting, most urgent first."""
    ranks: dict[str, int] = {Priority.HIGH: 0, Priority.LOW: 2}
    return ranks.get(priority or Priority.NORMAL, 1)


def local_time(moment: datetime, zone_name: str | None = None) -> str:
    """``2026-12-08 04:15 Asia/Shanghai (UTC+08:00)``; ``2026-12-07 20:15 UTC`` when no zone (or UTC) is set."""
    name = zone_name or "UTC"
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    try:
        tz = ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        name, tz = "UTC", ZoneInfo("UTC")
    local = moment.astimezone(tz)
    if name in {"UTC", "Etc/UTC"}:
        return f"{local:%Y-%m-%d %H:%M} UTC"
    offset = local.strftime("%z")
    return f"{local:%Y-%m-%d %H:%M} {name} (UTC{offset[:3]}:{offset[3:]})"


_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")


def is_chinese(language: str | None, title: str | None = None) -> bool:
    """A Chinese item needing an English line: language zh*, and (when given) a title with Chinese characters in it
    (an English title in a Chinese feed needs none)."""
    if not (language or "").lower().startswith("zh"):
        return False
    return title is None or len(_CJK.findall(title)) >= 2


@dataclass
class EnglishLine:
    """English for a Chinese item: a translated title (``llm``) or the catalogue's gloss (``gloss``)."""

    text: str
    summary: str | None = None
    """One English sentence summing up the article (LLM only)."""
    source: str = "gloss"
    """``gloss`` (offline, from the catalogue) or ``llm`` (machine translation)."""

    @property
    def label(self) -> str:
        return "English (machine translation)" if self.source == "llm" else "English gloss"


@dataclass
class Coverage:
    """How widely the story is reported: filled from the story's coverage (outlet count, first outlet and time)."""

    outlet_count: int
    first_outlet: str | None = None
    first_seen_at: datetime | None = None

    def line(self, zone_name: str | None) -> str | None:
        """``reported by 4 outlets (first: Caixin, 2026-12-08 09:12 Asia/Shanghai (UTC+08:00))``; None for one outlet."""
        if self.outlet_count < 2:
            return None
        first = []
        if self.first_outlet:
            first.append(f"first: {self.first_outlet}")
        if self.first_seen_at is not None:
            first.append(local_time(self.first_seen_at, zone_name))
        return f"reported by {self.outlet_count} outlets" + (f" ({', '.join(first)})" if first else "")


@dataclass
class Outlet:
    name: str
    url: str | None


@dataclass
class AlertContent:
    alert_id: int
    title: str
    url: str | None
    source: str
    published_at: datetime
    language: str | None
    score: float
    topics: list[str]
    entities: list[str]
    reasons: list[str]
    summary: str
    other_outlets: list[Outlet] = field(default_factory=list)
    priority: str | None = None
    reader_reasons: list[str] = field(default_factory=list)
    english: EnglishLine | None = None
    timezone: str = "UTC"
    coverage: Coverage | None = None
    """Filled by ``story_coverage`` when the story's coverage is known (stories engineer); shown under the title."""

    def __post_init__(self) -> None:
        self.url = safe_link(self.url)
        self.other_outlets = [Outlet(o.name, safe_link(o.url)) for o in self.other_outlets]
        if self.priority not in PRIORITIES:
            self.priority = None

    @property
    def why(self) -> list[str]:
        """At most three reader sentences; the first three evidence lines when the classifier gave none."""
        return list((self.reader_reasons or self.reasons)[:MAX_READER_REASONS])

    @property
    def priority_label(self) -> str:
        return PRIORITY_LABELS.get(self.priority or "", "Priority not set")

    @property
    def when(self) -> str:
        """Publication time in the subscription's zone, the zone named."""
        return local_time(self.published_at, self.timezone)

    @property
    def summary_chars(self) -> int:
        """How much of the summary to show: a Chinese summary beside its English line is kept short (the English
        line is what most readers triage by), other summaries get 600 characters."""
        return 200 if self.english is not None else 600

    @property
    def coverage_line(self) -> str | None:
        return self.coverage.line(self.timezone) if self.coverage else None


@dataclass
class Digest:
    """Several alerts in one message: a scheduled digest, or a burst folded so a channel is not flooded."""

    heading: str
    note: str
    items: list[AlertContent]
    timezone: str = "UTC"
    """Zone of the digest's times (the subscription's); each item also carries its own."""

    def by_topic(self) -> list[tuple[str, list[AlertContent]]]:
        """Items grouped under their first topic, most urgent then best score first; largest group first, "Other" last."""
        groups: dict[str, list[AlertContent]] = {}
        for item in sorted(self.items, key=lambda i: (priority_rank(i.priority), -i.score)):
            groups.setdefault(topic_label(item.topics[0]) if item.topics else "Other", []).append(item)
        return sorted(groups.items(), key=lambda g: (g[0] == "Other", -len(g[1])))


Message = AlertContent | Digest


def topic_label(topic: str) -> str:
    """``chips_and_export_controls`` -> ``Chips and export controls``."""
    text = topic.replace("_", " ").strip()
    return text[:1].upper() + text[1:]


def safe_link(url: str | None) -> str | None:
    """Only http(s) links with a host reach a message; spaces, quotes and mrkdwn/HTML delimiters are percent-encoded."""
    if not url:
        return None
    url = _UNSAFE_IN_URL.sub(lambda m: f"%{ord(m.group()):02X}", url.strip())
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    return url if parts.scheme.lower() in {"http", "https"} and parts.hostname else None


def feed_name(feed: Feed | None) -> str:
    if feed is None:
        return "unknown source"
    return feed.title or urlsplit(feed.url).hostname or feed.url


def english_line(article: Article, verdict: Any) -> EnglishLine | None:
    """The offline English gloss of a Chinese article (the LLM translation replaces it at send time when available)."""
    if not is_chinese(article.language, article.title) or verdict is None:
        return None
    try:
        from services.classify.gloss import english_gloss
    except ImportError:  # the catalogue gloss is not installed: no English line rather than no alert
        return None

    class _Facts:  # the priority is shown on its own in every channel, so the gloss need not repeat it
        relevant = bool(verdict.relevant)
        topics = list(verdict.topics or [])
        entities = list(verdict.entities or [])
        priority = None

    try:
        text = english_gloss(article.title, article.summary or "", article.language, _Facts())
    except Exception:  # a gloss bug must never stop an alert
        import logging

        logging.getLogger(__name__).exception("english gloss failed for article %s", article.id)
        return None
    return EnglishLine(text=text, source="gloss") if text else None


def subscription_zone(session: Session, subscription_id: int | None) -> str:
    subscription = session.get(Subscription, subscription_id) if subscription_id is not None else None
    return (subscription.timezone if subscription is not None else None) or "UTC"


def _coverage(session: Session, story_id: int | None) -> Coverage | None:
    story = story_coverage(session, story_id) if story_id is not None else None
    return Coverage(story.outlet_count, story.first_outlet, story.first_published_at) if story else None


def alert_content(session: Session, alert: Alert, zone_name: str | None = None) -> AlertContent:
    """What ``alert`` says, its times in ``zone_name`` (default: its subscription's zone)."""
    article = session.get(Article, alert.article_id)
    assert article is not None
    verdict = (
        session.execute(
            select(Classification).where(Classification.article_id == article.id).order_by(Classification.id.desc())
        )
        .scalars()
        .first()
    )
    priority = alert.priority or (getattr(verdict, "priority", None) if verdict else None)
    outlets: list[Outlet] = []
    if article.story_id is not None:
        rows = session.execute(
            select(Article, Feed)
            .join(FeedEntry, FeedEntry.article_id == Article.id)
            .join(Feed, Feed.id == FeedEntry.feed_id)
            .where(Article.story_id == article.story_id)
            .order_by(FeedEntry.first_seen_at)
        ).all()
        seen = {feed_name(article.feed)}
        for other, feed in rows:
            name = feed_name(feed)
            if name not in seen:
                seen.add(name)
                outlets.append(Outlet(name, safe_link(other.url)))
    return AlertContent(
        alert_id=alert.id,
        title=article.title,
        url=safe_link(article.url),
        source=feed_name(article.feed),
        published_at=article.published_at,
        language=article.language,
        score=verdict.score if verdict else 0.0,
        topics=list(verdict.topics) if verdict else [],
        entities=list(verdict.entities) if verdict else [],
        reasons=list(verdict.reasons) if verdict else [],
        summary=article.summary,
        other_outlets=outlets,
        priority=priority,
        reader_reasons=list(getattr(verdict, "reader_reasons", None) or []) if verdict else [],
        english=english_line(article, verdict),
        timezone=zone_name or subscription_zone(session, alert.subscription_id),
        coverage=_coverage(session, article.story_id),
    )
