"""Relevance classifier for the China LLM / AI-policy beat.

``score_article`` is the one entry point: a bilingual lexicon (``config/lexicon/``),
optionally blended with a learned layer when a model artefact exists. It needs no
network and no database, never raises on text input, and is deterministic.
"""

from __future__ import annotations

from services.classify.article import ArticleText
from services.classify.priority import Priority
from services.classify.scorer import Verdict
from services.classify.verdicts import classifier_version, score_article, score_articles, score_text

__all__ = [
    "CLASSIFIER_VERSION",
    "ArticleText",
    "Priority",
    "Verdict",
    "classifier_version",
    "score_article",
    "score_articles",
    "score_text",
]


def __getattr__(name: str) -> str:
    # Computed on first use so importing the package stays cheap and a model trained
    # later in the same process is reflected.
    if name == "CLASSIFIER_VERSION":
        return classifier_version()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
