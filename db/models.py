"""The data model. Every table is created by Alembic migrations, never by ``create_all``.

Reading guide: a *feed* yields *feed entries* (what we saw in that feed, once per feed);
each entry points at one *article* (the same article in two feeds is one row); articles
that tell the same story across outlets share a *story*; every article gets a
*classification* per classifier version; a relevant story matching a *subscription*
becomes one *alert*, delivered once to each of the subscription's *channels* (a
*delivery*). Every fetch is written to the *fetch log*.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, ClassVar

from sqlalchemy import (
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from db.enums import AlertStatus, DeliveryStatus, FullTextMode
from db.types import JSONList, UTCDateTime

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime()}
    # Every model here maps one Table (no joined or selectable mappings), so say so for Core statements.
    __table__: ClassVar[Table]


class Feed(Base):
    __tablename__ = "feeds"
    __table_args__ = {"comment": "RSS/Atom/JSON feeds the monitor polls, with their polling state and health."}

    id: Mapped[int] = mapped_column(primary_key=True, comment="Feed id (feed_id elsewhere).")
    url: Mapped[str] = mapped_column(Text, unique=True, comment="Feed URL as fetched (updated on permanent redirect).")
    title: Mapped[str | None] = mapped_column(Text, comment="Feed title, from the feed or the operator.")
    site_url: Mapped[str | None] = mapped_column(Text, comment="Home page of the site publishing the feed.")
    language: Mapped[str | None] = mapped_column(
        String(16), comment="Declared or configured language (en, zh-Hans, zh-Hant...)."
    )
    folder: Mapped[str | None] = mapped_column(
        Text, comment="OPML folder / category the operator filed the feed under."
    )
    note: Mapped[str | None] = mapped_column(Text, comment="Operator's one-line note on the source.")
    etag: Mapped[str | None] = mapped_column(Text, comment="ETag of the last 200 response, sent as If-None-Match.")
    last_modified: Mapped[str | None] = mapped_column(
        Text, comment="Last-Modified of the last 200 response, sent as If-Modified-Since."
    )
    poll_interval_s: Mapped[int] = mapped_column(
        Integer, default=900, comment="Current polling interval in seconds (adaptive)."
    )
    next_poll_at: Mapped[datetime] = mapped_column(
        default=utcnow, index=True, comment="When the feed is next due (UTC)."
    )
    lease_until: Mapped[datetime | None] = mapped_column(
        comment="A poll holds the feed until this time so no two workers poll it at once."
    )
    last_polled_at: Mapped[datetime | None] = mapped_column(comment="Start of the last fetch attempt (UTC).")
    last_success_at: Mapped[datetime | None] = mapped_column(comment="End of the last successful fetch (UTC).")
    consecutive_failures: Mapped[int] = mapped_column(
        Integer, default=0, comment="Failed fetches in a row; 0 after a success."
    )
    last_error: Mapped[str | None] = mapped_column(Text, comment="Reason of the last failed fetch.")
    disabled_at: Mapped[datetime | None] = mapped_column(comment="When the feed was disabled; NULL while active.")
    disabled_reason: Mapped[str | None] = mapped_column(
        Text, comment="Why the feed was disabled (410 Gone, too many failures, operator)."
    )
    entries_per_day: Mapped[float | None] = mapped_column(
        Float, comment="Observed publishing rate, drives the adaptive interval."
    )
    full_text: Mapped[str] = mapped_column(
        String(8),
        default=FullTextMode.AUTO,
        server_default=FullTextMode.AUTO.value,
        comment="When to fetch an article's page for its main text: auto (thin text, uncertain verdict), always or never.",
    )
    backfill_pending: Mapped[bool] = mapped_column(
        Boolean,
        default=True,
        comment="True until the feed's next successful poll, which is its first (new or re-enabled): items older "
        "than ALERT_BACKFILL_HOURS are then stored and classified without alerts.",
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow, comment="When the feed was added (UTC).")

    entries: Mapped[list[FeedEntry]] = relationship(back_populates="feed", passive_deletes=True)


class Story(Base):
    __tablename__ = "stories"
    __table_args__ = {
        "comment": "One news story: articles from several outlets telling the same thing are grouped here."
    }

    id: Mapped[int] = mapped_column(primary_key=True, comment="Story id (story_id elsewhere).")
    title: Mapped[str] = mapped_column(Text, comment="Title of the first article of the story.")
    simhash: Mapped[int | None] = mapped_column(BigInteger, comment="64-bit SimHash of the first article (signed).")
    first_seen_at: Mapped[datetime] = mapped_column(
        default=utcnow, index=True, comment="When the first article of the story arrived (UTC)."
    )
    last_seen_at: Mapped[datetime] = mapped_column(
        default=utcnow, comment="When the latest article joined the story (UTC)."
    )
    article_count: Mapped[int] = mapped_column(Integer, default=1, comment="Number of articles (outlets) in the story.")
    outlet_count: Mapped[int] = mapped_column(
        Integer,
        default=1,
        server_default="1",
        comment="Number of distinct feeds (outlets) whose articles are in the story.",
    )
    languages: Mapped[str | None] = mapped_column(
        String(64), comment='Languages of the story\'s articles, comma-separated and sorted ("en,zh").'
    )
    first_outlet: Mapped[str | None] = mapped_column(
        Text, comment="Outlet (feed title or host) of the story's earliest-published article."
    )
    first_published_at: Mapped[datetime | None] = mapped_column(
        comment="Publication time of the story's earliest article (UTC): when it was first reported."
    )

    articles: Mapped[list[Article]] = relationship(back_populates="story")


class Article(Base):
    __tablename__ = "articles"
    __table_args__ = (
        Index("ix_articles_published_at", "published_at"),
        {"comment": "One article, stored once however many feeds carry it."},
    )

    id: Mapped[int] = mapped_column(primary_key=True, comment="Article id (article_id elsewhere).")
    feed_id: Mapped[int | None] = mapped_column(
        ForeignKey("feeds.id", ondelete="SET NULL"), index=True, comment="Feed the article was first seen in."
    )
    story_id: Mapped[int | None] = mapped_column(
        ForeignKey("stories.id", ondelete="SET NULL"), index=True, comment="Story cluster the article belongs to."
    )
    guid: Mapped[str | None] = mapped_column(Text, comment="GUID / Atom id given by the first feed.")
    url: Mapped[str | None] = mapped_column(Text, comment="Link as published.")
    canonical_url: Mapped[str | None] = mapped_column(
        Text, unique=True, comment="Link normalised (lower-cased host, tracking parameters and fragment removed)."
    )
    fingerprint: Mapped[str] = mapped_column(
        String(64), unique=True, comment="SHA-256 of normalised title and summary."
    )
    simhash: Mapped[int | None] = mapped_column(
        BigInteger, comment="64-bit SimHash of title and summary (signed), for near-duplicate stories."
    )
    title: Mapped[str] = mapped_column(Text, comment="Title as plain text.")
    summary: Mapped[str] = mapped_column(Text, default="", comment="Summary as plain text.")
    summary_html: Mapped[str | None] = mapped_column(Text, comment="Summary HTML, sanitised.")
    author: Mapped[str | None] = mapped_column(Text, comment="Author as given by the feed.")
    language: Mapped[str | None] = mapped_column(
        String(16), index=True, comment="Detected language: en, zh-Hans, zh-Hant or other."
    )
    published_at: Mapped[datetime] = mapped_column(
        comment="Publication time (UTC); the fetch time when the feed gives none."
    )
    story_keys: Mapped[str | None] = mapped_column(
        Text, comment="Event keys for story grouping (JSON: catalogue names, subjects, versions, numbers, dates)."
    )
    story_features: Mapped[bytes | None] = mapped_column(
        LargeBinary,
        comment="Hashed words and Chinese bigrams of title and summary lead (uint32 array), compared to cluster stories.",
    )
    full_text: Mapped[str | None] = mapped_column(
        Text,
        comment="Main text extracted from the article's page when the feed text was thin; NULL when not fetched or extraction failed.",
    )
    fetched_at: Mapped[datetime] = mapped_column(default=utcnow, comment="When the article was first fetched (UTC).")

    feed: Mapped[Feed | None] = relationship()
    story: Mapped[Story | None] = relationship(back_populates="articles")
    classifications: Mapped[list[Classification]] = relationship(back_populates="article", passive_deletes=True)


class StoryBand(Base):
    __tablename__ = "story_bands"
    __table_args__ = (
        Index("ix_story_bands_seen_at", "seen_at"),
        {"comment": "LSH index of recent articles for story clustering: one row per MinHash band of each article."},
    )

    band: Mapped[int] = mapped_column(BigInteger, primary_key=True, comment="MinHash band value (signed 64-bit).")
    article_id: Mapped[int] = mapped_column(
        ForeignKey("articles.id", ondelete="CASCADE"), primary_key=True, index=True, comment="Article having this band."
    )
    seen_at: Mapped[datetime] = mapped_column(
        default=utcnow, comment="When the article arrived; rows older than the story window are pruned."
    )


class FeedEntry(Base):
    __tablename__ = "feed_entries"
    __table_args__ = (
        UniqueConstraint("feed_id", "entry_key"),
        Index("ix_feed_entries_feed_id_first_seen_at", "feed_id", "first_seen_at"),
        Index("ix_feed_entries_first_seen_at", "first_seen_at"),
        {
            "comment": "Each entry seen in each feed, once: makes re-polling idempotent and lists the outlets of an article."
        },
    )

    id: Mapped[int] = mapped_column(primary_key=True, comment="Feed entry id.")
    feed_id: Mapped[int] = mapped_column(
        ForeignKey("feeds.id", ondelete="CASCADE"), comment="Feed the entry came from."
    )
    entry_key: Mapped[str] = mapped_column(
        Text, comment="GUID, else canonical link, else fingerprint: identifies the entry within its feed."
    )
    article_id: Mapped[int] = mapped_column(
        ForeignKey("articles.id", ondelete="CASCADE"), index=True, comment="Article the entry resolved to."
    )
    first_seen_at: Mapped[datetime] = mapped_column(
        default=utcnow, comment="When the entry was first seen in this feed (UTC)."
    )

    feed: Mapped[Feed] = relationship(back_populates="entries")
    article: Mapped[Article] = relationship()


class Classification(Base):
    __tablename__ = "classifications"
    __table_args__ = (
        UniqueConstraint("article_id", "classifier_version"),
        {"comment": "Relevance verdict for an article by one classifier version, with its reasons."},
    )

    id: Mapped[int] = mapped_column(
        primary_key=True, comment="Classification id; the highest created_at per article is its current verdict."
    )
    article_id: Mapped[int] = mapped_column(
        ForeignKey("articles.id", ondelete="CASCADE"), comment="Article classified."
    )
    classifier_version: Mapped[str] = mapped_column(
        String(64), comment="Version of the classifier (lexicon and model) that produced the verdict."
    )
    relevant: Mapped[bool] = mapped_column(
        Boolean, index=True, comment="True when the article is on the China LLM / AI-policy beat."
    )
    score: Mapped[float] = mapped_column(Float, comment="Relevance score in 0..1.")
    topics: Mapped[list[str]] = mapped_column(
        JSONList, default=list, comment="Topics from the fixed taxonomy (JSON array of strings)."
    )
    entities: Mapped[list[str]] = mapped_column(
        JSONList, default=list, comment="Entities recognised (JSON array of canonical names)."
    )
    reasons: Mapped[list[str]] = mapped_column(
        JSONList, default=list, comment="Human-readable reasons that moved the score (JSON array)."
    )
    priority: Mapped[str | None] = mapped_column(
        String(8), comment="Triage: high (see now), normal (read today) or low (digest); NULL when not relevant."
    )
    reader_reasons: Mapped[list[str] | None] = mapped_column(
        JSONList,
        comment="At most three short English sentences for readers, decisive evidence first (JSON array); NULL for verdicts made before priorities.",
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow, comment="When the verdict was made (UTC).")

    article: Mapped[Article] = relationship(back_populates="classifications")


class Label(Base):
    __tablename__ = "labels"
    __table_args__ = {"comment": "Reader feedback: an article marked relevant or irrelevant, used by `cnai train`."}

    id: Mapped[int] = mapped_column(primary_key=True, comment="Label id.")
    article_id: Mapped[int] = mapped_column(
        ForeignKey("articles.id", ondelete="CASCADE"), index=True, comment="Article labelled."
    )
    relevant: Mapped[bool] = mapped_column(Boolean, comment="The reader's verdict.")
    created_at: Mapped[datetime] = mapped_column(default=utcnow, comment="When the label was given (UTC).")


class Channel(Base):
    __tablename__ = "channels"
    __table_args__ = {"comment": "Where alerts go: a Slack webhook, an email address list, or an apprise URL."}

    id: Mapped[int] = mapped_column(primary_key=True, comment="Channel id (channel_id elsewhere).")
    name: Mapped[str] = mapped_column(String(200), unique=True, comment="Operator's name for the channel.")
    kind: Mapped[str] = mapped_column(String(32), comment="slack, email, apprise or console.")
    target: Mapped[str] = mapped_column(
        Text,
        comment="Webhook URL, comma-separated addresses, or apprise URL; may name an environment variable as env:NAME.",
    )
    next_send_at: Mapped[datetime | None] = mapped_column(
        comment="Pacing (GCRA): theoretical time of the next message; pushed back by the channel's Retry-After."
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow, comment="When the channel was added (UTC).")


def _default_priorities(context: Any) -> tuple[list[str], list[str]]:
    """(instant, digest) priorities of a new subscription: a digest subscription gets everything in its digest; an
    instant one high and normal instantly and low in a daily digest (low is never instant unless asked for)."""
    if context.get_current_parameters().get("mode") == "digest":
        return [], ["high", "normal", "low"]
    return ["high", "normal"], ["low"]


class Subscription(Base):
    __tablename__ = "subscriptions"
    __table_args__ = {"comment": "Who wants which stories, how (instant or digest) and where (channels)."}

    id: Mapped[int] = mapped_column(primary_key=True, comment="Subscription id (subscription_id elsewhere).")
    name: Mapped[str] = mapped_column(String(200), unique=True, comment="Operator's name for the subscription.")
    min_score: Mapped[float] = mapped_column(Float, default=0.0, comment="Lowest relevance score that alerts.")
    topics: Mapped[list[str]] = mapped_column(JSONList, default=list, comment="Only these topics (empty: any).")
    entities: Mapped[list[str]] = mapped_column(
        JSONList, default=list, comment="Only stories naming these entities (empty: any)."
    )
    languages: Mapped[list[str]] = mapped_column(
        JSONList, default=list, comment="Only these article languages (empty: any)."
    )
    sources: Mapped[list[str]] = mapped_column(
        JSONList, default=list, comment="Only these feeds, by URL or host (empty: any)."
    )
    mode: Mapped[str] = mapped_column(String(16), default="instant", comment="instant or digest.")
    digest_schedule: Mapped[str | None] = mapped_column(String(16), comment="hourly or daily (digest mode).")
    digest_time: Mapped[str | None] = mapped_column(String(5), comment="HH:MM local time for daily digests.")
    timezone: Mapped[str] = mapped_column(
        String(64), default="UTC", comment="IANA time zone for digest time and quiet hours."
    )
    quiet_start: Mapped[str | None] = mapped_column(String(5), comment="HH:MM local time when quiet hours start.")
    quiet_end: Mapped[str | None] = mapped_column(String(5), comment="HH:MM local time when quiet hours end.")
    enabled: Mapped[bool] = mapped_column(Boolean, default=True, comment="Disabled subscriptions create no alerts.")
    instant_priorities: Mapped[list[str]] = mapped_column(
        JSONList,
        default=lambda ctx: _default_priorities(ctx)[0],
        comment="Priorities (high, normal, low) sent instantly (JSON array).",
    )
    digest_priorities: Mapped[list[str]] = mapped_column(
        JSONList,
        default=lambda ctx: _default_priorities(ctx)[1],
        comment="Priorities (high, normal, low) sent in the subscription's digest (JSON array); daily at digest_time "
        "(08:00 when unset) for instant subscriptions.",
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow, comment="When the subscription was added (UTC).")

    channels: Mapped[list[Channel]] = relationship(secondary="subscription_channels")


class SubscriptionChannel(Base):
    __tablename__ = "subscription_channels"
    __table_args__ = {"comment": "Channels of each subscription."}

    subscription_id: Mapped[int] = mapped_column(
        ForeignKey("subscriptions.id", ondelete="CASCADE"),
        primary_key=True,
        comment="Subscription sending to the channel.",
    )
    channel_id: Mapped[int] = mapped_column(
        ForeignKey("channels.id", ondelete="CASCADE"), primary_key=True, comment="Channel the subscription sends to."
    )


class Alert(Base):
    __tablename__ = "alerts"
    __table_args__ = (
        UniqueConstraint("story_id", "subscription_id"),
        {
            "comment": "One alert per story and subscription (the outbox), written with the classification that caused it."
        },
    )

    id: Mapped[int] = mapped_column(primary_key=True, comment="Alert id (alert_id elsewhere).")
    story_id: Mapped[int] = mapped_column(ForeignKey("stories.id", ondelete="CASCADE"), comment="Story alerted on.")
    article_id: Mapped[int] = mapped_column(
        ForeignKey("articles.id", ondelete="CASCADE"), index=True, comment="Article that triggered the alert."
    )
    subscription_id: Mapped[int] = mapped_column(
        ForeignKey("subscriptions.id", ondelete="CASCADE"), index=True, comment="Subscription matched."
    )
    status: Mapped[str] = mapped_column(
        String(16),
        default=AlertStatus.PENDING,
        index=True,
        comment="pending, sent, partial, failed or digested (the worst of its deliveries).",
    )
    priority: Mapped[str | None] = mapped_column(
        String(8), comment="Priority the alert was routed with: high, normal or low (NULL: unknown, routed as normal)."
    )
    delivery_mode: Mapped[str] = mapped_column(
        String(16), default="instant", comment="instant, or digest (sent in the subscription's next digest)."
    )
    created_at: Mapped[datetime] = mapped_column(
        default=utcnow, index=True, comment="When the alert was created (UTC)."
    )

    deliveries: Mapped[list[Delivery]] = relationship(back_populates="alert", passive_deletes=True)


class Delivery(Base):
    __tablename__ = "deliveries"
    __table_args__ = (
        UniqueConstraint("alert_id", "channel_id"),
        Index("ix_deliveries_status_next_attempt_at", "status", "next_attempt_at"),
        {"comment": "One alert sent to one channel: status, attempts and last error."},
    )

    id: Mapped[int] = mapped_column(primary_key=True, comment="Delivery id.")
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id", ondelete="CASCADE"), comment="Alert delivered.")
    channel_id: Mapped[int] = mapped_column(
        ForeignKey("channels.id", ondelete="CASCADE"), index=True, comment="Channel delivered to."
    )
    status: Mapped[str] = mapped_column(
        String(16), default=DeliveryStatus.PENDING, comment="pending, sending, sent, failed or digested."
    )
    attempts: Mapped[int] = mapped_column(Integer, default=0, comment="Delivery attempts so far.")
    last_error: Mapped[str | None] = mapped_column(Text, comment="Error of the last failed attempt.")
    next_attempt_at: Mapped[datetime] = mapped_column(
        default=utcnow, comment="Earliest time of the next attempt (UTC)."
    )
    claimed_until: Mapped[datetime | None] = mapped_column(comment="A sender holds the delivery until this time.")
    claim_token: Mapped[str | None] = mapped_column(
        String(32),
        index=True,
        comment="Token of the send that claimed the delivery; shared by every delivery carried in one digest message.",
    )
    sent_at: Mapped[datetime | None] = mapped_column(comment="When the channel accepted the message (UTC).")
    message_ref: Mapped[str | None] = mapped_column(
        Text, comment="Channel's id for the message (e.g. SMTP Message-ID), for threading."
    )

    alert: Mapped[Alert] = relationship(back_populates="deliveries")
    channel: Mapped[Channel] = relationship()


class FetchLog(Base):
    __tablename__ = "fetch_log"
    __table_args__ = (
        Index("ix_fetch_log_feed_id_started_at", "feed_id", "started_at"),
        Index("ix_fetch_log_started_at", "started_at"),
        {"comment": "Every fetch of every feed: status, bytes, duration, new entries, error."},
    )

    id: Mapped[int] = mapped_column(primary_key=True, comment="Fetch id.")
    feed_id: Mapped[int] = mapped_column(ForeignKey("feeds.id", ondelete="CASCADE"), comment="Feed fetched.")
    started_at: Mapped[datetime] = mapped_column(default=utcnow, comment="When the fetch started (UTC).")
    duration_ms: Mapped[int] = mapped_column(
        Integer, default=0, comment="Wall time of fetch and ingestion in milliseconds."
    )
    status_code: Mapped[int | None] = mapped_column(Integer, comment="HTTP status (NULL when no response).")
    bytes: Mapped[int] = mapped_column(Integer, default=0, comment="Body bytes received.")
    entries: Mapped[int] = mapped_column(Integer, default=0, comment="Entries in the feed document.")
    new_entries: Mapped[int] = mapped_column(Integer, default=0, comment="Entries not seen before in this feed.")
    error: Mapped[str | None] = mapped_column(Text, comment="Why the fetch or parse failed, or the parser's warning.")


class LLMTranslation(Base):
    __tablename__ = "llm_translations"
    __table_args__ = {"comment": "English translations of Chinese alerts by the optional LLM, cached by content hash."}

    content_hash: Mapped[str] = mapped_column(
        String(64), primary_key=True, comment="SHA-256 of model, title and summary: the cache key."
    )
    model: Mapped[str] = mapped_column(String(200), comment="LLM_MODEL that translated.")
    title_en: Mapped[str] = mapped_column(Text, comment="The title in English.")
    summary_en: Mapped[str] = mapped_column(Text, comment="One English sentence summing up the article.")
    tokens: Mapped[int] = mapped_column(Integer, comment="Tokens the request used (prompt + completion).")
    created_at: Mapped[datetime] = mapped_column(default=utcnow, comment="When the translation was made (UTC).")


class LLMUsage(Base):
    __tablename__ = "llm_usage"
    __table_args__ = {"comment": "LLM requests and tokens per UTC day: the daily token budget."}

    day: Mapped[str] = mapped_column(String(10), primary_key=True, comment="UTC day, YYYY-MM-DD.")
    tokens: Mapped[int] = mapped_column(
        Integer, default=0, comment="Tokens used that day, counted against LLM_DAILY_TOKENS."
    )
    calls: Mapped[int] = mapped_column(Integer, default=0, comment="Requests made that day.")
    failures: Mapped[int] = mapped_column(
        Integer, default=0, comment="Requests that failed that day (timeout, error, bad answer)."
    )


class User(Base):
    __tablename__ = "users"
    __table_args__ = {"comment": "People who may sign in to the web app (cnai users add)."}

    id: Mapped[int] = mapped_column(primary_key=True, comment="User id.")
    username: Mapped[str] = mapped_column(String(100), unique=True, comment="Login name.")
    role: Mapped[str] = mapped_column(String(16), default="reader", comment="reader or admin.")
    password_hash: Mapped[str] = mapped_column(Text, comment="argon2id hash of the password (never the password).")
    created_at: Mapped[datetime] = mapped_column(default=utcnow, comment="When the user was added (UTC).")


class ApiToken(Base):
    __tablename__ = "api_tokens"
    __table_args__ = {
        "comment": "Bearer tokens for /api/... (cnai tokens create); only a SHA-256 of each token is stored."
    }

    id: Mapped[int] = mapped_column(primary_key=True, comment="Token id.")
    name: Mapped[str] = mapped_column(String(100), unique=True, comment="Operator's name for the token.")
    token_hash: Mapped[str] = mapped_column(String(64), unique=True, comment="SHA-256 (hex) of the token.")
    created_at: Mapped[datetime] = mapped_column(default=utcnow, comment="When the token was created (UTC).")
    last_used_at: Mapped[datetime | None] = mapped_column(comment="When the token was last used (UTC).")


class LoginFailure(Base):
    __tablename__ = "login_failures"
    __table_args__ = (
        Index("ix_login_failures_key_at", "key", "at"),
        {
            "comment": "Recent failed web logins, per client address and per user name: the login rate limit, shared by every web replica."
        },
    )

    id: Mapped[int] = mapped_column(primary_key=True, comment="Row id.")
    key: Mapped[str] = mapped_column(String(200), comment="ip:<address> or user:<name, case-folded>.")
    at: Mapped[datetime] = mapped_column(
        default=utcnow, index=True, comment="When the attempt failed (UTC); rows older than the window are deleted."
    )


class Feedback(Base):
    __tablename__ = "feedback"
    __table_args__ = (
        Index("ix_feedback_created_at", "created_at"),
        {
            "comment": "Readers' answers to alerts (web, Slack, email, CLI): relevant, not relevant, mute source, mute entity."
        },
    )

    id: Mapped[int] = mapped_column(primary_key=True, comment="Feedback id.")
    who: Mapped[str] = mapped_column(Text, comment="Who answered: a user name, @slack-name or an email address.")
    article_id: Mapped[int | None] = mapped_column(
        ForeignKey("articles.id", ondelete="CASCADE"), index=True, comment="Article answered about."
    )
    story_id: Mapped[int | None] = mapped_column(
        ForeignKey("stories.id", ondelete="SET NULL"), index=True, comment="Story answered about."
    )
    verdict: Mapped[str] = mapped_column(String(16), comment="relevant, not_relevant, mute_source or mute_entity.")
    source: Mapped[str] = mapped_column(String(8), comment="Where the answer came from: web, slack, email or cli.")
    subject: Mapped[str | None] = mapped_column(Text, comment="What was muted (feed URL or entity name) for mutes.")
    request_key: Mapped[str | None] = mapped_column(
        String(64),
        unique=True,
        comment="Digest of the request (Slack signature, email link) so a replay records nothing.",
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow, comment="When the answer was given (UTC).")


class Mute(Base):
    __tablename__ = "mutes"
    __table_args__ = (
        UniqueConstraint("subscription_id", "kind", "value"),
        {"comment": "Sources or entities a subscription no longer alerts on (from readers' feedback)."},
    )

    id: Mapped[int] = mapped_column(primary_key=True, comment="Mute id.")
    subscription_id: Mapped[int] = mapped_column(
        ForeignKey("subscriptions.id", ondelete="CASCADE"), comment="Subscription muted."
    )
    kind: Mapped[str] = mapped_column(String(8), comment="source (a feed URL) or entity (a canonical entity name).")
    value: Mapped[str] = mapped_column(Text, comment="The feed URL or the entity name.")
    created_by: Mapped[str | None] = mapped_column(Text, comment="Who muted it.")
    created_at: Mapped[datetime] = mapped_column(default=utcnow, comment="When it was muted (UTC).")


class ClassifierModel(Base):
    __tablename__ = "classifier_models"
    __table_args__ = {
        "comment": "Versions of the learned layer, stored so every worker serves the same one; one is active."
    }

    id: Mapped[int] = mapped_column(primary_key=True, comment="Model id.")
    version: Mapped[str] = mapped_column(String(64), unique=True, comment="ml-<digest> of the artefact.")
    artefact: Mapped[bytes] = mapped_column(LargeBinary, comment="The pickled artefact (as written by cnai train).")
    metrics: Mapped[dict[str, float]] = mapped_column(
        JSONList,
        default=dict,
        comment="Evaluation figures (JSON object): precision, recall, examples, labels, of this model and the one it was compared with.",
    )
    status: Mapped[str] = mapped_column(
        String(16), default="candidate", index=True, comment="candidate, active, retired or rejected."
    )
    note: Mapped[str | None] = mapped_column(Text, comment="Why it was promoted or rejected.")
    created_at: Mapped[datetime] = mapped_column(default=utcnow, comment="When the model was trained (UTC).")
    promoted_at: Mapped[datetime | None] = mapped_column(comment="When it became active (UTC).")
