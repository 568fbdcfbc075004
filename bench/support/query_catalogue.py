"""The admin queries of docs/admin-queries.sql, read into named, tagged statements."""

from __future__ import annotations

import re
from pathlib import Path
from typing import NamedTuple

ADMIN_QUERIES = Path(__file__).resolve().parents[2] / "docs" / "admin-queries.sql"


class AdminQuery(NamedTuple):
    name: str
    question: str
    selective: bool
    sql: str


def read_admin_queries(path: Path = ADMIN_QUERIES) -> list[AdminQuery]:
    """Split the file at ``-- name:`` lines; comments up to the SQL are the question."""
    queries = []
    for block in re.split(r"^-- name: ", path.read_text(encoding="utf-8"), flags=re.MULTILINE)[1:]:
        name, _, body = block.partition("\n")
        comments = [line[2:].strip() for line in body.splitlines() if line.startswith("--")]
        tags = dict(re.findall(r"^(\w+): (\S+)$", "\n".join(comments), flags=re.MULTILINE))
        question = " ".join(c for c in comments if not re.match(r"^\w+: \S+$", c))
        sql = "\n".join(line for line in body.splitlines() if not line.startswith("--")).strip()
        if not sql.endswith(";") or sql.count(";") != 1:
            raise ValueError(f"query {name!r}: expected one statement ending with ';'")
        queries.append(AdminQuery(name.strip(), question, tags.get("selective") == "true", sql.rstrip(";").strip()))
    return queries
