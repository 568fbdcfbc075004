"""The ingestion benchmark's corpus: the shared bench feeds, multiplied into many distinct feeds.

Copy 0 of each file is served byte for byte; copy k > 0 has every GUID, Atom id and link
rewritten (``-ck`` / ``?cnaicopy=k``) so each copy is a distinct feed with distinct entries,
as the same articles syndicated by another outlet would be. Titles and summaries stay as
published, so across copies the articles are the same (deduplicated by fingerprint).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]

_ID = re.compile(rb"(<(?:guid|id)\b[^>]*>\s*(?:<!\[CDATA\[)?\s*)([^<\]\s][^<\]]*?)(\s*(?:\]\]>)?\s*</(?:guid|id)>)")
_LINK_TEXT = re.compile(rb"(<link>\s*(?:<!\[CDATA\[)?\s*)(https?://[^<\]\s]+)")
_LINK_HREF = re.compile(rb"(<link\b[^>]*?\bhref=[\"'])(https?://[^\"']+)")
_ABOUT = re.compile(rb"(\brdf:about=[\"'])(https?://[^\"']+)")


def shared_dir() -> Path:
    return Path(os.environ.get("CNAI_SHARED_DIR", REPO_ROOT.parent / "shared"))


def bench_files() -> list[Path]:
    files = sorted((shared_dir() / "feeds" / "bench").glob("*.xml"))
    if not files:
        raise SystemExit(f"no bench feeds under {shared_dir() / 'feeds' / 'bench'} (set CNAI_SHARED_DIR)")
    return files


def copies_for(feeds: int, files: int) -> int:
    return -(-feeds // files)


def feed_path(copy: int, name: str) -> str:
    return f"/c{copy}/{name}"


_TITLE = re.compile(rb"(<title\b[^>]*>\s*(?:<!\[CDATA\[)?)")


def rewritten(body: bytes, copy: int, unique: bool = False) -> bytes:
    """The document with distinct ids and links for ``copy`` (copy 0 unchanged); with ``unique`` also
    distinct titles, so every entry of every copy is a new article rather than a duplicate."""
    if copy == 0:
        return body
    tag = f"-c{copy}".encode()
    if unique:
        body = _TITLE.sub(lambda m: m.group(1) + f"[{copy}] ".encode(), body)

    def url(match: re.Match[bytes]) -> bytes:
        link = match.group(2)
        joiner = b"&amp;" if b"?" in link else b"?"
        return match.group(1) + link + joiner + f"cnaicopy={copy}".encode()

    body = _ID.sub(lambda m: m.group(1) + m.group(2) + tag + m.group(3), body)
    body = _LINK_TEXT.sub(url, body)
    body = _LINK_HREF.sub(url, body)
    return _ABOUT.sub(url, body)


def corpus(copies: int, unique: bool = False) -> Iterator[tuple[str, bytes]]:
    """(path, body) of every feed, generated on the fly (nothing held in memory)."""
    files = bench_files()
    for copy in range(copies):
        for file in files:
            yield feed_path(copy, file.name), rewritten(file.read_bytes(), copy, unique)
