"""Turn feed text into clean, comparable values: plain text, canonical URLs, languages, fingerprints."""
from __future__ import annotations

import hashlib
import html
import re
import unicodedata
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from services.ingest.chinese import han_script, is_han

_TAG = re.compile(r"<[^>]*>")
_BLOCK_TAG = re.compile(r"</?(p|div|br|li|ul|ol|h[1-6]|tr|table|blockquote|section|article)\b[^>]*>", re.I)
_SCRIPT = re.compile(r"<(script|style)\b.*?</\1\s*>", re.I | re.S)
_WHITESPACE = re.compile(r"\s+")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]")

TRACKING_PARAMS = {"spm", "from", "fbclid", "gclid", "mc_cid", "mc_eid", "igshid", "ref_src", "scm", "share_token", "yclid", "_hsenc", "_hsmi"}


def plain_text(value: str | None, limit: int | None = None) -> str:
    """HTML or text → one line of plain text: tags stripped, entities decoded, controls removed, whitespace folded."""
    if not value:
        return ""
    text = value
    if "<" in text:
        text = _SCRIPT.sub(" ", text)
        text = _BLOCK_TAG.sub(" ", text)
        text = _TAG.sub("", text)
    if "&" in text:
        text = html.unescape(text)
    text = _CONTROL.sub("", text)
    text = _WHITESPACE.sub(" ", text).strip()
    if limit is not None and len(text) > limit:
        text = text[: limit - 1].rstrip() + "…"
    return text


def canonical_url(url: str | None) -> str | None:
    """The URL an article is known by: scheme and host lower-cased, default port, tracking parameters and fragment dropped."""
    if not url:
        return None
    url = url.strip()
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in {"http", "https"} or not parts.hostname:
        return None
    host = parts.hostname.lower().rstrip(".")
    try:
        port = parts.port
    except ValueError:
        return None
    if port and not ((scheme == "http" and port == 80) or (scheme == "https" and port == 443)):
        host = f"{host}:{port}"
    query = [
        (k, v)
        for k, v in parse_qsl(parts.query, keep_blank_values=True)
        if not k.lower().startswith("utm_") and k.lower() not in TRACKING_PARAMS
    ]
    path = parts.path or "/"
    return urlunsplit((scheme, host, path, urlencode(query, doseq=True), ""))[:2000]


def detect_language(text: str) -> str:
    """en, zh-Hans, zh-Hant or other, from the characters of ``text``."""
    han = sum(1 for ch in text if is_han(ch))
    if han >= 10 or (han >= 2 and han * 8 >= len(text.replace(" ", ""))):
        return han_script(text)
    latin = sum(1 for ch in text if ch.isascii() and ch.isalpha())
    if latin >= max(3, len(text) * 0.3):
        return "en"
    return "other" if text.strip() else "en"


def fold_for_fingerprint(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).casefold()
    return "".join(ch for ch in text if ch.isalnum())


def fingerprint(title: str, summary: str) -> str:
    """SHA-256 of title and summary with case, width, punctuation and spacing folded."""
    key = fold_for_fingerprint(title) + "\x1f" + fold_for_fingerprint(summary)
    return hashlib.sha256(key.encode("utf-8")).hexdigest()
