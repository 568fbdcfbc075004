"""Poll hostile feeds between good ones in one real cycle, and read back what the operator would see."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import func, select

from db.models import Article, Base, Feed, FeedEntry, FetchLog
from services.cycle import CycleReport, run_cycle
from services.database import unit_of_work
from services.feeds.registry import FeedSpec, add_feed
from services.settings import Settings
from tests.hostile.corpus import CORPUS, Outcome
from tests.support.http import LocalHTTPServer, Response

GOOD_TITLES = sorted(
    [
        "Lighthouse keepers of the Baltic coast share their winter routines",
        "Orchard growers in Normandy report a record cider apple harvest",
        "A volunteer choir restores a forgotten eighteenth-century oratorio",
    ]
)


@dataclass
class PolledCycle:
    report: CycleReport
    feed_ids: dict[str, int]

    def outcome(self, name: str, server: LocalHTTPServer) -> Outcome:
        feed_id = self.feed_ids[name]
        polled = {r.feed_id: r for r in self.report.feeds}
        assert feed_id in polled, f"feed {name} was not polled in the cycle"
        with unit_of_work() as session:
            feed = session.get(Feed, feed_id)
            assert feed is not None
            log = (
                session.execute(select(FetchLog).where(FetchLog.feed_id == feed_id).order_by(FetchLog.id.desc()))
                .scalars()
                .first()
            )
            articles = list(
                session.execute(
                    select(Article)
                    .join(FeedEntry, FeedEntry.article_id == Article.id)
                    .where(FeedEntry.feed_id == feed_id)
                ).scalars()
            )
            entries = session.execute(
                select(func.count()).select_from(FeedEntry).where(FeedEntry.feed_id == feed_id)
            ).scalar_one()
            return Outcome(
                status=polled[feed_id].status,
                error=log.error if log else polled[feed_id].error,
                last_error=feed.last_error,
                consecutive_failures=feed.consecutive_failures,
                feed_title=feed.title,
                entries=entries,
                articles=articles,
                duration_ms=log.duration_ms if log else None,
                requests=[r.path for r in server.requests],
            )


def serve_good_feeds(server: LocalHTTPServer) -> list[str]:
    body = (CORPUS / "good.xml").read_bytes()
    server.routes["/good-a.xml"] = Response(200, body, {"Content-Type": "application/rss+xml"})
    server.routes["/good-b.xml"] = Response(200, body, {"Content-Type": "application/rss+xml"})
    return [server.url("/good-a.xml"), server.url("/good-b.xml")]


def poll_between_good_feeds(settings: Settings, good: list[str], hostile: dict[str, str]) -> PolledCycle:
    """Register good-a, every hostile feed, then good-b (in that polling order) and run one cycle."""
    ids: dict[str, int] = {}
    with unit_of_work() as session:
        for name, url in [("good-a", good[0]), *hostile.items(), ("good-b", good[1])]:
            feed, _ = add_feed(session, FeedSpec(url=url))
            ids[name] = feed.id
    return PolledCycle(run_cycle(settings, include_not_due=True), ids)


def assert_good_feeds_unharmed(cycle: PolledCycle) -> None:
    with unit_of_work() as session:
        for name in ("good-a", "good-b"):
            feed = session.get(Feed, cycle.feed_ids[name])
            assert feed is not None and feed.last_error is None and feed.consecutive_failures == 0, (
                f"{name} was harmed by its neighbour: {feed and feed.last_error}"
            )
            titles = sorted(
                session.execute(
                    select(Article.title)
                    .join(FeedEntry, FeedEntry.article_id == Article.id)
                    .where(FeedEntry.feed_id == feed.id)
                ).scalars()
            )
            assert titles == GOOD_TITLES, f"{name} stored {titles}"


def database_text() -> str:
    """Every row of every table, as text: for checking that a secret never reached the database."""
    with unit_of_work() as session:
        return "\n".join(
            repr(tuple(row)) for table in Base.metadata.sorted_tables for row in session.execute(table.select())
        )


def write_secret(directory: Path, marker: str) -> Path:
    path = directory / "secret.txt"
    path.write_text(marker + "\n")
    return path
