"""Benchmark of the relevance classifier.

1. ``score_article`` throughput in one process: titles + ~600-character summaries built
   from dev.jsonl and the seed articles, repeated to at least 10,000 items.
2. Wall time of ``cnai classify`` (a subprocess, interpreter start-up included) on
   10,000 JSON lines.

Last line printed: ``{"bench": "classify", "articles": N, "articles_per_s": X, "cli_10k_s": Y}``.
Target: >= 5,000 articles/s and < 5 s for the CLI. Run: ``.venv/bin/python bench/classify.py``.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))
SHARED = Path(os.environ.get("CNAI_SHARED_DIR", REPO_ROOT.parent / "shared"))
MIN_ITEMS = 10_000
SUMMARY_CHARS = 600


def corpus() -> list[dict[str, str]]:
    """Title + ~600-char summary pairs from dev.jsonl and the seeds (summaries padded by repetition)."""
    base: list[dict[str, str]] = []
    dev = SHARED / "eval" / "dev.jsonl"
    if dev.is_file():
        for line in dev.read_text(encoding="utf-8").splitlines():
            if line.strip():
                row = json.loads(line)
                base.append({"title": row["title"], "summary": row.get("summary") or "", "lang": row.get("lang"), "link": row.get("link")})
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
    items = []
    while len(items) < MIN_ITEMS:
        items.extend(base)
    return items


def bench_score_article(items: list[dict[str, str]]) -> float:
    from services.classify import score_article

    score_article("warm-up: DeepSeek 发布新模型", "")
    start = time.perf_counter()
    for item in items:
        score_article(item["title"], item["summary"], item["lang"], item["link"])
    return len(items) / (time.perf_counter() - start)


def cnai_executable() -> list[str]:
    candidate = Path(sys.executable).parent / "cnai"
    if candidate.exists():
        return [str(candidate)]
    return [sys.executable, "-c", "from cli.main import cli; cli()"]


def bench_cli(items: list[dict[str, str]]) -> float:
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "articles.jsonl"
        with path.open("w", encoding="utf-8") as out:
            for n, item in enumerate(items[:MIN_ITEMS]):
                out.write(json.dumps({"id": n, **item}, ensure_ascii=False) + "\n")
        start = time.perf_counter()
        result = subprocess.run([*cnai_executable(), "classify", str(path)], capture_output=True, cwd=REPO_ROOT)
        elapsed = time.perf_counter() - start
    if result.returncode != 0:
        raise SystemExit(f"cnai classify failed ({result.returncode}): {result.stderr.decode()[-2000:]}")
    lines = result.stdout.decode().splitlines()
    if len(lines) != MIN_ITEMS:
        raise SystemExit(f"cnai classify wrote {len(lines)} lines for {MIN_ITEMS} inputs")
    return elapsed


def main() -> None:
    from services.classify import CLASSIFIER_VERSION

    items = corpus()
    rate = bench_score_article(items)
    print(f"score_article: {len(items)} articles, {rate:,.0f} articles/s ({CLASSIFIER_VERSION})")
    cli_seconds = bench_cli(items)
    print(f"cnai classify: {MIN_ITEMS} lines in {cli_seconds:.2f} s")
    print(json.dumps({"bench": "classify", "articles": len(items), "articles_per_s": round(rate), "cli_10k_s": round(cli_seconds, 3)}))


if __name__ == "__main__":
    main()
