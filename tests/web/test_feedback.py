"""Feedback becomes labels and mutes; mutes stop a subscription's next alert at once; replays record nothing."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from sqlalchemy import func, select

from db.models import Alert, Article, Label, Mute
from services.alerts.outbox import queue_alerts
from services.database import unit_of_work
from services.feedback import (
    FeedbackError,
    FeedbackSource,
    Verdict,
    list_feedback,
    record_feedback,
    target_of_alert,
    target_of_story,
)
from tests.web.seed import StorySpec, ensure_subscription, seed_story


def verdict(entities: list[str]) -> SimpleNamespace:
    return SimpleNamespace(relevant=True, score=0.9, topics=["regulation"], entities=entities)


def new_article(session, feed: str, entities: list[str], hours: int):  # type: ignore[no-untyped-def]
    seeded = seed_story(
        session,
        StorySpec(f"Fresh item {hours} on model rules", feed=feed, entities=entities, hours=hours, alerted=False),
    )
    return session.get(Article, seeded.article_id)


def test_labels_mutes_and_replays(sqlite_url, env):  # type: ignore[no-untyped-def]
    env.setenv("DATABASE_URL", sqlite_url)
    with unit_of_work() as session:
        other = ensure_subscription(session, "other-desk", "console", "stdout")
        first = seed_story(
            session,
            StorySpec(
                "Draft rules on model registration", entities=["Example Ministry"], feed="https://a.example.org/rss"
            ),
        )
        record_feedback(
            session, "alice", Verdict.NOT_RELEVANT, FeedbackSource.WEB, target_of_story(session, first.story_id)
        )
        labels = list(session.execute(select(Label.article_id, Label.relevant)))
        assert labels == [(first.article_id, False)]

        key = "k" * 64
        assert record_feedback(
            session,
            "@bob",
            Verdict.MUTE_SOURCE,
            FeedbackSource.SLACK,
            target_of_alert(session, first.alert_id),
            request_key=key,
        )
        assert (
            record_feedback(
                session,
                "@bob",
                Verdict.MUTE_SOURCE,
                FeedbackSource.SLACK,
                target_of_alert(session, first.alert_id),
                request_key=key,
            )
            is None
        )
        mutes = list(session.execute(select(Mute.subscription_id, Mute.kind, Mute.value)))
        default_id = session.execute(select(Alert.subscription_id).where(Alert.id == first.alert_id)).scalar_one()
        assert mutes == [(default_id, "source", "https://a.example.org/rss")]

        muted_source = new_article(session, "https://a.example.org/rss", [], 10)
        created = queue_alerts(session, muted_source, verdict([]), muted_source.published_at)
        assert [a.subscription_id for a in created] == [other.id], (
            "the muting subscription must not alert; the other still does"
        )

        record_feedback(
            session,
            "carol",
            Verdict.MUTE_ENTITY,
            FeedbackSource.WEB,
            target_of_story(session, first.story_id),
            entity="Example Ministry",
        )
        muted_entity = new_article(session, "https://b.example.org/rss", ["example ministry"], 11)
        assert [
            a.subscription_id
            for a in queue_alerts(session, muted_entity, verdict(["example ministry"]), muted_entity.published_at)
        ] == [other.id]
        free = new_article(session, "https://b.example.org/rss", ["Someone Else"], 12)
        assert {
            a.subscription_id for a in queue_alerts(session, free, verdict(["Someone Else"]), free.published_at)
        } == {default_id, other.id}

        with pytest.raises(FeedbackError):
            record_feedback(
                session, "carol", Verdict.MUTE_ENTITY, FeedbackSource.WEB, target_of_story(session, first.story_id)
            )
        with pytest.raises(FeedbackError):
            target_of_alert(session, 999999)
        rows = list_feedback(session)
        assert [(r["who"], r["verdict"], r["source"]) for r in rows] == [
            ("carol", "mute_entity", "web"),
            ("@bob", "mute_source", "slack"),
            ("alice", "not_relevant", "web"),
        ]
        assert session.execute(select(func.count()).select_from(Label)).scalar_one() == 1


def test_email_alerts_carry_signed_links_only_with_a_base_url() -> None:
    from datetime import datetime, timezone

    from services.alerts.content import AlertContent
    from services.alerts.email import email_message
    from services.feedback.email_links import read_token
    from services.settings import Settings

    item = AlertContent(
        alert_id=42,
        title="Invented ministry drafts model rules",
        url="https://news.example.org/1",
        source="Example News",
        published_at=datetime(2026, 11, 2, tzinfo=timezone.utc),
        language="en",
        score=0.9,
        topics=["regulation"],
        entities=[],
        reasons=["invented"],
        summary="",
    )
    key = "k" * 32
    plain = email_message(item, Settings(WEB_SECRET_KEY=key), "x")  # type: ignore[call-arg]  # settings by alias
    assert "/feedback/email/" not in plain.as_string()
    settings = Settings(WEB_SECRET_KEY=key, WEB_BASE_URL="https://cnai.example.org")  # type: ignore[call-arg]  # by alias
    message = email_message(item, settings, "x")
    text = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]  # the message has a plain part
    html = message.get_body(("html",)).get_content()  # type: ignore[union-attr]  # and an HTML part
    links = [line.split(": ", 1)[1] for line in text.splitlines() if "https://cnai.example.org/feedback/email/" in line]
    assert len(links) == 3 and html.count("https://cnai.example.org/feedback/email/") == 3
    verdicts = {read_token(settings, link.rsplit("/", 1)[1]).verdict for link in links}
    assert verdicts == {Verdict.RELEVANT, Verdict.NOT_RELEVANT, Verdict.MUTE_SOURCE}
    assert {read_token(settings, link.rsplit("/", 1)[1]).alert_id for link in links} == {42}
