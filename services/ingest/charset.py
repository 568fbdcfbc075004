"""Bytes of a feed → text, whatever the document claims its charset is.

Order: a byte-order mark wins; then valid UTF-8 is UTF-8 (a document that declares GBK
or Big5 but is really UTF-8 is common); then the declared charset (XML declaration,
then HTTP header) if the bytes decode with it; then GB18030 and Big5, scored by how
many frequent Chinese characters each decoding yields (Big5 bytes read as GBK give
private-use and rare characters, and the reverse); then Windows-1252.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

_DECLARATION = re.compile(rb"^\s*<\?xml[^>]{0,200}?encoding\s*=\s*[\"']([A-Za-z0-9._:-]{1,40})[\"']", re.I)
_DECLARATION_TEXT = re.compile(r"^(\s*<\?xml[^>]{0,200}?encoding\s*=\s*[\"'])([A-Za-z0-9._:-]{1,40})([\"'])", re.I)
_PUA = re.compile("[\ue000-\uf8ff]")

# Charsets that are subsets of a broader one: decode with the superset.
SUPERSETS = {
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "cp936": "gb18030",
    "euc-cn": "gb18030",
    "x-gbk": "gb18030",
    "big5": "big5hkscs",
    "cp950": "big5hkscs",
    "x-big5": "big5hkscs",
    "big5-hkscs": "big5hkscs",
    "iso-8859-1": "windows-1252",
    "latin-1": "windows-1252",
    "latin1": "windows-1252",
    "us-ascii": "windows-1252",
    "ascii": "windows-1252",
}
_BOMS = [
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
]


@dataclass
class Decoded:
    text: str
    encoding: str
    declared: str | None
    warning: str | None = None


@lru_cache(maxsize=1)
def _common_chars() -> frozenset[str]:
    lines = (Path(__file__).with_name("common_hanzi.txt")).read_text(encoding="utf-8").splitlines()
    return frozenset("".join(line for line in lines if not line.startswith("#")))


def normalised_charset(name: str | None) -> str | None:
    """A Python codec name for a declared charset, widened to its superset; None if unknown."""
    if not name:
        return None
    name = name.strip().strip("\"'").lower()
    name = SUPERSETS.get(name, name)
    try:
        return codecs.lookup(name).name
    except LookupError:
        return None


def charset_from_content_type(content_type: str | None) -> str | None:
    if not content_type:
        return None
    match = re.search(r"charset\s*=\s*[\"']?([A-Za-z0-9._:-]+)", content_type, re.I)
    return match.group(1) if match else None


def chinese_score(text: str) -> int:
    """Higher when ``text`` reads like Chinese: frequent characters count, private-use characters cost."""
    common = _common_chars()
    sample = text[:20000]
    return sum(1 for ch in sample if ch in common) - 5 * len(_PUA.findall(sample))


def _strict(body: bytes, encoding: str) -> str | None:
    try:
        return body.decode(encoding)
    except (UnicodeDecodeError, LookupError):
        return None


def decode_document(body: bytes, content_type: str | None = None) -> Decoded:
    """Decode a feed document; ``warning`` says when the declared charset was wrong."""
    for bom, encoding in _BOMS:
        if body.startswith(bom):
            return Decoded(body.decode(encoding, errors="replace"), encoding, None)
    if body[:2] in (b"<\x00", b"\x00<"):
        encoding = "utf-16-le" if body[:1] == b"<" else "utf-16-be"
        return Decoded(body.decode(encoding, errors="replace"), encoding, None)
    match = _DECLARATION.match(body[:300])
    declared_name = match.group(1).decode("ascii") if match else charset_from_content_type(content_type)
    declared = normalised_charset(declared_name)
    text = _strict(body, "utf-8")
    if text is not None:
        warning = None
        if declared and declared not in ("utf-8", "windows-1252") and not body.isascii():
            warning = f"declared charset {declared_name} but the bytes are UTF-8; read as UTF-8"
        return Decoded(text, "utf-8", declared_name, warning)
    if declared and declared != "utf-8":
        text = _strict(body, declared)
        if text is not None and (declared not in ("gb18030", "big5hkscs") or chinese_score(text) >= 0):
            return Decoded(text, declared, declared_name)
    best: tuple[int, str, str] | None = None
    for candidate in ("gb18030", "big5hkscs"):
        text = _strict(body, candidate)
        if text is not None:
            score = chinese_score(text)
            if best is None or score > best[0]:
                best = (score, candidate, text)
    if best is not None and best[0] > 0:
        _, encoding, text = best
    else:
        encoding = "windows-1252" if _strict(body, "windows-1252") is not None else (declared or "utf-8")
        text = body.decode(encoding, errors="replace")
    warning = f"declared charset {declared_name or 'none'} does not match the bytes; read as {encoding}"
    return Decoded(text, encoding, declared_name, warning)


def as_utf8_document(text: str) -> bytes:
    """The decoded document as UTF-8 bytes whose XML declaration says so (what the XML parser gets)."""
    text = text.lstrip("\ufeff \t\r\n")
    text = _DECLARATION_TEXT.sub(r"\1utf-8\3", text, count=1)
    return text.encode("utf-8", errors="replace")
