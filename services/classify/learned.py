"""Learned layer: character n-gram TF-IDF + logistic regression, blended with the lexicon.

Fitted by ``cnai train`` on reader feedback (table ``labels``) plus a labelled file
(dev.jsonl format), and saved as one pickle artefact (``CLASSIFIER_MODEL_PATH``, by
default ``var/models/relevance.pkl``) holding the pipeline, the blend weight chosen
by cross-validation and the cross-validated figures. Character n-grams need no word
segmentation, so the same model reads English and Chinese.

scikit-learn is imported only when an artefact exists or a model is trained: the
lexicon alone starts in milliseconds. Artefacts are pickles: load only files you wrote.
"""
from __future__ import annotations

import hashlib
import logging
import os
import pickle
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from services.classify.normalise import fold

logger = logging.getLogger(__name__)

ARTEFACT_FORMAT = 1
DEFAULT_MODEL_PATH = Path("var/models/relevance.pkl")
BLEND_WEIGHTS = (0.0, 0.2, 0.35, 0.5, 0.65, 0.8, 1.0)


@dataclass(frozen=True)
class Example:
    title: str
    summary: str
    relevant: bool
    lang: str | None = None
    link: str | None = None


@dataclass
class LearnedModel:
    pipeline: Any
    blend: float
    digest: str
    meta: dict[str, Any] = field(default_factory=dict)

    def probabilities(self, texts: Sequence[str]) -> list[float]:
        return [float(p) for p in self.pipeline.predict_proba(list(texts))[:, 1]]


def model_text(title: object, summary: object) -> str:
    """What the model reads: folded, lower-cased title and summary (Traditional → Simplified)."""
    title_text, _ = fold(title if isinstance(title, str) else str(title or ""))
    summary_text, _ = fold(summary if isinstance(summary, str) else str(summary or ""))
    return f"{title_text}\n{summary_text[:1500]}".lower()


def model_path() -> Path:
    from services.settings import SettingsError, get_settings

    try:
        configured = get_settings().classifier_model_path
    except SettingsError:  # classification must not depend on unrelated settings being valid
        logger.warning("settings invalid; reading CLASSIFIER_MODEL_PATH from the environment only")
        configured = Path(os.environ["CLASSIFIER_MODEL_PATH"]) if os.environ.get("CLASSIFIER_MODEL_PATH") else None
    return configured or DEFAULT_MODEL_PATH


RECHECK_SECONDS = 1.0
_loaded: dict[str, Any] = {"key": None, "model": None, "checked": float("-inf"), "path": None}


def active_model() -> LearnedModel | None:
    """The model at :func:`model_path`, reloaded when the file changes; None without one
    (or when its blend weight is 0: cross-validation found the lexicon alone better).

    The file is looked at no more than once a second (score_article runs thousands of
    times a second; a new artefact written by `cnai train` is picked up within a second).
    """
    now = time.monotonic()
    if now - _loaded["checked"] < RECHECK_SECONDS:
        return _loaded["model"]
    _loaded["checked"] = now
    path = model_path()
    try:
        stat = path.stat()
    except OSError:
        _loaded.update(key=None, model=None)
        return None
    key = (str(path), stat.st_mtime_ns, stat.st_size)
    if _loaded["key"] != key:
        try:
            model = load_model(path)
        except Exception:
            logger.exception("cannot load classifier model %s; using the lexicon alone", path)
            model = None
        _loaded.update(key=key, model=model if model is not None and model.blend > 0 else None)
    return _loaded["model"]


def forget_model() -> None:
    """Look for the model file again on the next call (after training, in tests)."""
    _loaded.update(key=None, model=None, checked=float("-inf"))


def load_model(path: Path) -> LearnedModel:
    data = path.read_bytes()
    artefact = pickle.loads(data)  # noqa: S301 - our own artefact, from a configured path
    if not isinstance(artefact, dict) or artefact.get("format") != ARTEFACT_FORMAT:
        raise ValueError(f"{path}: not a classifier artefact of format {ARTEFACT_FORMAT}")
    meta = {k: v for k, v in artefact.items() if k != "pipeline"}
    return LearnedModel(
        pipeline=artefact["pipeline"], blend=float(artefact["blend"]), digest=hashlib.sha256(data).hexdigest()[:8], meta=meta
    )


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
            analyzer="char_wb", ngram_range=(2, 4), lowercase=False, sublinear_tf=True, min_df=1, max_features=200_000, dtype=np.float32
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

    from services.classify.evaluate import compute_metrics, language_group
    from services.classify.lexicon import default_lexicon
    from services.classify.scorer import lexicon_verdict

    labels = [e.relevant for e in examples]
    positives = sum(labels)
    if positives < 2 or len(labels) - positives < 2:
        raise ValueError(f"need at least 2 relevant and 2 irrelevant examples, got {positives} and {len(labels) - positives}")
    texts = [model_text(e.title, e.summary) for e in examples]
    lexicon = default_lexicon()
    threshold = lexicon.scoring["threshold"]
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
                [labels[i] for i, g in enumerate(groups) if g == group], [predictions[i] for i, g in enumerate(groups) if g == group]
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
