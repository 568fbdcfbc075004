"""Learned layer, training side: fit the character n-gram model and choose its blend weight.

``cnai train`` calls :func:`train` on reader feedback (``labels`` table, via
:mod:`services.classify.feedback`) and labelled files, then :func:`save_model`. Serving
(loading the artefact, probabilities) is in :mod:`services.classify.learned`; this
module imports the lexicon scorer and the evaluation code, which serving never needs.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from services.classify.evaluate import compute_metrics, language_group
from services.classify.learned import ARTEFACT_FORMAT, model_text
from services.classify.lexicon import default_lexicon
from services.classify.scorer import lexicon_verdict

BLEND_WEIGHTS = (0.0, 0.2, 0.35, 0.5, 0.65, 0.8, 1.0)


@dataclass(frozen=True)
class Example:
    title: str
    summary: str
    relevant: bool
    lang: str | None = None
    link: str | None = None


def save_model(artefact: dict[str, Any], path: Path) -> str:
    """Write the artefact atomically; returns its digest (the ``ml-`` part of the version)."""
    data = pickle.dumps(artefact, protocol=pickle.HIGHEST_PROTOCOL)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".relevance-", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return hashlib.sha256(data).hexdigest()[:8]


def build_pipeline() -> Any:
    import numpy as np
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    return make_pipeline(
        TfidfVectorizer(
            analyzer="char_wb",
            ngram_range=(2, 4),
            lowercase=False,
            sublinear_tf=True,
            min_df=1,
            max_features=200_000,
            dtype=np.float32,
        ),
        LogisticRegression(C=4.0, class_weight="balanced", max_iter=5000, solver="liblinear", random_state=0),
    )


@dataclass
class TrainingReport:
    examples: int
    relevant: int
    folds: int
    blend: float
    cv: dict[str, dict[str, Any]]


def train(examples: Sequence[Example], folds: int = 5) -> tuple[dict[str, Any], TrainingReport]:
    """Fit the model on all examples; choose the blend weight and report figures by cross-validation."""
    from sklearn.model_selection import StratifiedKFold

    labels = [e.relevant for e in examples]
    positives = sum(labels)
    if positives < 2 or len(labels) - positives < 2:
        raise ValueError(
            f"need at least 2 relevant and 2 irrelevant examples, got {positives} and {len(labels) - positives}"
        )
    texts = [model_text(e.title, e.summary) for e in examples]
    lexicon = default_lexicon()
    threshold = 0.5  # lexicon scores are calibrated: the relevance threshold reads 0.5
    lexicon_scores = [lexicon_verdict(e.title, e.summary, e.lang, e.link, lexicon=lexicon).score for e in examples]

    folds = max(2, min(folds, positives, len(labels) - positives))
    model_scores = [0.0] * len(examples)
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=0)
    for train_index, test_index in splitter.split(texts, labels):
        pipeline = build_pipeline()
        pipeline.fit([texts[i] for i in train_index], [labels[i] for i in train_index])
        for i, p in zip(test_index, pipeline.predict_proba([texts[i] for i in test_index])[:, 1]):
            model_scores[i] = float(p)

    def blended(weight: float) -> list[bool]:
        return [(1 - weight) * lex + weight * ml >= threshold for lex, ml in zip(lexicon_scores, model_scores)]

    by_weight = {w: compute_metrics(labels, blended(w)) for w in BLEND_WEIGHTS}
    best = max(BLEND_WEIGHTS, key=lambda w: (round(by_weight[w].f1, 6), -w))
    cv: dict[str, dict[str, Any]] = {
        "lexicon": by_weight[0.0].as_dict(),
        "model": by_weight[1.0].as_dict(),
        "blend": {**by_weight[best].as_dict(), "weight": best},
    }
    groups = [language_group(e.lang or "") for e in examples]
    for name, weight in (("lexicon", 0.0), ("model", 1.0), ("blend", best)):
        predictions = blended(weight)
        cv[name]["languages"] = {
            group: compute_metrics(
                [labels[i] for i, g in enumerate(groups) if g == group],
                [predictions[i] for i, g in enumerate(groups) if g == group],
            ).as_dict()
            for group in sorted(set(groups))
        }
    pipeline = build_pipeline()
    pipeline.fit(texts, labels)
    import sklearn

    artefact = {
        "format": ARTEFACT_FORMAT,
        "kind": "char-tfidf-logreg",
        "created_at": datetime.now(timezone.utc).isoformat(),
        "sklearn": sklearn.__version__,
        "lexicon": lexicon.digest,
        "blend": best,
        "examples": len(labels),
        "relevant": positives,
        "cv": cv,
        "pipeline": pipeline,
    }
    return artefact, TrainingReport(examples=len(labels), relevant=positives, folds=folds, blend=best, cv=cv)
