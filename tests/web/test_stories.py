"""The story list's filters, bilingual search, order and paging, on SQLite and on PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest

from services.database import unit_of_work
from services.stories import Show, StoryFilters, list_stories, story_detail
from tests.web.seed import BASE_TIME, StorySpec, seed_story

SPECS = [
    StorySpec(
        "Regulator drafts labelling rules for synthetic media",
        "Providers must watermark generated content.",
        topics=["regulation"],
        entities=["Cyberspace Administration of China"],
        hours=1,
    ),
    StorySpec(
        "国家网信办发布生成式人工智能服务备案公告",
        "新一批大模型完成备案。",
        language="zh-Hans",
        topics=["regulation"],
        entities=["Cyberspace Administration of China"],
        hours=2,
        feed="https://cn.example.org/rss",
    ),
    StorySpec(
        "Chip export controls tightened for accelerator cards",
        "New licence rules hit datacentre GPUs.",
        topics=["chips_and_export_controls"],
        entities=["Nvidia"],
        hours=3,
        priority="high",
    ),
    StorySpec(
        "某实验室开源新的推理模型",
        "模型在数学基准上表现突出。",
        language="zh-Hant",
        topics=["model_releases"],
        entities=["DeepSeek"],
        hours=4,
        feed="https://cn.example.org/rss",
    ),
    StorySpec(
        "Gardening tips for the weekend",
        "Nothing to do with models.",
        relevant=False,
        topics=[],
        alerted=False,
        hours=5,
    ),
    StorySpec(
        "Provincial compute vouchers announced",
        "Subsidies for computing power.",
        topics=["compute_and_infrastructure"],
        hours=6,
        alerted=False,
    ),
]


@pytest.fixture(params=["sqlite", "postgres"])
def seeded(request, env):  # type: ignore[no-untyped-def]
    url = request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "pg_url")
    env.setenv("DATABASE_URL", url)
    with unit_of_work(url) as session:
        ids = [seed_story(session, spec) for spec in SPECS]
    return url, ids


def titles(url: str, **filters: object) -> list[str]:
    with unit_of_work(url) as session:
        return [s.title for s in list_stories(session, StoryFilters(**filters)).items]  # type: ignore[arg-type]


def test_filters_search_order(seeded):  # type: ignore[no-untyped-def]
    url, ids = seeded
    t = [spec.title for spec in SPECS]
    assert titles(url) == [t[3], t[2], t[1], t[0]], "alerted stories, newest first"
    assert titles(url, show=Show.RELEVANT) == [t[5], t[3], t[2], t[1], t[0]]
    assert titles(url, show=Show.ALL)[0] == t[5] and len(titles(url, show=Show.ALL)) == 6
    assert titles(url, topic="regulation") == [t[1], t[0]]
    assert titles(url, entity="Nvidia") == [t[2]]
    assert titles(url, priority="high") == [t[2]]
    assert titles(url, language="zh") == [t[3], t[1]]
    assert titles(url, language="zh-Hant") == [t[3]]
    assert titles(url, feed_id=ids[1].feed_id) == [t[3], t[1]]
    assert titles(url, since=BASE_TIME + timedelta(hours=2), until=BASE_TIME + timedelta(hours=3, minutes=30)) == [
        t[2],
        t[1],
    ]
    # English words (stemmed on PostgreSQL: "controls" finds "control"-less text only with the same stem)
    assert titles(url, q="export controls") == [t[2]]
    assert titles(url, q="watermark") == [t[0]]
    assert titles(url, q="人工智能") == [t[1]]
    assert titles(url, q="推理模型") == [t[3]]
    assert titles(url, q="备案 nothing-like-this") == []
    assert titles(url, q="gardening", show=Show.ALL) == [t[4]]
    assert titles(url, q="gardening") == [], "not alerted, so not in the default list"


def test_paging_and_detail(seeded):  # type: ignore[no-untyped-def]
    url, ids = seeded
    with unit_of_work(url) as session:
        first = list_stories(session, StoryFilters(show=Show.ALL), page=1, per_page=4)
        second = list_stories(session, StoryFilters(show=Show.ALL), page=2, per_page=4)
        assert first.has_next and not second.has_next
        assert len(first.items) == 4 and len(second.items) == 2
        assert not {s.id for s in first.items} & {s.id for s in second.items}
        detail = story_detail(session, ids[2].story_id)
        assert detail is not None
        assert detail.summary.topics == ["chips_and_export_controls"] and detail.summary.alerted
        assert detail.articles[0].classifications[0]["reasons"] == ["invented for a test"]
        assert detail.alerts[0]["deliveries"][0]["status"] == "sent"
        assert story_detail(session, 10**6) is None
