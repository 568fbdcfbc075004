"""Ingestion benchmark: the 44 shared bench feeds multiplied into >= 500 feeds, polled twice over local HTTP.

Measures, in one run and one process:
- the first poll (``run_cycle``: fetch, parse, normalise, dedupe, cluster, classify, store) in entries/s,
- bare ``feedparser.parse`` (defaults) over the same bytes, and the ratio of the two,
- the second poll, when nothing changed (share of 304 answers; nothing but fetch_log and the feeds'
  schedule may be written),
- a 50 MB feed (streamed, then with a declared length) refused at FETCH_MAX_BYTES, and peak RSS.

The feed server runs in its own process (bench/support/feedserver.py) so it does not share this
process's interpreter. Per-host politeness is switched off here (FETCH_PER_HOST_GAP_SECONDS=0,
8 concurrent requests): every feed is on 127.0.0.1, and the benchmark measures the pipeline, not
the politeness delays.

Environment: CNAI_SHARED_DIR (default ../shared), BENCH_FEEDS (default 500), BENCH_DATABASE_URL
(default a fresh SQLite file), BENCH_UNIQUE=1 (every copy's titles made distinct too, so every
entry is a new article instead of most being cross-feed duplicates; new_articles_per_s is
reported in both modes), BENCH_FEEDPARSER_COPIES (how many copies of the 44 files the
baseline parses: default 3, i.e. a quarter of the bytes the first poll ingested, each file in
full, to keep the whole benchmark within a few minutes; "all" parses every byte the poll did).
"""

from __future__ import annotations

import io
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.support.feedcorpus import bench_files, copies_for, corpus  # noqa: E402


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def start_server(copies: int, unique: bool) -> tuple[subprocess.Popen[str], int]:
    server = subprocess.Popen(
        [
            sys.executable,
            str(Path(__file__).parent / "support" / "feedserver.py"),
            str(copies),
            *(["unique"] if unique else []),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert server.stdout is not None
    return server, int(server.stdout.readline())


def configure(database_url: str) -> None:
    os.environ.update(
        {
            "DATABASE_URL": database_url,
            "FETCH_ALLOWED_NETWORKS": "127.0.0.0/8",
            "FETCH_PER_HOST_GAP_SECONDS": "0",
            "FETCH_PER_HOST_CONCURRENCY": "8",
            "FETCH_DEADLINE_SECONDS": "60",
            "LOG_LEVEL": "WARNING",
        }
    )
    for name in ("SLACK_WEBHOOK_URL", "SMTP_URL", "ALERT_EMAIL_TO", "SENTRY_DSN"):
        os.environ.pop(name, None)


def refuse_huge(base: str) -> list[str]:
    from services.ingest.fetch import FetchError, fetch_feed
    from services.settings import get_settings

    reasons = []
    for path in ("/huge", "/huge-declared"):
        try:
            fetch_feed(base + path, get_settings())
        except FetchError as exc:
            reasons.append(exc.reason)
        else:
            raise SystemExit(f"{path}: a 50 MB feed was accepted")
    return reasons


def counts() -> dict[str, int]:
    from sqlalchemy import func, select

    from db.models import Article, Classification, FeedEntry, FetchLog, Story, StoryBand
    from services.database import unit_of_work

    with unit_of_work() as session:
        return {
            model.__tablename__: session.execute(select(func.count()).select_from(model)).scalar_one()
            for model in (Article, FeedEntry, Story, StoryBand, Classification, FetchLog)
        }


def bare_feedparser(copies: int) -> tuple[int, float]:
    import feedparser

    entries = 0
    elapsed = 0.0
    for _path, body in corpus(copies):
        started = time.perf_counter()
        entries += len(feedparser.parse(io.BytesIO(body)).entries)
        elapsed += time.perf_counter() - started
    return entries, elapsed


def main() -> None:
    wanted = int(os.environ.get("BENCH_FEEDS", "500"))
    files = bench_files()
    copies = copies_for(wanted, len(files))
    workdir = Path(tempfile.mkdtemp(prefix="cnai-bench-ingest-"))
    database_url = os.environ.get("BENCH_DATABASE_URL") or f"sqlite:///{workdir / 'bench.db'}"
    configure(database_url)

    from services.cycle import run_cycle
    from services.database import unit_of_work
    from services.feeds.registry import FeedSpec, add_feed
    from services.migrations import upgrade_database
    from services.settings import get_settings

    upgrade_database(database_url)
    unique = os.environ.get("BENCH_UNIQUE", "") not in ("", "0", "false")
    server, port = start_server(copies, unique)
    base = f"http://127.0.0.1:{port}"
    try:
        reasons = refuse_huge(base)
        rss_after_huge = rss_mb()
        print(f"50 MB feed refused ({'; '.join(reasons)}); peak RSS so far {rss_after_huge:.0f} MB", flush=True)

        settings = get_settings()
        paths = [path for path, _ in corpus(copies, unique)]
        with unit_of_work() as session:
            for path in paths:
                add_feed(session, FeedSpec(url=base + path))
        print(f"{len(paths)} feeds ({len(files)} files x {copies} copies) on {database_url.split(':')[0]}", flush=True)

        wanted_copies = os.environ.get("BENCH_FEEDPARSER_COPIES", "3")
        baseline_copies = copies if wanted_copies == "all" else min(copies, int(wanted_copies))
        fp_entries, fp_s = bare_feedparser(baseline_copies)
        fp_rate = fp_entries / fp_s
        print(f"bare feedparser.parse: {fp_entries} entries in {fp_s:.1f} s over {baseline_copies} copies", flush=True)

        started = time.perf_counter()
        first = run_cycle(settings, include_not_due=True)
        first_s = time.perf_counter() - started
        entries = sum(r.entries for r in first.feeds)
        after_first = counts()
        failed = [(r.feed_id, r.error) for r in first.feeds if r.status == "error"]
        print(
            f"first poll: {first.feeds_polled} feeds, {entries} entries, {first.new_articles} new articles, "
            f"{len(failed)} failed {failed[:3]}, {first_s:.1f} s; rows {after_first}",
            flush=True,
        )

        started = time.perf_counter()
        second = run_cycle(settings, include_not_due=True)
        second_s = time.perf_counter() - started
        after_second = counts()
        not_modified = sum(r.status == "not_modified" for r in second.feeds)
        unchanged = {k: v for k, v in after_second.items() if k != "fetch_log"} == {
            k: v for k, v in after_first.items() if k != "fetch_log"
        }
        print(
            f"second poll: {second.feeds_polled} feeds, {not_modified} not modified, {second_s:.2f} s "
            f"({100 * second_s / first_s:.1f}% of the first); rows other than fetch_log unchanged: {unchanged}",
            flush=True,
        )
    finally:
        server.terminate()
        server.wait(10)

    rate = entries / first_s
    print(
        json.dumps(
            {
                "bench": "ingest",
                "feeds": len(paths),
                "entries": entries,
                "first_poll_s": round(first_s, 2),
                "entries_per_s": round(rate, 1),
                "unique_entries": unique,
                "new_articles": first.new_articles,
                "new_articles_per_s": round(first.new_articles / first_s, 1),
                "feedparser_entries_per_s": round(fp_rate, 1),
                "ratio_vs_feedparser": round(rate / fp_rate, 3),
                "second_poll_s": round(second_s, 2),
                "second_poll_304_share": round(not_modified / max(second.feeds_polled, 1), 4),
                "peak_rss_mb": round(rss_mb(), 1),
            }
        )
    )


if __name__ == "__main__":
    main()
