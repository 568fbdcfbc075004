"""Turn feed text into clean, comparable values: plain text, canonical URLs, languages, fingerprints."""

from __future__ import annotations

import hashlib
import html
import re
import unicodedata
from functools import lru_cache
from pathlib import Path
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

import nh3

from services.ingest.chinese import han_script

_TAG = re.compile(r"<[^>]*>")
_TAG_LIKE = re.compile(r"<\s*[A-Za-z/!]")
_BLOCK_TAG = re.compile(
    r"</?(p|div|br|li|ul|ol|h[1-6]|tr|td|th|table|blockquote|section|article|figure|figcaption|pre|hr)\b[^>]*>", re.I
)
_SCRIPT = re.compile(r"<(script|style)\b.*?</\1\s*>", re.I | re.S)
_COMMENT = re.compile(r"<!--.*?(-->|$)", re.S)
_WHITESPACE = re.compile(r"\s+")
# C0/C1 controls and every Unicode format character (Cf): zero-width, bidi overrides and isolates, BOM, tags...
_INVISIBLE = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u00ad\u0600-\u0605\u061c\u06dd\u070f\u0890\u0891\u08e2\u180e"
    "\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb"
    "\U000110bd\U000110cd\U00013430-\U0001343f\U0001bca0-\U0001bca3\U0001d173-\U0001d17a\U000e0001\U000e0020-\U000e007f]"
)
_LINE_BREAKS = re.compile("[\t\n\r\u2028\u2029\x85]+")
_NON_ALNUM = re.compile(r"[\W_]+")
_HAN = re.compile("[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_KANA = re.compile("[\u3040-\u30ff]")
_HANGUL = re.compile("[\uac00-\ud7af]")
_LATIN = re.compile("[A-Za-z]")
_PATH_SAFE = "/%:@!$&'()*+,;=-._~"

MAX_URL_CHARS = 2000
MAX_IDENTIFIER_CHARS = 2000
MAX_HTML_CHARS = 16_000


@lru_cache(maxsize=1)
def _tracking_params() -> frozenset[str]:
    lines = Path(__file__).with_name("tracking_params.txt").read_text(encoding="utf-8").splitlines()
    return frozenset(line.strip().lower() for line in lines if line.strip() and not line.startswith("#"))


TRACKING_PARAMS = _tracking_params()


def plain_text(value: str | None, limit: int | None = None) -> str:
    """HTML or text → one line of plain text: tags stripped, entities decoded, controls removed, whitespace folded."""
    if not value:
        return ""
    text = value if limit is None else value[: max(limit * 20, 2000)]
    for _ in range(2):  # a second pass for HTML that was escaped twice (&lt;p&gt;)
        if "<" in text:
            text = _COMMENT.sub(" ", text)
            text = _SCRIPT.sub(" ", text)
            text = _BLOCK_TAG.sub(" ", text)
            text = _TAG.sub("", text)
        if "&" not in text:
            break
        text = html.unescape(text)
        if not _TAG_LIKE.search(text):
            break
    text = _INVISIBLE.sub("", text)
    text = _WHITESPACE.sub(" ", text).strip()
    if "<" in text and _TAG.search(text):
        text = _WHITESPACE.sub(" ", _TAG.sub("", text)).strip()
    if limit is not None and len(text) > limit:
        text = text[: limit - 1].rstrip() + "…"
    return text


def clean_identifier(value: str | None, limit: int = MAX_IDENTIFIER_CHARS) -> str | None:
    """A GUID or link as text: controls and invisible characters removed, whitespace trimmed, length capped."""
    if not value:
        return None
    text = _INVISIBLE.sub("", _LINE_BREAKS.sub(" ", value[: limit * 2])).strip()
    return text[:limit] or None


def sanitised_html(value: str | None) -> str | None:
    """Summary HTML made safe to show (nh3), at most MAX_HTML_CHARS, without control characters or line breaks."""
    if not value or not value.strip():
        return None
    cleaned = nh3.clean(value[:MAX_HTML_CHARS])
    if len(cleaned) > MAX_HTML_CHARS:  # escaping can lengthen it: clean a proportionally shorter input
        cleaned = nh3.clean(value[: MAX_HTML_CHARS * MAX_HTML_CHARS // len(cleaned) - 16])[:MAX_HTML_CHARS]
    cleaned = _INVISIBLE.sub("", _LINE_BREAKS.sub(" ", cleaned)).strip()
    return cleaned or None


def canonical_url(url: str | None) -> str | None:
    """The URL an article is known by: scheme and host lower-cased, default port, tracking parameters and
    fragment dropped, remaining parameters sorted, non-ASCII percent-encoded; None if not http(s) or too long."""
    if not url:
        return None
    url = _INVISIBLE.sub("", url).strip()
    if len(url) > 4 * MAX_URL_CHARS:
        return None
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in {"http", "https"} or not parts.hostname:
        return None
    host = parts.hostname.lower().rstrip(".")
    if not host or any(c.isspace() for c in host):
        return None
    if not host.isascii():
        try:
            host = host.encode("idna").decode("ascii")
        except UnicodeError:
            host = quote(host, safe="")
    if ":" in host:
        host = f"[{host}]"
    if port and not ((scheme == "http" and port == 80) or (scheme == "https" and port == 443)):
        host = f"{host}:{port}"
    tracking = TRACKING_PARAMS
    query = sorted(
        (k, v)
        for k, v in parse_qsl(parts.query, keep_blank_values=True)
        if not k.lower().startswith("utm_") and k.lower() not in tracking
    )
    path = quote(parts.path or "/", safe=_PATH_SAFE)
    result = urlunsplit((scheme, host, path, urlencode(query, doseq=True), ""))
    return result if len(result) <= MAX_URL_CHARS else None


def detect_language(text: str) -> str:
    """en, zh-Hans, zh-Hant, ja, ko or other, from the characters of ``text`` (its first 2,000)."""
    sample = text[:2000]
    han = len(_HAN.findall(sample))
    if _KANA.search(sample) and len(_KANA.findall(sample)) >= 3:
        return "ja"
    if han >= 10 or (han >= 2 and han * 8 >= len(sample.replace(" ", ""))):
        return han_script(sample)
    if len(_HANGUL.findall(sample)) >= 3:
        return "ko"
    latin = len(_LATIN.findall(sample))
    if latin >= max(3, len(sample) * 0.3):
        return "en"
    return "other" if sample.strip() else "en"


def fold_for_fingerprint(text: str) -> str:
    return _NON_ALNUM.sub("", unicodedata.normalize("NFKC", text).casefold())


def fingerprint(title: str, summary: str) -> str:
    """SHA-256 of title and summary with case, width, punctuation and spacing folded."""
    key = fold_for_fingerprint(title) + "\x1f" + fold_for_fingerprint(summary)
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()
