"""Subscription rules at their boundaries: a score equal to min_score alerts, one just below does not;
each filter (topics, entities, languages, sources) accepts exactly what it names and nothing near it."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from db.models import Article, Feed, Subscription
from services.alerts.outbox import language_matches, source_matches, subscription_matches
from services.database import unit_of_work
from tests.alerts import factories as make


@dataclass
class Verdict:
    relevant: bool = True
    score: float = 0.5
    topics: list[str] = field(default_factory=lambda: ["regulation"])
    entities: list[str] = field(default_factory=lambda: ["Zhipu AI"])


def rules(**given: object) -> Subscription:
    base: dict[str, object] = {
        "name": "s",
        "min_score": 0.0,
        "topics": [],
        "entities": [],
        "languages": [],
        "sources": [],
        "enabled": True,
    }
    return Subscription(**{**base, **given})


def story(
    language: str = "en", url: str = "https://wire.example/item/1", feed_url: str = "https://wire.example/feed"
) -> Article:
    return Article(language=language, url=url, feed=Feed(url=feed_url))


@pytest.mark.parametrize(
    ("min_score", "score", "alerts"),
    [
        (0.5, 0.5, True),
        (0.5, 0.4999, False),
        (0.5, 0.5001, True),
        (0.7, 0.7, True),
        (0.7, 0.69, False),
        (0.0, 0.0, True),
        (1.0, 1.0, True),
        (1.0, 0.999, False),
        (0.25, 0.0, False),
    ],
)
def test_min_score_is_inclusive(min_score: float, score: float, alerts: bool) -> None:
    assert subscription_matches(rules(min_score=min_score), story(), Verdict(score=score)) is alerts


def test_disabled_or_irrelevant_never_matches() -> None:
    assert subscription_matches(rules(), story(), Verdict()) is True
    assert subscription_matches(rules(enabled=False), story(), Verdict()) is False
    assert subscription_matches(rules(), story(), Verdict(relevant=False, score=1.0)) is False


def test_topics_need_one_in_common() -> None:
    assert subscription_matches(rules(topics=["regulation", "standards"]), story(), Verdict(topics=["standards"]))
    assert not subscription_matches(rules(topics=["standards"]), story(), Verdict(topics=["regulation"]))
    assert not subscription_matches(rules(topics=["standards"]), story(), Verdict(topics=[]))


def test_entities_compare_without_case() -> None:
    assert subscription_matches(rules(entities=["zhipu ai"]), story(), Verdict(entities=["Zhipu AI"]))
    assert subscription_matches(rules(entities=["ZHIPU AI"]), story(), Verdict(entities=["zhipu ai", "Other"]))
    assert not subscription_matches(rules(entities=["Zhipu"]), story(), Verdict(entities=["Zhipu AI"]))
    assert not subscription_matches(rules(entities=["Zhipu AI"]), story(), Verdict(entities=[]))


@pytest.mark.parametrize(
    ("language", "wanted", "expected"),
    [
        ("zh-Hans", ["zh"], True),
        ("zh-Hant", ["zh"], True),
        ("ZH-HANT", ["zh-hant"], True),
        ("zh-Hans", ["zh-Hant"], False),
        ("zh", ["zh-Hans"], False),
        ("zhx", ["zh"], False),
        ("en", ["zh", "en"], True),
        (None, ["en"], False),
        ("en", [], False),
    ],
)
def test_language_matching(language: str | None, wanted: list[str], expected: bool) -> None:
    assert language_matches(language, wanted) is expected


def test_languages_rule_in_a_subscription() -> None:
    assert subscription_matches(rules(languages=["zh"]), story(language="zh-Hant"), Verdict())
    assert not subscription_matches(rules(languages=["zh"]), story(language="en"), Verdict())


def test_sources_match_the_feed_or_the_article_url_without_case() -> None:
    item = story(url="https://Outlet.example/news/9", feed_url="https://agg.example/rss")
    assert source_matches(item, ["outlet.example"])
    assert source_matches(item, ["AGG.example/rss"])
    assert not source_matches(item, ["other.example"])
    assert not source_matches(item, ["", "other.example"])
    assert not source_matches(item, [""])
    assert source_matches(Article(url="https://outlet.example/x", feed=None), ["outlet.example"])
    assert not source_matches(Article(url=None, feed=None), ["outlet.example"])
    assert subscription_matches(rules(sources=["outlet.example"]), item, Verdict())
    assert not subscription_matches(rules(sources=["elsewhere.example"]), item, Verdict())


@pytest.mark.parametrize("backend", ["postgres", "sqlite"])
def test_a_stored_score_equal_to_min_score_alerts(
    backend: str, request: pytest.FixtureRequest, alert_env: pytest.MonkeyPatch
) -> None:
    alert_env.setenv("DATABASE_URL", request.getfixturevalue("pg_url" if backend == "postgres" else "sqlite_url"))
    with unit_of_work() as session:
        console = make.channel(session, "console", "console", "stdout")
        make.subscription(session, "at-least-0.7", [console], min_score=0.7)
        assert [a.subscription_id for a in make.alerted(session, title="Exactly at the bar", score=0.7)] != []
        assert make.alerted(session, title="Just under the bar", score=0.6999) == []


def test_a_missing_language_matches_no_language_rule() -> None:
    assert language_matches(None, ["xxxx"]) is False
    assert language_matches("", ["zh"]) is False


def test_feed_and_article_urls_are_searched_as_one_space_separated_text() -> None:
    item = story(url="https://outlet.example/news/9", feed_url="https://agg.example/rss")
    assert source_matches(item, ["rss https://outlet"])
