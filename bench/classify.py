"""Benchmark of the relevance classifier.

1. ``score_article`` throughput in one process: titles + ~600-character summaries built
   from dev.jsonl and the seed articles, repeated to at least 10,000 items.
2. Wall time of ``cnai classify`` (a subprocess, interpreter start-up included) on
   10,000 JSON lines.

Last line printed: ``{"bench": "classify", "articles": N, "articles_per_s": X, "articles_per_cpu_s": C, "cli_10k_s": Y}``
(C: articles per second of this process's CPU time, less distorted on a busy machine; the
CLI's CPU seconds are printed too).
Target: >= 5,000 articles/s and < 5 s for the CLI. Run: ``.venv/bin/python bench/classify.py``.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))
SHARED = Path(os.environ.get("CNAI_SHARED_DIR", REPO_ROOT.parent / "shared"))
MIN_ITEMS = 10_000
SUMMARY_CHARS = 600


def corpus() -> list[dict[str, Any]]:
    """Title + ~600-char summary pairs from dev.jsonl and the seeds (summaries padded by repetition)."""
    base: list[dict[str, Any]] = []
    dev = SHARED / "eval" / "dev.jsonl"
    if dev.is_file():
        for line in dev.read_text(encoding="utf-8").splitlines():
            if line.strip():
                row = json.loads(line)
                base.append(
                    {
                        "title": row["title"],
                        "summary": row.get("summary") or "",
                        "lang": row.get("lang"),
                        "link": row.get("link"),
                    }
                )
    for path in sorted((SHARED / "seeds").glob("*.txt")):
        lines = [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        if lines:
            base.append({"title": lines[0], "summary": " ".join(lines[1:]), "lang": None, "link": None})
    if not base:
        raise SystemExit(f"no dev.jsonl or seeds under {SHARED}")
    for item in base:
        summary = item["summary"] or item["title"]
        while len(summary) < SUMMARY_CHARS:
            summary = f"{summary} {item['summary'] or item['title']}"
        item["summary"] = summary[:SUMMARY_CHARS]
    items: list[dict[str, Any]] = []
    while len(items) < MIN_ITEMS:
        items.extend(base)
    return items


def bench_score_article(items: list[dict[str, Any]]) -> tuple[float, float]:
    """Articles per second of wall time and of this process's CPU time (the latter is what a
    busy machine, with other processes competing for the cores, distorts least)."""
    from services.classify import score_article

    score_article("warm-up: DeepSeek 发布新模型", "")
    start, cpu_start = time.perf_counter(), time.process_time()
    for item in items:
        score_article(item["title"], item["summary"], item["lang"], item["link"])
    return len(items) / (time.perf_counter() - start), len(items) / (time.process_time() - cpu_start)


def cnai_executable() -> list[str]:
    candidate = Path(sys.executable).parent / "cnai"
    if candidate.exists():
        return [str(candidate)]
    return [sys.executable, "-c", "from cli.main import cli; cli()"]


def _children_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def bench_cli(items: list[dict[str, Any]]) -> tuple[float, float]:
    """Wall seconds and CPU seconds (user + system) of one ``cnai classify`` run on 10,000 lines."""
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "articles.jsonl"
        with path.open("w", encoding="utf-8") as out:
            for n, item in enumerate(items[:MIN_ITEMS]):
                out.write(json.dumps({"id": n, **item}, ensure_ascii=False) + "\n")
        start, cpu_start = time.perf_counter(), _children_cpu_seconds()
        result = subprocess.run([*cnai_executable(), "classify", str(path)], capture_output=True, cwd=REPO_ROOT)
        elapsed, cpu = time.perf_counter() - start, _children_cpu_seconds() - cpu_start
    if result.returncode != 0:
        raise SystemExit(f"cnai classify failed ({result.returncode}): {result.stderr.decode()[-2000:]}")
    lines = result.stdout.decode().splitlines()
    if len(lines) != MIN_ITEMS:
        raise SystemExit(f"cnai classify wrote {len(lines)} lines for {MIN_ITEMS} inputs")
    return elapsed, cpu


def main() -> None:
    from services.classify import CLASSIFIER_VERSION

    items = corpus()
    rate, cpu_rate = bench_score_article(items)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(
        f"score_article: {len(items)} articles, {rate:,.0f} articles/s wall, {cpu_rate:,.0f} per CPU second"
        f" ({CLASSIFIER_VERSION}; load average {load:.1f} on {os.cpu_count()} CPUs)"
    )
    cli_seconds, cli_cpu_seconds = bench_cli(items)
    print(f"cnai classify: {MIN_ITEMS} lines in {cli_seconds:.2f} s ({cli_cpu_seconds:.2f} CPU s)")
    print(
        json.dumps(
            {
                "bench": "classify",
                "articles": len(items),
                "articles_per_s": round(rate),
                "articles_per_cpu_s": round(cpu_rate),
                "cli_10k_s": round(cli_seconds, 3),
                "cli_10k_cpu_s": round(cli_cpu_seconds, 3),
            }
        )
    )


if __name__ == "__main__":
    main()
