"""Entry dedup in ``store_entries``: what a feed has shown before, and what another feed already brought.

Each feed keeps its own record of entry keys (``feed_entries``); an article is stored once, whichever
feeds carry it (same canonical URL or same fingerprint), and one feed document listing the same
article twice stores it once.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import event, func, select
from sqlalchemy.sql.dml import Insert

from db.models import Article, FeedEntry, Story
from services.database import engine_for, unit_of_work
from services.feeds.registry import FeedSpec, add_feed
from services.ingest.parse import parse_feed
from services.ingest.store import StoreResult, store_entries

NOW = datetime(2026, 12, 7, 9, 0, tzinfo=timezone.utc)


def rss(*items: tuple[str, str, str]) -> bytes:
    """An RSS document of (guid, link, title) items."""
    body = "".join(
        f"<item><guid isPermaLink='false'>{guid}</guid><link>{link}</link><title>{title}</title>"
        "<description>A harbour crane operator in Rotterdam tested a new scheduling system this week.</description>"
        "<pubDate>Mon, 07 Dec 2026 08:00:00 +0000</pubDate></item>"
        for guid, link, title in items
    )
    return f"<?xml version='1.0'?><rss version='2.0'><channel><title>t</title>{body}</channel></rss>".encode()


def store(feed_id: int, document: bytes) -> StoreResult:
    with unit_of_work() as session:
        return store_entries(session, feed_id, parse_feed(document, now=NOW), NOW)


def new_feed(url: str) -> int:
    with unit_of_work() as session:
        feed, _ = add_feed(session, FeedSpec(url=url))
        return feed.id


def counts() -> tuple[int, int, int]:
    with unit_of_work() as session:
        return (
            session.execute(select(func.count()).select_from(Article)).scalar_one(),
            session.execute(select(func.count()).select_from(FeedEntry)).scalar_one(),
            session.execute(select(func.count()).select_from(Story)).scalar_one(),
        )


def entries_of(feed_id: int) -> set[str]:
    with unit_of_work() as session:
        return set(session.execute(select(FeedEntry.entry_key).where(FeedEntry.feed_id == feed_id)).scalars())


@contextmanager
def rows_inserted() -> Iterator[Counter[str]]:
    """Rows each INSERT construct sent, by table, while the block runs (conflicting rows included)."""
    sent: Counter[str] = Counter()

    def count(conn: Any, clause: Any, multiparams: Any, params: Any, options: Any) -> None:
        if isinstance(clause, Insert):
            if multiparams and isinstance(multiparams[0], list):
                rows = len(multiparams[0])
            elif multiparams:
                rows = len(multiparams)  # executemany: one dict per row
            else:
                rows = 1
            sent[clause.table.name] += rows

    engine = engine_for()
    event.listen(engine, "before_execute", count)
    try:
        yield sent
    finally:
        event.remove(engine, "before_execute", count)


CRANE = ("crane-1", "https://port.example/news/crane", "Crane scheduling trial in Rotterdam")
FERRY = ("ferry-2", "https://port.example/news/ferry", "Night ferry timetable changes from January")


def test_a_document_stored_again_adds_nothing(polling) -> None:  # type: ignore[no-untyped-def]
    feed = new_feed("https://port.example/feed.xml")
    first = store(feed, rss(CRANE, FERRY))
    assert (first.new_entries, len(first.new_articles)) == (2, 2)
    again = store(feed, rss(CRANE, FERRY))
    assert (again.entries_seen, again.new_entries, again.new_articles) == (2, 0, [])
    assert counts() == (2, 2, 2)


def test_one_new_entry_beside_old_ones_is_the_only_one_stored(polling) -> None:  # type: ignore[no-untyped-def]
    feed = new_feed("https://port.example/feed.xml")
    store(feed, rss(CRANE))
    later = store(feed, rss(FERRY, CRANE))
    assert later.new_entries == 1
    assert [a.entry.title for a in later.new_articles] == [FERRY[2]]


def test_an_item_another_feed_brought_is_recorded_for_this_feed_without_a_new_article(polling) -> None:  # type: ignore[no-untyped-def]
    one = new_feed("https://port.example/feed.xml")
    two = new_feed("https://aggregator.example/feed.xml")
    store(one, rss(CRANE))
    # the same guid and link in a second feed: an entry of that feed, the article already known
    result = store(two, rss(CRANE))
    assert (result.new_entries, result.new_articles) == (1, [])
    assert entries_of(two) == entries_of(one) and len(entries_of(two)) == 1
    assert counts() == (1, 2, 1)
    # and the second feed's own next poll sees it as old
    assert store(two, rss(CRANE)).new_entries == 0


def test_an_article_under_another_guid_and_link_is_found_by_its_fingerprint(polling) -> None:  # type: ignore[no-untyped-def]
    one = new_feed("https://port.example/feed.xml")
    two = new_feed("https://mirror.example/feed.xml")
    store(one, rss(CRANE))
    copy = ("mirror-77", "https://mirror.example/2026/crane-trial", CRANE[2])
    with rows_inserted() as sent:
        result = store(two, rss(copy))
    assert (result.new_entries, result.new_articles) == (1, [])
    assert counts() == (1, 2, 1)
    assert sent["articles"] == 0 and sent["stories"] == 0, "a known article is looked up, not inserted and undone"


def test_an_article_under_another_guid_and_title_is_found_by_its_link(polling) -> None:  # type: ignore[no-untyped-def]
    one = new_feed("https://port.example/feed.xml")
    two = new_feed("https://mirror.example/feed.xml")
    store(one, rss(CRANE))
    retitled = ("mirror-78", CRANE[1] + "?utm_source=rss", "Rotterdam tests crane scheduling")
    with rows_inserted() as sent:
        result = store(two, rss(retitled))
    assert (result.new_entries, result.new_articles) == (1, [])
    assert counts() == (1, 2, 1)
    assert sent["articles"] == 0 and sent["stories"] == 0


def test_one_document_listing_an_article_twice_stores_it_once(polling) -> None:  # type: ignore[no-untyped-def]
    feed = new_feed("https://port.example/feed.xml")
    twice_by_link = ("crane-1b", CRANE[1], "Crane scheduling trial: update")
    twice_by_title = ("crane-1c", "https://port.example/news/crane-again", CRANE[2])
    with rows_inserted() as sent:
        result = store(feed, rss(CRANE, twice_by_link, twice_by_title))
    assert (sent["articles"], sent["stories"], sent["feed_entries"]) == (1, 1, 3), "one draft for the three entries"
    assert result.new_entries == 3
    assert len(result.new_articles) == 1
    assert counts() == (1, 3, 1)


def test_entries_after_a_known_article_are_still_stored(polling) -> None:  # type: ignore[no-untyped-def]
    one = new_feed("https://port.example/feed.xml")
    two = new_feed("https://aggregator.example/feed.xml")
    store(one, rss(CRANE))
    result = store(two, rss(CRANE, FERRY))  # the known article first, a new one after it
    assert result.new_entries == 2
    assert [a.entry.title for a in result.new_articles] == [FERRY[2]]
    assert len(entries_of(two)) == 2


def test_what_is_stored_records_its_feed_time_and_outlet(polling) -> None:  # type: ignore[no-untyped-def]
    feed = new_feed("https://port.example/feed.xml")  # no title of its own: the document's names the outlet
    document = rss(CRANE).replace(b"<title>t</title>", b"<title>Harbour Gazette</title>", 1)
    store(feed, document)
    with unit_of_work() as session:
        article = session.execute(select(Article)).scalar_one()
        entry = session.execute(select(FeedEntry)).scalar_one()
        story = session.execute(select(Story)).scalar_one()
        assert article.feed_id == feed and article.story_id == story.id
        assert entry.feed_id == feed and entry.article_id == article.id
        assert entry.first_seen_at.replace(tzinfo=timezone.utc) == NOW
        assert story.first_outlet == "Harbour Gazette"
