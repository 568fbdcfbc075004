"""How fast are the admin queries of docs/admin-queries.sql on a year of data?

Creates its own database on the server of ``BENCH_DATABASE_URL`` (default: the local
PostgreSQL), migrates it, loads ``BENCH_ARTICLES`` generated articles (default 100,000) with
everything around them, runs each query once to warm up and five times more, prints the
median per query and, last, one JSON line. The database is dropped at the end.
Target: every query under 200 ms at 100,000 articles.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import create_engine, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from bench.support.admin_data import load_admin_dataset  # noqa: E402
from bench.support.query_catalogue import read_admin_queries  # noqa: E402
from services.migrations import upgrade_database  # noqa: E402

SERVER_URL = os.environ.get("BENCH_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
ARTICLES = int(os.environ.get("BENCH_ARTICLES", "100000"))
RUNS = 5


def main() -> None:
    name = f"cnai_bench_admin_{uuid.uuid4().hex[:8]}"
    server = create_engine(SERVER_URL, isolation_level="AUTOCOMMIT")
    with server.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(SERVER_URL).set(database=name).render_as_string(hide_password=False)
    engine = create_engine(url)
    try:
        started = time.perf_counter()
        upgrade_database(url)
        counts = load_admin_dataset(engine, articles=ARTICLES)
        print(f"loaded {counts} in {time.perf_counter() - started:.1f} s", flush=True)
        print(
            f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs (a busy machine inflates every time)",
            flush=True,
        )
        timings: dict[str, float] = {}
        with engine.connect() as connection:
            for query in read_admin_queries():
                rows = len(connection.execute(text(query.sql)).all())
                runs = []
                for _ in range(RUNS):
                    start = time.perf_counter()
                    connection.execute(text(query.sql)).all()
                    runs.append((time.perf_counter() - start) * 1000)
                timings[query.name] = statistics.median(runs)
                print(f"{query.name:45s} {timings[query.name]:8.1f} ms  {rows:6d} rows", flush=True)
    finally:
        engine.dispose()
        with server.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        server.dispose()
    slowest = max(timings, key=timings.__getitem__)
    print(
        json.dumps(
            {
                "bench": "admin_queries",
                "articles": counts["articles"],
                "queries": len(timings),
                "max_ms": round(timings[slowest], 1),
                "median_ms": round(statistics.median(timings.values()), 1),
                "slowest": slowest,
            }
        )
    )


if __name__ == "__main__":
    main()
