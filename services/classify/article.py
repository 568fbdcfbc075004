"""What the classifier reads of an article: one named value instead of positional tuples.

A new kind of evidence (the outlet, the feed) is one field here and one handler in the
scorer, not a change at every call site.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ArticleText:
    """Title, summary, link, declared language and source (outlet) of an article.

    ``source`` names where the article came from (a feed URL or outlet title); the
    lexicon does not weigh it yet.
    """

    title: str
    summary: str = ""
    link: str | None = None
    lang: str | None = None
    source: str | None = None

    @classmethod
    def coerce(cls, value: ArticleText | Sequence[object]) -> ArticleText:
        """An ArticleText, or one made from a ``(title, summary[, lang[, link]])`` sequence
        (the older calling convention, kept for scripts)."""
        if isinstance(value, ArticleText):
            return value
        items = list(value) + [None] * (4 - len(value))
        title, summary, lang, link = items[:4]
        return cls(
            title=_text(title),
            summary=_text(summary),
            link=link if isinstance(link, str) else None,
            lang=lang if isinstance(lang, str) else None,
        )


def _text(value: object) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else str(value)
