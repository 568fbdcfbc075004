"""The one reader of OpenCC's conversion tables (shipped as text files by opencc-python-reimplemented).

Script detection (services/ingest/chinese.py) and Traditional -> Simplified folding
(services/classify/normalise.py) both read them here, each table parsed once per process.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path


def opencc_dictionary_dir() -> Path | None:
    """The directory of OpenCC's tables, or None when the package is missing."""
    try:
        import opencc
    except ImportError:  # pragma: no cover - opencc is a declared dependency
        return None
    directory = Path(opencc.__file__).parent / "dictionary"
    return directory if directory.is_dir() else None


@lru_cache(maxsize=16)
def opencc_table(path: Path) -> dict[str, tuple[str, ...]]:
    """``source -> candidates`` of one table file (``source<TAB>cand1 cand2...`` lines); the first line of a
    source wins; a missing file is an empty table."""
    mapping: dict[str, tuple[str, ...]] = {}
    if not path.is_file():
        return mapping
    for line in path.read_text(encoding="utf-8").splitlines():
        parts = line.split("\t")
        if len(parts) >= 2 and parts[0] and parts[1].strip():
            mapping.setdefault(parts[0], tuple(parts[1].split()))
    return mapping


def opencc_tables(directory: Path, *names: str) -> dict[str, tuple[str, ...]]:
    """Several tables merged in order (the first that names a source wins)."""
    merged: dict[str, tuple[str, ...]] = {}
    for name in names:
        for source, candidates in opencc_table(directory / name).items():
            merged.setdefault(source, candidates)
    return merged
