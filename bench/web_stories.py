"""How fast are the web app's story list and search on PostgreSQL at 100,000 articles?

Creates its own database on the server of ``BENCH_DATABASE_URL`` (default: the local
PostgreSQL), migrates it, loads ``BENCH_ARTICLES`` generated articles (default 100,000; the
admin benchmark's data set: English and Chinese, stories of several outlets, alerts), starts a
real ``cnai web`` process, logs in through the form and requests pages over HTTP: the story
list under each filter (priority, topic, entity, language, source, dates, pages further back)
and searches in English and Chinese. Each request is made ``RUNS`` times after a warm-up; the
p95 over all list requests and over all search requests is printed, then one JSON line.
Target: list and search p95 < 300 ms. The database is dropped at the end.
"""

from __future__ import annotations

import json
import os
import re
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

import httpx  # noqa: E402
from sqlalchemy import create_engine, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from bench.support.admin_data import load_admin_dataset  # noqa: E402
from services.migrations import upgrade_database  # noqa: E402

SERVER_URL = os.environ.get("BENCH_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
ARTICLES = int(os.environ.get("BENCH_ARTICLES", "100000"))
RUNS = int(os.environ.get("BENCH_RUNS", "10"))
CNAI = str(Path(sys.executable).parent / "cnai")
PASSWORD = "bench password 1"

LIST_QUERIES = [
    "",
    "show=relevant",
    "show=all",
    "page=5",
    "show=all&page=40",
    "topic=regulation",
    "topic=chips_and_export_controls&show=relevant",
    "entity=DeepSeek",
    "entity=Huawei&show=relevant",
    "language=zh",
    "language=en&show=relevant",
    "language=zh-Hant",
    "source=7",
    "source=150&show=all",
    "since={month_ago}",
    "since={quarter_ago}&until={month_ago}",
    "topic=regulation&language=zh&show=relevant",
]
SEARCH_QUERIES = [
    "q=export+controls",
    "q=generative+AI",
    "q=DeepSeek",
    "q=computing+power",
    "q=%E7%AE%97%E5%8A%9B",
    "q=%E8%8A%AF%E7%89%87",
    "q=%E5%A4%A7%E6%A8%A1%E5%9E%8B",
    "q=%E7%94%9F%E6%88%90%E5%BC%8F%E4%BA%BA%E5%B7%A5%E6%99%BA%E8%83%BD",
    "q=Huawei+%E6%98%87%E8%85%BE",
    "q=export+controls&show=all",
    "q=%E7%AE%97%E5%8A%9B&show=all",
    "q=subsidies&language=en",
    "q=nothing-matches-this-word&show=all",
]


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[max(0, int(round(0.95 * len(ordered))) - 1)]


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def main() -> None:
    name = f"cnai_bench_web_{uuid.uuid4().hex[:8]}"
    server = create_engine(SERVER_URL, isolation_level="AUTOCOMMIT")
    with server.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(SERVER_URL).set(database=name).render_as_string(hide_password=False)
    engine = create_engine(url)
    process = None
    try:
        started = time.perf_counter()
        upgrade_database(url)
        counts = load_admin_dataset(engine, articles=ARTICLES)
        print(
            f"loaded {counts['articles']} articles, {counts.get('stories', '?')} stories in {time.perf_counter() - started:.1f} s",
            flush=True,
        )
        print(
            f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs (a busy machine inflates every time)",
            flush=True,
        )
        env = {
            **os.environ,
            "DATABASE_URL": url,
            "WEB_SECRET_KEY": uuid.uuid4().hex * 2,
            "PYTHONPATH": str(REPO_ROOT),
            "LOG_LEVEL": "WARNING",
        }
        subprocess.run(
            [CNAI, "users", "add", "bench", "--role", "reader", "--password-stdin"],
            input=PASSWORD + "\n",
            env=env,
            check=True,
            text=True,
            capture_output=True,
        )
        port = free_port()
        process = subprocess.Popen(
            [CNAI, "web", "--port", str(port)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        base = f"http://127.0.0.1:{port}"
        client = httpx.Client(base_url=base, timeout=30)
        for _ in range(100):
            try:
                if client.get("/healthz").status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        form = client.get("/login").text
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)  # type: ignore[union-attr]
        assert (
            client.post("/login", data={"username": "bench", "password": PASSWORD, "csrf_token": csrf}).status_code
            == 303
        )
        with engine.connect() as connection:
            newest = connection.execute(text("SELECT max(first_seen_at) FROM stories")).scalar_one()
        month_ago = (newest.replace(microsecond=0) - __import__("datetime").timedelta(days=30)).date().isoformat()
        quarter_ago = (newest.replace(microsecond=0) - __import__("datetime").timedelta(days=90)).date().isoformat()

        def measure(queries: list[str]) -> tuple[list[float], dict[str, float]]:
            times: list[float] = []
            medians: dict[str, float] = {}
            for query in queries:
                path = "/stories?" + query.format(month_ago=month_ago, quarter_ago=quarter_ago)
                response = client.get(path)
                assert response.status_code == 200, (path, response.status_code)
                runs = []
                for _ in range(RUNS):
                    start = time.perf_counter()
                    client.get(path)
                    runs.append((time.perf_counter() - start) * 1000)
                times += runs
                medians[query] = statistics.median(runs)
                shown = response.text.count('class="story"')
                print(
                    f"{path[:70]:70s} median {medians[query]:7.1f} ms  max {max(runs):7.1f} ms  {shown:3d} stories",
                    flush=True,
                )
            return times, medians

        list_times, list_medians = measure(LIST_QUERIES)
        search_times, search_medians = measure(SEARCH_QUERIES)
    finally:
        if process is not None:
            process.terminate()
            process.wait(10)
        engine.dispose()
        with server.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        server.dispose()
    slowest = max({**list_medians, **search_medians}.items(), key=lambda kv: kv[1])
    print(
        json.dumps(
            {
                "bench": "web_stories",
                "articles": counts["articles"],
                "requests": len(list_times) + len(search_times),
                "list_p95_ms": round(p95(list_times), 1),
                "search_p95_ms": round(p95(search_times), 1),
                "list_median_ms": round(statistics.median(list_times), 1),
                "search_median_ms": round(statistics.median(search_times), 1),
                "slowest": slowest[0],
                "target_ms": 300,
            }
        )
    )


if __name__ == "__main__":
    main()
