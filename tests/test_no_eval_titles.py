"""No test is tuned to the evaluation data: no title (12+ characters) of ../shared/eval/*.jsonl appears under tests/.

Behaviour tests use inputs written for them; the held-out gate (tests/classify/test_evaluate.py) reads the
shared file at run time instead of copying from it. Titles are compared after NFKC folding, case folding and
whitespace collapsing, so a copy with changed spacing or full-width forms is found too.
"""

from __future__ import annotations

import json
import re
import unicodedata
from pathlib import Path

from tests.conftest import SHARED
from tests.support.services import require_file

TESTS = Path(__file__).resolve().parent
MIN_CHARS = 12
TEXT_SUFFIXES = {
    ".py",
    ".txt",
    ".json",
    ".jsonl",
    ".xml",
    ".yaml",
    ".yml",
    ".md",
    ".html",
    ".csv",
    ".opml",
    ".rss",
    ".atom",
    "",
}
_SPACE = re.compile(r"\s+")


def folded(text: str) -> str:
    return _SPACE.sub(" ", unicodedata.normalize("NFKC", text).casefold()).strip()


def eval_titles() -> set[str]:
    files = sorted(require_file(SHARED / "eval").glob("*.jsonl"))
    assert files, f"no *.jsonl under {SHARED / 'eval'}"
    titles = set()
    for path in files:
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                title = folded(str(json.loads(line).get("title") or ""))
                if len(title) >= MIN_CHARS:
                    titles.add(title)
    return titles


def test_no_eval_title_appears_under_tests() -> None:
    titles = eval_titles()
    assert len(titles) > 100, "the eval files hold a few hundred titles"
    found = []
    for path in sorted(TESTS.rglob("*")):
        if not path.is_file() or path.suffix.lower() not in TEXT_SUFFIXES or "__pycache__" in path.parts:
            continue
        try:
            text = folded(path.read_text(encoding="utf-8"))
        except UnicodeDecodeError:
            continue
        found += [f"{path.relative_to(TESTS)}: {title[:40]}..." for title in titles if title in text]
    assert found == [], "eval titles copied into tests (write fresh inputs):\n" + "\n".join(found)


def test_folding_finds_a_copy_with_other_spacing_and_width() -> None:
    assert folded("Ｃhina  AI\tRules") == folded("china ai rules")
