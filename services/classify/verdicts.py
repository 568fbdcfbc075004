"""The classifier's public entry points: lexicon verdicts, blended with the learned layer when present."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import replace

from services.classify.article import ArticleText
from services.classify.lexicon import Lexicon, default_lexicon
from services.classify.scorer import Verdict, article_verdict

logger = logging.getLogger(__name__)


def classifier_version() -> str:
    """``lex-<hash8>``, plus ``+ml-<hash8>`` when a learned model is in use."""
    from services.classify.learned import active_model

    version = f"lex-{default_lexicon().digest}"
    model = active_model()
    return f"{version}+ml-{model.digest}" if model is not None else version


def score_article(title: str, summary: str = "", lang: str | None = None, link: str | None = None) -> Verdict:
    """Relevance of one article to the China LLM / AI-policy beat."""
    return score_text(ArticleText.coerce((title, summary, lang, link)))


def score_text(article: ArticleText) -> Verdict:
    """Relevance of one article given as an :class:`ArticleText`."""
    from services.classify.learned import active_model

    if active_model() is None:
        return _safe_lexicon_verdict(default_lexicon(), article)
    return score_articles([article])[0]


def score_articles(articles: Iterable[ArticleText | Sequence[object]]) -> list[Verdict]:
    """Verdicts for many articles (:class:`ArticleText`, or ``(title, summary[, lang[, link]])``
    sequences), in order; the learned layer (if any) runs once per batch."""
    from services.classify.learned import active_model, model_text

    lexicon = default_lexicon()  # a broken lexicon fails loudly, before any article
    items = [ArticleText.coerce(a) for a in articles]
    verdicts = [_safe_lexicon_verdict(lexicon, item) for item in items]
    model = active_model()
    if model is None or not items:
        return verdicts
    try:
        probabilities = model.probabilities([model_text(item.title, item.summary) for item in items])
    except Exception:  # a broken artefact must not stop classification
        logger.exception("learned model failed; using the lexicon alone")
        return verdicts
    threshold = 0.5  # lexicon scores are calibrated probabilities: the relevance threshold reads 0.5
    blended = []
    for item, verdict, probability in zip(items, verdicts, probabilities):
        score = round((1 - model.blend) * verdict.score + model.blend * probability, 4)
        reasons = verdict.reasons + [f"learned model: p={probability:.2f} (weight {model.blend:g})"]
        relevant = score >= threshold
        triage = verdict
        if relevant and verdict.priority is None:  # the model made it relevant: triage as such
            triage = _safe_lexicon_verdict(lexicon, item, assume_relevant=True)
        blended.append(
            replace(
                verdict,
                score=score,
                relevant=relevant,
                reasons=reasons,
                priority=triage.priority if relevant else None,
                reader_reasons=triage.reader_reasons if relevant else [],
            )
        )
    return blended


def _safe_lexicon_verdict(lexicon: Lexicon, article: ArticleText, assume_relevant: bool = False) -> Verdict:
    try:
        return article_verdict(article, lexicon, assume_relevant=assume_relevant)
    except Exception as exc:  # never raise on input; a bug here is logged, not fatal
        logger.exception("lexicon scoring failed")
        return Verdict(
            relevant=False, score=0.0, topics=[], entities=[], reasons=[f"classifier error: {type(exc).__name__}"]
        )
