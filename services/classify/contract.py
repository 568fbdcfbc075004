"""The classification contract behind ``cnai classify`` (external evaluations depend on it).

Input: JSON Lines, one object per line with ``id``, ``title``, ``summary`` and optional
``link`` and ``lang``. Output: one JSON line per input record, in input order::

    {"id": ..., "relevant": true|false, "score": 0.0..1.0, "topics": [...], "entities": [...], "reasons": [...]}

and, on relevant items only, ``"priority": "high"|"normal"|"low"`` after ``reasons``
(irrelevant items have no ``priority`` key, never null),

written with ``ensure_ascii=False`` and flushed after every batch. A bad line (not JSON,
not an object, missing or non-string ``title``, non-string ``summary``) yields
``{"id": <id or null>, "error": "line N: ..."}`` (N: the input line number) and the run goes on. A missing or null summary
counts as "". Blank (whitespace-only) lines are not records: they are skipped and
produce no output. No database, no network.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, TextIO

from services.classify.article import ArticleText

BATCH_SIZE = 256


@dataclass
class StreamStats:
    records: int = 0
    errors: int = 0
    skipped_blank: int = 0
    error_lines: list[int] = field(default_factory=list)  # 1-based input line numbers of the malformed records


def parse_line(line: str) -> tuple[Any, ArticleText | None, str | None]:
    """(id, the article's text or None, error or None) for one input line."""
    try:
        row = json.loads(line)
    except json.JSONDecodeError as exc:
        return None, None, f"invalid JSON: {exc.msg} (column {exc.pos + 1})"
    except ValueError as exc:
        return None, None, f"invalid JSON: {exc}"
    if not isinstance(row, dict):
        return None, None, f"expected a JSON object, got {type(row).__name__}"
    record_id = row.get("id")
    title = row.get("title")
    if not isinstance(title, str):
        return (
            record_id,
            None,
            "missing title" if title is None else f"title must be a string, got {type(title).__name__}",
        )
    summary = row.get("summary")
    if summary is None:
        summary = ""
    elif not isinstance(summary, str):
        return record_id, None, f"summary must be a string, got {type(summary).__name__}"
    lang = row.get("lang") if isinstance(row.get("lang"), str) else None
    link = row.get("link") if isinstance(row.get("link"), str) else None
    return record_id, ArticleText(title=title, summary=summary, link=link, lang=lang), None


def classify_stream(lines: Iterable[str], out: TextIO, batch_size: int = BATCH_SIZE) -> StreamStats:
    """Classify JSON Lines from ``lines`` into ``out`` (see the module docstring)."""
    from services.classify.verdicts import score_articles

    stats = StreamStats()
    pending: list[tuple[Any, ArticleText | None, str | None]] = []

    def flush() -> None:
        articles = [article for _, article, _ in pending if article is not None]
        verdicts = iter(score_articles(articles))
        for record_id, article, error in pending:
            if article is None:
                result: dict[str, Any] = {"id": record_id, "error": error}
            else:
                v = next(verdicts)
                result = {
                    "id": record_id,
                    "relevant": v.relevant,
                    "score": v.score,
                    "topics": v.topics,
                    "entities": v.entities,
                    "reasons": v.reasons,
                }
                if v.relevant:  # irrelevant items carry no priority key at all
                    result["priority"] = v.priority
            out.write(json.dumps(result, ensure_ascii=False) + "\n")
        out.flush()
        pending.clear()

    for number, line in enumerate(lines, 1):
        if not line.strip():
            stats.skipped_blank += 1
            continue
        record_id, article, error = parse_line(line)
        if article is None:
            stats.errors += 1
            stats.error_lines.append(number)
            error = f"line {number}: {error}"
        else:
            stats.records += 1
        pending.append((record_id, article, error))
        if len(pending) >= batch_size:
            flush()
    if pending:
        flush()
    return stats
