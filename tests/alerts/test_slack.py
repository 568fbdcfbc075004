"""Slack Block Kit: hostile feed text stays text, and every message fits Slack's limits."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest

from services.alerts.content import AlertContent, Digest, Outlet, safe_link
from services.alerts.slack import (
    CONTEXT_ELEMENTS_LIMIT,
    HEADER_LIMIT,
    MAX_BLOCKS,
    SECTION_TEXT_LIMIT,
    clip_mrkdwn,
    slack_payload,
)

HOSTILE_TITLE = "<!channel> urgent: <https://evil.example|click here> & <@U123> <script>alert(1)</script>"


def content(**overrides: object) -> AlertContent:
    values: dict[str, object] = dict(
        alert_id=1,
        title="Beijing issues rules on generative AI",
        url="https://news.example.com/a?x=1&y=2",
        source="Example News",
        published_at=datetime(2026, 11, 20, 9, 30, tzinfo=timezone.utc),
        language="en",
        score=0.87,
        topics=["regulation", "standards"],
        entities=["Cyberspace Administration of China"],
        reasons=["policy term: interim measures"],
        summary="Draft measures published for comment.",
        other_outlets=[Outlet("Caixin", "https://caixin.example/1"), Outlet("SCMP", None)],
    )
    values.update(overrides)
    return AlertContent(**values)  # type: ignore[arg-type]


def texts(payload: dict) -> list[str]:
    """Every text Slack will parse as mrkdwn or show, with the block it is in."""
    found = [payload["text"]]
    for block in payload["blocks"]:
        if "text" in block:
            found.append(block["text"]["text"])
        for element in block.get("elements", []):
            found.append(element["text"])
    return found


def assert_within_limits(payload: dict) -> None:
    assert payload["text"] and len(payload["text"]) <= 3000
    assert len(payload["blocks"]) <= MAX_BLOCKS
    for block in payload["blocks"]:
        if block["type"] == "header":
            assert len(block["text"]["text"]) <= HEADER_LIMIT
            assert block["text"]["type"] == "plain_text"
        if block["type"] == "section":
            assert 0 < len(block["text"]["text"]) <= SECTION_TEXT_LIMIT
        if block["type"] == "context":
            assert 0 < len(block["elements"]) <= CONTEXT_ELEMENTS_LIMIT
            assert all(len(e["text"]) <= SECTION_TEXT_LIMIT for e in block["elements"])


def test_an_alert_shows_title_link_source_time_score_topics_entities_reasons_and_other_outlets() -> None:
    payload = slack_payload(content())
    body = "\n".join(texts(payload))
    assert "*<https://news.example.com/a?x=1&amp;y=2|Beijing issues rules on generative AI>*" in body
    for expected in (
        "Example News",
        "2026-11-20 09:30 UTC",
        "score 0.87",
        "regulation",
        "standards",
        "Cyberspace Administration of China",
        "interim measures",
        "<https://caixin.example/1|Caixin>",
        "SCMP",
    ):
        assert expected in body, expected
    assert_within_limits(payload)


@pytest.mark.parametrize("field", ["title", "summary", "source", "reasons", "entities", "outlet"])
def test_hostile_feed_text_cannot_mention_channel_or_disguise_a_link(field: str) -> None:
    overrides: dict[str, object] = {
        "title": {"title": HOSTILE_TITLE},
        "summary": {"summary": HOSTILE_TITLE},
        "source": {"source": HOSTILE_TITLE},
        "reasons": {"reasons": [HOSTILE_TITLE]},
        "entities": {"entities": [HOSTILE_TITLE]},
        "outlet": {"other_outlets": [Outlet(HOSTILE_TITLE, "https://ok.example/")]},
    }[field]
    payload = slack_payload(content(**overrides))
    raw = json.dumps(payload)
    assert "<!channel>" not in raw
    assert "<https://evil.example|click here>" not in raw
    assert "<@U123>" not in raw
    assert "<script>" not in raw
    assert "&lt;!channel&gt;" in raw
    for text in texts(payload):
        # Outside our own <url|label> links there is no '<' at all.
        for opening in [i for i, c in enumerate(text) if c == "<"]:
            assert text[opening + 1 :].startswith("https://"), text


def test_link_schemes_other_than_http_are_not_linked() -> None:
    for url in ("javascript:alert(1)", "data:text/html,<b>x</b>", "file:///etc/passwd", "https://evil|click"):
        link = safe_link(url)
        payload = slack_payload(content(url=link))
        assert "javascript:" not in json.dumps(payload) and "data:text" not in json.dumps(payload)
        if link:
            assert "|" not in link.split("://", 1)[1]


def test_huge_title_and_200_entities_and_many_outlets_fit_slack_limits() -> None:
    huge = "&<>" * 2000 + "国务院" * 3000
    payload = slack_payload(
        content(
            title=huge,
            summary=huge,
            entities=[f"Entity & Co <{i}>" for i in range(200)],
            reasons=[huge] * 30,
            topics=["regulation"] * 50,
            other_outlets=[Outlet(f"Outlet {i} & <x>", f"https://o{i}.example/&") for i in range(60)],
        )
    )
    assert_within_limits(payload)
    assert "and 45 more" in json.dumps(payload), "outlets beyond 15 are counted, not listed"
    joined = "\n".join(texts(payload))
    assert "more" in joined, "entities that do not fit are counted"
    for text in texts(payload):
        # Clipping never splits an entity or a link.
        assert not text.rstrip("…").endswith(("&", "&a", "&am", "&amp", "&l", "&lt", "&g", "&gt"))
        assert text.count("<") == text.count(">")


def test_clip_mrkdwn_never_cuts_inside_an_entity_or_link() -> None:
    assert clip_mrkdwn("ab&amp;cd", 5) == "ab…"
    assert clip_mrkdwn("x <https://a.example|label> y", 12) == "x …"
    assert clip_mrkdwn("short", 10) == "short"


def test_a_digest_of_the_largest_size_groups_by_topic_within_limits() -> None:
    topics = [
        "regulation",
        "chips_and_export_controls",
        "model_releases",
        "funding_and_subsidies",
        "standards",
        "compute_and_infrastructure",
        "industry_and_investment",
        "security_and_content_control",
        "international_governance",
        "research_and_talent",
    ]
    items = [
        content(
            alert_id=i,
            title=f"Story {i} " + "<!channel> & long title " * 20,
            topics=[topics[i % 11]] if i % 11 < 10 else [],
            url=f"https://news.example.com/{i}?a=1&b=2",
            source="Source & <b>" * 10,
            score=(i % 100) / 100,
        )
        for i in range(100)
    ]
    payload = slack_payload(Digest("cnai-monitor: 100 stories", "folded <!here>", items))
    assert_within_limits(payload)
    raw = json.dumps(payload)
    assert "<!channel>" not in raw and "<!here>" not in raw
    for i in range(100):
        assert f"https://news.example.com/{i}?a=1&amp;b=2|" in raw, f"story {i} is listed"
    sections = [b["text"]["text"] for b in payload["blocks"] if b["type"] == "section"]
    assert sections[0].startswith("*"), "each topic group opens with its name"
    assert any(s.startswith("*Chips and export controls* (") for s in sections)
    assert any(s.startswith("*Other* (") for s in sections)
    assert payload["blocks"][0]["type"] == "header"
