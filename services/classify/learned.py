"""Learned layer, serving side: load the artefact and give probabilities to blend with the lexicon.

Training is in :mod:`services.classify.training` (character n-gram TF-IDF + logistic
regression). Fitted by ``cnai train`` on reader feedback (table ``labels``) plus a labelled file
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
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from services.classify.normalise import fold

logger = logging.getLogger(__name__)

ARTEFACT_FORMAT = 1
DEFAULT_MODEL_PATH = Path("var/models/relevance.pkl")


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
#: Workers set this (services.learning.serve_database_model) to bring the database's active model to
#: the model file; active_model() calls it at most every SOURCE_SECONDS.
model_source: Callable[[Path], object] | None = None
SOURCE_SECONDS = 30.0


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
    if model_source is not None and now - _loaded.get("sourced", float("-inf")) >= SOURCE_SECONDS:
        _loaded["sourced"] = now
        try:
            model_source(path)
        except Exception:  # noqa: BLE001 - a database hiccup keeps the model already served
            logger.warning("cannot fetch the active model from the database; keeping %s", path, exc_info=True)
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
        pipeline=artefact["pipeline"],
        blend=float(artefact["blend"]),
        digest=hashlib.sha256(data).hexdigest()[:8],
        meta=meta,
    )
