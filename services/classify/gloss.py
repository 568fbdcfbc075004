"""An English line for Chinese articles, made offline from the catalogue.

``english_gloss`` names the entities the classifier recognised by their English
(canonical) names, the topic, the priority, and the numbers and Latin-script model names
of the title. It is not a translation; it tells a reader who does not read Chinese what
the item is about, well enough to triage it.
"""

from __future__ import annotations

import re
from typing import Protocol

_LATIN_NAME = re.compile(r"[A-Za-z][A-Za-z0-9]*(?:[-.][A-Za-z0-9]+)*(?: ?[A-Za-z]?\d+(?:\.\d+)*[A-Za-z]*)?")
_NUMBER = re.compile(r"\d+(?:\.\d+)?\s*(?:%|亿美元|亿元|万亿|亿|万|美元|元|B|M|K|GW|MW|nm)?")
_CJK = re.compile(r"[\u3400-\u9fff]")
_YEAR = re.compile(r"(?:19|20)\d\d")

TOPIC_WORDS = {
    "regulation": "regulation",
    "standards": "standards",
    "funding_and_subsidies": "funding and subsidies",
    "compute_and_infrastructure": "compute and infrastructure",
    "chips_and_export_controls": "chips and export controls",
    "model_releases": "a model release",
    "industry_and_investment": "industry and investment",
    "security_and_content_control": "security and content control",
    "international_governance": "international governance",
    "research_and_talent": "research and talent",
}
_UNITS = ("亿美元", "亿元", "万亿", "亿", "万", "美元", "元")  # longest first


class _VerdictLike(Protocol):
    @property
    def relevant(self) -> bool: ...
    @property
    def topics(self) -> list[str]: ...
    @property
    def entities(self) -> list[str]: ...
    @property
    def priority(self) -> str | None: ...


def _is_chinese(text: str, lang: str | None) -> bool:
    if lang and lang.lower().startswith("zh"):
        return True
    if lang and lang.lower().startswith("en"):
        return False
    return len(_CJK.findall(text)) * 4 >= max(1, len(text.strip()))


def _is_product_name(token: str) -> bool:
    """Model and product names ("DeepSeek-V4", "GLM-4.5", "TRAE", "WorkBuddy"), not plain words."""
    if any(c.isdigit() for c in token):
        return True
    capitals = sum(1 for c in token if c.isupper())
    return len(token) > 1 and (capitals >= 2 or token.isupper())


def _numbers(title: str) -> list[str]:
    found: list[str] = []
    for match in _NUMBER.finditer(title):
        token = match.group(0).replace(" ", "")
        for unit in _UNITS:
            if token.endswith(unit):
                token = _scaled(token[: -len(unit)], unit)
                break
        if token and token not in found:
            found.append(token)
    return found


def _scaled(value: str, unit: str) -> str:
    """ "50亿元" → "CNY 5 billion", "3000万" → "30 million"."""
    try:
        number = float(value)
    except ValueError:
        return value + unit
    factor = {"亿美元": 1e8, "亿元": 1e8, "亿": 1e8, "万亿": 1e12, "万": 1e4, "美元": 1, "元": 1}.get(unit, 1)
    currency = {"亿美元": "USD ", "美元": "USD ", "亿元": "CNY ", "元": "CNY "}.get(unit, "")
    amount = number * factor
    for size, word in ((1e12, "trillion"), (1e9, "billion"), (1e6, "million")):
        if amount >= size:
            return f"{currency}{amount / size:g} {word}"
    return f"{currency}{amount:g}"


def english_gloss(title: str, summary: str, lang: str | None, verdict: _VerdictLike) -> str | None:
    """One English line for a Chinese article (None for English or empty text)."""
    title = title or ""
    if not title.strip() or not _is_chinese(title + (summary or "")[:200], lang):
        return None
    parts: list[str] = []
    priority = getattr(verdict, "priority", None)
    head = f"[{priority}] " if priority else ""
    topic = TOPIC_WORDS.get(verdict.topics[0]) if verdict.topics else None
    subject = ", ".join(verdict.entities[:3])
    names = [m.group(0).strip() for m in _LATIN_NAME.finditer(title)]
    names = [n for n in dict.fromkeys(names) if _is_product_name(n) and n not in subject]
    if subject:
        parts.append(subject)
    if names:
        parts.append("mentions " + ", ".join(names[:4]))
    numbers = [n for n in _numbers(title) if not any(n in name for name in names) and not _YEAR.fullmatch(n)]
    if numbers:
        parts.append("figures " + ", ".join(numbers[:3]))
    about = f"Chinese-language item on {topic}" if topic else "Chinese-language item"
    return head + about + (": " + "; ".join(parts) if parts else "") + "."
