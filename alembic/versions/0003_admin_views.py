"""views that answer admin questions in plain SQL

Each view reads like a sentence of the data model: the current verdict of every article,
the relevant ones, their topics and entities one per row, stories with their outlets,
alerts with their deliveries, feed health and daily topic counts. Every view and view
column carries a comment, so ``\\d+ relevant_articles`` documents itself (docs/admin.md
lists them too).

PostgreSQL only. On SQLite the JSON functions differ, and above all SQLite refuses to
rename a table while a view names it, which is how Alembic's batch mode rebuilds tables:
views there would break every later migration that alters a table.

Views are plain (not materialised): always current, no refresh job. Filters on their
columns reach the indexes of the underlying tables; ``latest_classifications`` is written
as an anti-join (no newer verdict exists) rather than ``DISTINCT ON`` for that reason, and
joins along non-null foreign keys are LEFT JOINs so the planner drops the tables a query
does not use.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


class View(NamedTuple):
    name: str
    comment: str
    columns: dict[str, str]
    sql: str


VIEWS = [
    View(
        "latest_classifications",
        "The current verdict of each article: its most recent classification (latest created_at, then id).",
        {
            "classification_id": "Id of the classification row (classifications.id).",
            "article_id": "Article classified.",
            "classifier_version": "Classifier version that produced this verdict.",
            "relevant": "True when the article is on the China LLM / AI-policy beat.",
            "score": "Relevance score in 0..1.",
            "topics": "Topics (JSONB array of taxonomy ids); test with topics ? 'regulation' (GIN-indexed).",
            "entities": "Entities (JSONB array of canonical names); test with entities ? 'DeepSeek' (GIN-indexed).",
            "reasons": "Human-readable reasons that moved the score (JSONB array).",
            "classified_at": "When the verdict was made (UTC).",
        },
        """
        SELECT c.id AS classification_id, c.article_id, c.classifier_version, c.relevant, c.score,
               c.topics, c.entities, c.reasons, c.created_at AS classified_at
        FROM classifications c
        WHERE NOT EXISTS (
            SELECT 1 FROM classifications newer
            WHERE newer.article_id = c.article_id
              AND (newer.created_at, newer.id) > (c.created_at, c.id)
        )
        """,
    ),
    View(
        "article_verdicts",
        "Every classified article with its current verdict (score, topics, entities, reasons), feed and story.",
        {
            "article_id": "Article id.",
            "published_at": "Publication time (UTC).",
            "fetched_at": "When the article was first fetched (UTC).",
            "language": "Detected language: en, zh-Hans, zh-Hant or other.",
            "title": "Article title.",
            "url": "Article link as published.",
            "feed_id": "Feed the article was first seen in.",
            "feed_title": "Title of that feed (the outlet).",
            "story_id": "Story the article belongs to.",
            "story_title": "Title of the story (its first article's title).",
            "story_article_count": "Articles (outlets) in the story so far.",
            "relevant": "Current verdict: on the beat or not.",
            "score": "Current relevance score in 0..1.",
            "topics": "Current topics (JSONB array); filter with topics ? 'chips_and_export_controls'.",
            "entities": "Current entities (JSONB array); filter with entities ? 'Cyberspace Administration of China'.",
            "reasons": "Reasons that moved the score (JSONB array).",
            "classifier_version": "Classifier version of the current verdict.",
            "classified_at": "When the current verdict was made (UTC).",
        },
        """
        SELECT a.id AS article_id, a.published_at, a.fetched_at, a.language, a.title, a.url,
               a.feed_id, f.title AS feed_title, a.story_id, s.title AS story_title,
               s.article_count AS story_article_count,
               lc.relevant, lc.score, lc.topics, lc.entities, lc.reasons, lc.classifier_version, lc.classified_at
        FROM articles a
        JOIN latest_classifications lc ON lc.article_id = a.id
        LEFT JOIN feeds f ON f.id = a.feed_id
        LEFT JOIN stories s ON s.id = a.story_id
        """,
    ),
    View(
        "relevant_articles",
        "Articles whose current verdict is relevant, with score, topics, entities, feed and story.",
        {
            "article_id": "Article id.",
            "published_at": "Publication time (UTC).",
            "fetched_at": "When the article was first fetched (UTC).",
            "language": "Detected language: en, zh-Hans, zh-Hant or other.",
            "title": "Article title.",
            "url": "Article link as published.",
            "feed_id": "Feed the article was first seen in.",
            "feed_title": "Title of that feed (the outlet).",
            "story_id": "Story the article belongs to.",
            "story_title": "Title of the story.",
            "story_article_count": "Articles (outlets) in the story so far.",
            "score": "Relevance score in 0..1.",
            "topics": "Topics (JSONB array); filter with topics ? 'regulation'.",
            "entities": "Entities (JSONB array); filter with entities ? 'DeepSeek'.",
            "reasons": "Reasons that moved the score (JSONB array).",
            "classifier_version": "Classifier version of the verdict.",
            "classified_at": "When the verdict was made (UTC).",
        },
        """
        SELECT article_id, published_at, fetched_at, language, title, url, feed_id, feed_title,
               story_id, story_title, story_article_count, score, topics, entities, reasons,
               classifier_version, classified_at
        FROM article_verdicts
        WHERE relevant
        """,
    ),
    View(
        "article_topics",
        "One row per article and topic of its current verdict (relevant or not), for counting by topic.",
        {
            "article_id": "Article id.",
            "topic": "One topic id of the current verdict.",
            "relevant": "Current verdict: on the beat or not.",
            "score": "Current relevance score in 0..1.",
            "published_at": "Publication time (UTC).",
            "language": "Detected language of the article.",
            "feed_id": "Feed the article was first seen in.",
            "story_id": "Story the article belongs to.",
        },
        """
        SELECT v.article_id, t.topic, v.relevant, v.score, v.published_at, v.language, v.feed_id, v.story_id
        FROM article_verdicts v
        CROSS JOIN LATERAL jsonb_array_elements_text(v.topics) AS t(topic)
        """,
    ),
    View(
        "article_entities",
        "One row per article and entity of its current verdict (relevant or not), for counting by entity.",
        {
            "article_id": "Article id.",
            "entity": "One entity (canonical name) of the current verdict.",
            "relevant": "Current verdict: on the beat or not.",
            "score": "Current relevance score in 0..1.",
            "published_at": "Publication time (UTC).",
            "language": "Detected language of the article.",
            "feed_id": "Feed the article was first seen in.",
            "story_id": "Story the article belongs to.",
        },
        """
        SELECT v.article_id, e.entity, v.relevant, v.score, v.published_at, v.language, v.feed_id, v.story_id
        FROM article_verdicts v
        CROSS JOIN LATERAL jsonb_array_elements_text(v.entities) AS e(entity)
        """,
    ),
    View(
        "stories_with_outlets",
        "Each story with the outlets (feeds) that carried it, its languages and whether it was alerted.",
        {
            "story_id": "Story id.",
            "title": "Title of the story (its first article's title).",
            "first_seen_at": "When the first article arrived (UTC).",
            "last_seen_at": "When the latest article joined (UTC).",
            "article_count": "Distinct articles in the story (duplicates across outlets count once each).",
            "outlet_count": "Distinct feeds that carried any article of the story.",
            "entry_count": "Feed entries pointing at the story's articles (an article in two feeds counts twice).",
            "outlets": "Titles (else URLs) of those feeds, sorted.",
            "languages": "Languages of the story's articles, sorted.",
            "alert_count": "Alerts sent for the story (one per matching subscription).",
        },
        """
        SELECT s.id AS story_id, s.title, s.first_seen_at, s.last_seen_at, s.article_count,
               coalesce(o.outlet_count, 0) AS outlet_count, coalesce(o.entry_count, 0) AS entry_count,
               coalesce(o.outlets, '{}') AS outlets, coalesce(l.languages, '{}') AS languages,
               (SELECT count(*) FROM alerts al WHERE al.story_id = s.id) AS alert_count
        FROM stories s
        LEFT JOIN LATERAL (
            SELECT count(DISTINCT fe.feed_id) AS outlet_count, count(*) AS entry_count,
                   array_agg(DISTINCT coalesce(f.title, f.url) ORDER BY coalesce(f.title, f.url)) AS outlets
            FROM articles a
            JOIN feed_entries fe ON fe.article_id = a.id
            JOIN feeds f ON f.id = fe.feed_id
            WHERE a.story_id = s.id
        ) o ON true
        LEFT JOIN LATERAL (
            SELECT array_agg(DISTINCT a.language ORDER BY a.language)
                   FILTER (WHERE a.language IS NOT NULL)::text[] AS languages
            FROM articles a
            WHERE a.story_id = s.id
        ) l ON true
        """,
    ),
    View(
        "alert_deliveries",
        "Every alert with its story, triggering article, subscription and each channel delivery "
        "(status, attempts, last error, latency). Alerts without channels appear once with NULL delivery columns.",
        {
            "alert_id": "Alert id.",
            "alerted_at": "When the alert was created (UTC).",
            "alert_status": "pending, sent, partial, failed or digested (the worst of its deliveries).",
            "subscription_id": "Subscription matched.",
            "subscription": "Name of the subscription.",
            "story_id": "Story alerted on.",
            "story_title": "Title of the story.",
            "article_id": "Article that triggered the alert.",
            "article_title": "Title of that article.",
            "article_url": "Link of that article.",
            "language": "Language of that article.",
            "published_at": "Publication time of that article (UTC).",
            "fetched_at": "When that article was first fetched (UTC).",
            "delivery_id": "Delivery id (NULL when the subscription had no channel).",
            "channel_id": "Channel delivered to.",
            "channel": "Name of the channel.",
            "channel_kind": "slack, email, apprise or console.",
            "delivery_status": "pending, sending, sent, failed or digested.",
            "attempts": "Delivery attempts so far.",
            "last_error": "Error of the last failed attempt.",
            "next_attempt_at": "Earliest time of the next attempt (UTC).",
            "sent_at": "When the channel accepted the message (UTC).",
            "message_ref": "Channel's id for the message (e.g. SMTP Message-ID).",
            "published_to_sent": "Latency from publication to delivery (interval; NULL until sent).",
            "fetched_to_sent": "Latency from first fetch to delivery (interval; NULL until sent).",
        },
        """
        SELECT al.id AS alert_id, al.created_at AS alerted_at, al.status AS alert_status,
               al.subscription_id, sub.name AS subscription, al.story_id, s.title AS story_title,
               al.article_id, a.title AS article_title, a.url AS article_url, a.language,
               a.published_at, a.fetched_at,
               d.id AS delivery_id, d.channel_id, ch.name AS channel, ch.kind AS channel_kind,
               d.status AS delivery_status, d.attempts, d.last_error, d.next_attempt_at, d.sent_at,
               d.message_ref,
               d.sent_at - a.published_at AS published_to_sent,
               d.sent_at - a.fetched_at AS fetched_to_sent
        FROM alerts al
        LEFT JOIN subscriptions sub ON sub.id = al.subscription_id
        LEFT JOIN stories s ON s.id = al.story_id
        LEFT JOIN articles a ON a.id = al.article_id
        LEFT JOIN deliveries d ON d.alert_id = al.id
        LEFT JOIN channels ch ON ch.id = d.channel_id
        """,
    ),
    View(
        "feed_health",
        "Each feed's health: active or disabled (and why), last success, current failure streak, "
        "last fetch, fetches in the last 24 hours and average new items per day over 30 days.",
        {
            "feed_id": "Feed id.",
            "url": "Feed URL.",
            "title": "Feed title.",
            "language": "Declared language of the feed.",
            "folder": "Operator's folder / category.",
            "active": "False once the feed is disabled.",
            "disabled_at": "When the feed was disabled (UTC); NULL while active.",
            "disabled_reason": "Why the feed was disabled.",
            "last_polled_at": "Start of the last fetch attempt (UTC).",
            "last_success_at": "Last successful fetch (UTC).",
            "consecutive_failures": "Failed fetches in a row; 0 after a success.",
            "failing_since": "Start of the first failed fetch of the current failure streak (UTC); NULL when healthy.",
            "last_error": "Reason of the last failed fetch.",
            "last_fetch_at": "Start of the latest fetch in the fetch log (UTC).",
            "last_status_code": "HTTP status of that fetch (NULL when no response).",
            "fetches_24h": "Fetches logged in the last 24 hours.",
            "failed_fetches_24h": "Of those, fetches with no response or an HTTP status >= 400.",
            "avg_items_per_day": "New entries per day in this feed, averaged over the last 30 days.",
            "last_new_entry_at": "When the feed last brought an entry not seen in it before (UTC).",
            "estimated_entries_per_day": "Publishing rate the adaptive scheduler estimates.",
            "poll_interval_s": "Current polling interval in seconds.",
            "next_poll_at": "When the feed is next due (UTC).",
        },
        """
        SELECT f.id AS feed_id, f.url, f.title, f.language, f.folder,
               f.disabled_at IS NULL AS active, f.disabled_at, f.disabled_reason,
               f.last_polled_at, f.last_success_at, f.consecutive_failures,
               CASE WHEN f.consecutive_failures > 0 THEN (
                   SELECT min(l.started_at) FROM fetch_log l
                   WHERE l.feed_id = f.id AND l.started_at > coalesce(f.last_success_at, '-infinity')
               ) END AS failing_since,
               f.last_error,
               last_fetch.started_at AS last_fetch_at, last_fetch.status_code AS last_status_code,
               recent.fetches AS fetches_24h, recent.failed AS failed_fetches_24h,
               round((SELECT count(*) FROM feed_entries e
                      WHERE e.feed_id = f.id AND e.first_seen_at >= now() - interval '30 days') / 30.0, 2)
                   AS avg_items_per_day,
               (SELECT max(e.first_seen_at) FROM feed_entries e WHERE e.feed_id = f.id) AS last_new_entry_at,
               f.entries_per_day AS estimated_entries_per_day, f.poll_interval_s, f.next_poll_at
        FROM feeds f
        LEFT JOIN LATERAL (
            SELECT l.started_at, l.status_code FROM fetch_log l
            WHERE l.feed_id = f.id ORDER BY l.started_at DESC LIMIT 1
        ) last_fetch ON true
        LEFT JOIN LATERAL (
            SELECT count(*) AS fetches,
                   count(*) FILTER (WHERE l.status_code IS NULL OR l.status_code >= 400) AS failed
            FROM fetch_log l
            WHERE l.feed_id = f.id AND l.started_at >= now() - interval '24 hours'
        ) recent ON true
        """,
    ),
    View(
        "daily_topic_counts",
        "Articles per UTC day, topic and language (current verdicts): all, relevant, and relevant stories.",
        {
            "day": "Publication day (UTC).",
            "topic": "Topic id.",
            "language": "Detected language of the articles.",
            "articles": "Articles published that day with the topic (relevant or not).",
            "relevant_articles": "Of those, articles whose verdict is relevant.",
            "relevant_stories": "Distinct stories among the relevant articles.",
        },
        """
        SELECT (t.published_at AT TIME ZONE 'UTC')::date AS day, t.topic, t.language,
               count(*) AS articles,
               count(*) FILTER (WHERE t.relevant) AS relevant_articles,
               count(DISTINCT t.story_id) FILTER (WHERE t.relevant) AS relevant_stories
        FROM article_topics t
        GROUP BY 1, 2, 3
        """,
    ),
]


def _check_documented(view: View) -> None:
    """Fail the migration if a view has a column without a comment (or a comment for no column)."""
    actual = (
        op.get_bind()
        .execute(
            sa.text(
                "SELECT attname FROM pg_attribute WHERE attrelid = CAST(:name AS regclass) AND attnum > 0 ORDER BY attnum"
            ),
            {"name": view.name},
        )
        .scalars()
        .all()
    )
    if list(actual) != list(view.columns):
        raise RuntimeError(f"view {view.name}: columns {actual} but comments for {list(view.columns)}")


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for view in VIEWS:
        op.execute(f"CREATE VIEW {view.name} AS {view.sql}")
        _check_documented(view)
        op.execute(f"COMMENT ON VIEW {view.name} IS {_quote(view.comment)}")
        for column, comment in view.columns.items():
            op.execute(f"COMMENT ON COLUMN {view.name}.{column} IS {_quote(comment)}")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for view in reversed(VIEWS):
        op.execute(f"DROP VIEW IF EXISTS {view.name}")
