"""The classifier's public entry points: lexicon verdicts, blended with the learned layer when present."""
from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import replace

from services.classify.lexicon import Lexicon, default_lexicon
from services.classify.scorer import Verdict, lexicon_verdict

logger = logging.getLogger(__name__)


def classifier_version() -> str:
    """``lex-<hash8>``, plus ``+ml-<hash8>`` when a learned model is in use."""
    from services.classify.learned import active_model

    version = f"lex-{default_lexicon().digest}"
    model = active_model()
    return f"{version}+ml-{model.digest}" if model is not None else version


def score_article(title: str, summary: str = "", lang: str | None = None, link: str | None = None) -> Verdict:
    """Relevance of one article to the China LLM / AI-policy beat."""
    from services.classify.learned import active_model

    if active_model() is None:
        return _safe_lexicon_verdict(default_lexicon(), title, summary, lang, link)
    return score_articles([(title, summary, lang, link)])[0]


def score_articles(articles: Iterable[Sequence[object]]) -> list[Verdict]:
    """Verdicts for many ``(title, summary[, lang[, link]])`` tuples, in order; the learned
    layer (if any) runs once per batch."""
    from services.classify.learned import active_model, model_text

    lexicon = default_lexicon()  # a broken lexicon fails loudly, before any article
    items = [tuple(a) + (None,) * (4 - len(a)) for a in articles]
    verdicts = [_safe_lexicon_verdict(lexicon, *item[:4]) for item in items]
    model = active_model()
    if model is None or not items:
        return verdicts
    try:
        probabilities = model.probabilities([model_text(item[0], item[1]) for item in items])
    except Exception:  # a broken artefact must not stop classification
        logger.exception("learned model failed; using the lexicon alone")
        return verdicts
    threshold = lexicon.scoring["threshold"]
    blended = []
    for item, verdict, probability in zip(items, verdicts, probabilities):
        score = round((1 - model.blend) * verdict.score + model.blend * probability, 4)
        reasons = verdict.reasons + [f"learned model: p={probability:.2f} (weight {model.blend:g})"]
        relevant = score >= threshold
        triage = verdict
        if relevant and verdict.priority is None:  # the model made it relevant: triage as such
            triage = _safe_lexicon_verdict(lexicon, *item[:4], assume_relevant=True)
        blended.append(replace(
            verdict, score=score, relevant=relevant, reasons=reasons,
            priority=triage.priority if relevant else None,
            reader_reasons=triage.reader_reasons if relevant else [],
        ))
    return blended


def _safe_lexicon_verdict(
    lexicon: Lexicon, title: object, summary: object, lang: object, link: object, *, assume_relevant: bool = False
) -> Verdict:
    try:
        return lexicon_verdict(
            title, summary, lang, link, lexicon=lexicon, assume_relevant=assume_relevant  # type: ignore[arg-type]  # stored values are untyped; lexicon_verdict copes with None and non-strings
        )
    except Exception as exc:  # never raise on input; a bug here is logged, not fatal
        logger.exception("lexicon scoring failed")
        return Verdict(relevant=False, score=0.0, topics=[], entities=[], reasons=[f"classifier error: {type(exc).__name__}"])
