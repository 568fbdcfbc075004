"""One record per article, one story per news event: deduplication and near-duplicate clustering."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from db.models import Article, FeedEntry, Story, StoryBand
from services.database import unit_of_work
from services.feeds.registry import FeedSpec, add_feed
from services.ingest.parse import parse_feed
from services.ingest.store import store_entries
from services.ingest.stories import STORY_WINDOW, prune_story_bands
from tests.ingest.polling import BENCH, EN, ZH, add, poll, shared_file
from tests.support.http import LocalHTTPServer, Response

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=timezone.utc)

REWRITES = [
    (
        "China Daily",
        "Country to boost policies, develop national standards for LLM technology",
        "China is actively encouraging artificial intelligence companies as well as research institutes to build large "
        "language models, as Beijing will offer over 40 million yuan in subsidies to support companies involved in LLM training.",
    ),
    (
        "Tech Wire",
        "Beijing to hand out 40 million yuan in subsidies to companies training large language models",
        "The Beijing Municipal Bureau of Economy and Information Technology will offer the subsidies to the first batch of "
        "firms, while a national standard for LLMs is due soon.",
    ),
    (
        "Policy Watch",
        "China readies national LLM standard as Beijing offers 40 million yuan subsidy for model training",
        "Baidu, Huawei, 360 Security and Alibaba will lead the drafting of a national standard for large language models, "
        "the China Electronics Standardization Institute said.",
    ),
]
UNRELATED = [
    (
        "Auto Daily",
        "Beijing offers 40 million yuan in subsidies to electric vehicle makers",
        "The city will support companies building charging stations and battery swap networks in its suburbs.",
    ),
    (
        "Tech Wire",
        "Alibaba releases a new large language model for coding",
        "The Qwen coder model tops several programming benchmarks, the company said on Tuesday.",
    ),
    (
        "Policy Watch",
        "EU lawmakers agree on rules for general-purpose AI models",
        "The AI Act will require providers of large models to publish summaries of their training data.",
    ),
]


def rss(title: str, items: list[tuple[str, str, str]]) -> bytes:
    body = "".join(
        f"<item><guid>{title}-{i}</guid><link>https://{title.lower().replace(' ', '')}.example/{i}</link>"
        f"<title>{t}</title><description>{d}</description><pubDate>Sun, 22 Nov 2026 08:00:00 +0000</pubDate></item>"
        for i, (_, t, d) in enumerate(items)
    )
    return f'<?xml version="1.0"?><rss version="2.0"><channel><title>{title}</title>{body}</channel></rss>'.encode()


def store(url: str, body: bytes, now: datetime = NOW) -> None:
    with unit_of_work() as session:
        feed, _ = add_feed(session, FeedSpec(url=url))
        store_entries(session, feed.id, parse_feed(body, now=now), now)


def stories_by_title() -> dict[str, int]:
    with unit_of_work() as session:
        return dict(session.execute(select(Article.title, Article.story_id)).all())


@pytest.mark.parametrize("backend_url", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True)
def test_three_rewrites_of_one_story_cluster_and_unrelated_stories_do_not(polling) -> None:  # type: ignore[no-untyped-def]
    outlets = {outlet for outlet, _, _ in REWRITES + UNRELATED}
    for outlet in sorted(outlets):
        items = [item for item in REWRITES + UNRELATED if item[0] == outlet]
        store(f"https://{outlet.lower().replace(' ', '')}.example/feed.xml", rss(outlet, items))

    story_of = stories_by_title()
    rewrite_stories = {story_of[title] for _, title, _ in REWRITES}
    assert len(rewrite_stories) == 1, "the three rewrites must be one story"
    for _, title, _ in UNRELATED:
        assert story_of[title] not in rewrite_stories, f"{title!r} was merged into the rewrites' story"
    assert len(set(story_of.values())) == 1 + len(UNRELATED)
    with unit_of_work() as session:
        story = session.get(Story, rewrite_stories.pop())
        assert story is not None and story.article_count == 3
        assert session.execute(select(func.count()).select_from(StoryBand)).scalar_one() > 0


def test_on_real_feeds_only_true_duplicates_share_a_story(polling) -> None:  # type: ignore[no-untyped-def]
    """1,000+ real articles from the shared en/zh samples: exactly the known cross-outlet duplicates cluster."""
    files = sorted([*EN.glob("*.xml"), *ZH.glob("*.xml"), *BENCH.glob("ainews_*.xml"), *BENCH.glob("zh_*.xml")])
    for path in files:
        store(f"https://samples.example/{path.name}", shared_file(path))
    with unit_of_work() as session:
        clustered = session.execute(
            select(Article.story_id, func.count()).group_by(Article.story_id).having(func.count() > 1)
        ).all()
        groups = sorted(
            sorted(session.execute(select(Article.title).where(Article.story_id == story_id)).scalars())
            for story_id, _ in clustered
        )
        total = session.execute(select(func.count()).select_from(Article)).scalar_one()
    assert total > 1000

    # Developments reported by two or more outlets (a launch and its same-day analysis, English and
    # Chinese coverage of one release or deal) are one story each, named here by words their titles
    # share (not by the titles: they are also items of the shared eval data, which tests never copy) ...
    def stories_with(*words: str) -> list[int]:
        with unit_of_work() as session:
            titles = session.execute(select(Article.title, Article.story_id)).all()
        return [story for title, story in titles if all(w.casefold() in title.casefold() for w in words)]

    for words in [
        ("Sonnet 4.6",),
        ("Opus 4.5",),
        ("MiniMax-M2.5",),
        ("OPPO", "华为", "小米"),
        ("张丹丹", "社保"),
        ("软银", "Ola"),
        ("Uber", "卡车"),
    ]:
        found = stories_with(*words)
        assert found and Counter(found).most_common(1)[0][1] >= 2, (words, found)
    # ... different versions stay apart ...
    apart = [
        Counter(stories_with(version)).most_common(1)[0][0]
        for version in ("Opus 4.5", "Opus 4.7", "Sonnet 4.6", "MiniMax-M2.5")
    ]
    assert len(set(apart)) == len(apart), apart
    # ... and out of more than 1,000 articles, few cluster at all.
    assert len(groups) <= 19, groups


def test_stories_older_than_the_window_are_not_joined_and_their_bands_are_pruned(polling) -> None:  # type: ignore[no-untyped-def]
    old = NOW - STORY_WINDOW - timedelta(hours=1)
    store("https://chinadaily.example/feed.xml", rss("China Daily", REWRITES[:1]), now=old)
    with unit_of_work() as session:
        assert session.execute(select(func.count()).select_from(StoryBand)).scalar_one() > 0
    store("https://techwire.example/feed.xml", rss("Tech Wire", REWRITES[1:2]), now=NOW)
    story_of = stories_by_title()
    assert story_of[REWRITES[0][1]] != story_of[REWRITES[1][1]]
    with unit_of_work() as session:
        stale = select(func.count()).select_from(StoryBand).where(StoryBand.seen_at < NOW - STORY_WINDOW)
        assert session.execute(stale).scalar_one() == 0, "storing new articles prunes the index to the window"
        assert session.execute(select(func.count()).select_from(StoryBand)).scalar_one() > 0
        assert prune_story_bands(session, NOW + STORY_WINDOW + timedelta(seconds=1)) > 0


FEED_A = b"""<?xml version="1.0"?><rss version="2.0"><channel><title>Wire A</title>
<item><guid>a-1</guid><title>Moonshot AI releases Kimi K3 with a one-million-token context</title>
<link>https://news.example/kimi-k3?utm_source=rss&amp;utm_medium=feed</link>
<description>The Beijing start-up says the model beats its predecessor on coding.</description></item>
</channel></rss>"""
FEED_B = b"""<?xml version="1.0"?><rss version="2.0"><channel><title>Wire B</title>
<item><guid>b-77</guid><title>Moonshot AI releases Kimi K3 with a one-million-token context</title>
<link>https://NEWS.example/kimi-k3#comments</link>
<description>The Beijing start-up says the model beats its predecessor on coding.</description></item>
<item><guid>b-78</guid><title>An unrelated story about chip exports</title><link>https://other.example/chips</link></item>
</channel></rss>"""


def test_the_same_article_in_two_feeds_is_stored_once(polling, http_server: LocalHTTPServer) -> None:  # type: ignore[no-untyped-def]
    http_server.routes["/a.xml"] = Response(200, FEED_A)
    http_server.routes["/b.xml"] = Response(200, FEED_B)
    a, b = add(http_server.url("/a.xml")), add(http_server.url("/b.xml"))

    first, second = poll(a, polling), poll(b, polling)
    again = poll(b, polling)

    assert (first.new_articles, second.new_articles, again.new_articles) == (1, 1, 0)
    with unit_of_work() as session:
        articles = session.execute(select(Article).where(Article.title.like("Moonshot%"))).scalars().all()
        assert len(articles) == 1
        assert articles[0].canonical_url == "https://news.example/kimi-k3"
        outlets = (
            session.execute(select(FeedEntry.feed_id).where(FeedEntry.article_id == articles[0].id)).scalars().all()
        )
        assert sorted(outlets) == [a, b]
        assert session.execute(select(func.count()).select_from(FeedEntry)).scalar_one() == 3
