"""Safe learning: readers' feedback becomes labels, the learned layer is retrained, and a new model
is promoted only when it does not lose precision or recall.

Every trained model is stored in the database (``classifier_models``: the pickled artefact, its
figures, its status), so every worker serves the same one: a worker brings the active model to
its local model file (``CLASSIFIER_MODEL_PATH``) within ``SYNC_SECONDS`` (``serve_database_model``).

The evaluation runs on the current training examples (the labels plus, when given, a labelled
dev file): the candidate's cross-validated precision and recall (blended with the lexicon, as
served) against the active model's precision and recall on the same examples, or, with no active
model, the lexicon alone's. The active model has seen most of those examples in training, so the
comparison favours keeping it: a candidate is promoted only when neither figure drops. `cnai model promote VERSION --force` overrides, and
`cnai model rollback` reactivates the previously active model.
"""

from __future__ import annotations

import hashlib
import logging
import os
import pickle
import tempfile
from dataclasses import dataclass
from datetime import datetime, timezone
from enum import StrEnum
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from db.models import ClassifierModel, Label

log = logging.getLogger(__name__)
SYNC_SECONDS = 30.0


class ModelStatus(StrEnum):
    CANDIDATE = "candidate"
    ACTIVE = "active"
    RETIRED = "retired"
    REJECTED = "rejected"


class ModelError(ValueError):
    """A model operation that cannot be done; the message says why."""


@dataclass
class RetrainOutcome:
    model: ClassifierModel | None
    promoted: bool
    reason: str


def _figures(artefact: dict[str, Any], name: str) -> dict[str, float]:
    cv = artefact.get("cv", {}).get(name, {})
    return {
        "precision": float(cv.get("precision", 0.0)),
        "recall": float(cv.get("recall", 0.0)),
        "f1": float(cv.get("f1", 0.0)),
    }


def active_model_row(session: Session) -> ClassifierModel | None:
    return session.execute(
        select(ClassifierModel)
        .where(ClassifierModel.status == ModelStatus.ACTIVE.value)
        .order_by(ClassifierModel.promoted_at.desc())
        .limit(1)
    ).scalar_one_or_none()


def store_model(session: Session, artefact: dict[str, Any], now: datetime | None = None) -> ClassifierModel:
    """Store a trained artefact as a candidate (or return the stored row of the same artefact)."""
    data = pickle.dumps(artefact, protocol=pickle.HIGHEST_PROTOCOL)
    version = "ml-" + hashlib.sha256(data).hexdigest()[:8]
    existing = session.execute(select(ClassifierModel).where(ClassifierModel.version == version)).scalar_one_or_none()
    if existing is not None:
        return existing
    row = ClassifierModel(
        version=version,
        artefact=data,
        status=ModelStatus.CANDIDATE.value,
        metrics={
            **_figures(artefact, "blend"),
            "examples": int(artefact.get("examples", 0)),
            "relevant": int(artefact.get("relevant", 0)),
            "blend": float(artefact.get("blend", 0.0)),
            "lexicon_precision": _figures(artefact, "lexicon")["precision"],
            "lexicon_recall": _figures(artefact, "lexicon")["recall"],
        },
        created_at=now or datetime.now(timezone.utc),
    )
    session.add(row)
    session.flush()
    return row


def promotion_decision(
    candidate: dict[str, float], reference: dict[str, float] | None, lexicon: dict[str, float]
) -> tuple[bool, str]:
    """Promote when neither precision nor recall drops below the reference (the active model, else the lexicon)."""
    against, name = (reference, "the active model") if reference else (lexicon, "the lexicon alone")
    drops = [
        f"{k} {candidate[k]:.3f} < {against[k]:.3f}"
        for k in ("precision", "recall")
        if candidate[k] < against[k] - 1e-9
    ]
    if drops:
        return False, f"not promoted: {', '.join(drops)} of {name}"
    return (
        True,
        f"promoted: P {candidate['precision']:.3f} R {candidate['recall']:.3f} (>= {name}: P {against['precision']:.3f} R {against['recall']:.3f})",
    )


def activate(session: Session, row: ClassifierModel, note: str, now: datetime | None = None) -> None:
    now = now or datetime.now(timezone.utc)
    for other in session.execute(
        select(ClassifierModel).where(ClassifierModel.status == ModelStatus.ACTIVE.value)
    ).scalars():
        if other.id != row.id:
            other.status = ModelStatus.RETIRED.value
    row.status, row.promoted_at, row.note = ModelStatus.ACTIVE.value, now, note
    session.flush()


def model_figures(row: ClassifierModel, examples: list[Any]) -> dict[str, float]:
    """Precision and recall of a stored model, blended with the lexicon as served, on ``examples``."""
    from services.classify.evaluate import compute_metrics
    from services.classify.learned import model_text
    from services.classify.lexicon import default_lexicon
    from services.classify.scorer import lexicon_verdict

    artefact = pickle.loads(row.artefact)  # noqa: S301 - our own artefact, from our own table
    lexicon = default_lexicon()
    threshold = 0.5  # as services.classify.verdicts: lexicon scores are calibrated, relevant from 0.5
    weight = float(artefact["blend"])
    probabilities = artefact["pipeline"].predict_proba([model_text(e.title, e.summary) for e in examples])[:, 1]
    predicted = [
        (1 - weight) * lexicon_verdict(e.title, e.summary, e.lang, e.link, lexicon=lexicon).score + weight * float(p)
        >= threshold
        for e, p in zip(examples, probabilities)
    ]
    metrics = compute_metrics([e.relevant for e in examples], predicted)
    return {"precision": metrics.precision, "recall": metrics.recall}


def consider(
    session: Session, row: ClassifierModel, now: datetime | None = None, reference: dict[str, float] | None = None
) -> RetrainOutcome:
    """Promote the candidate if it does not lose precision or recall against ``reference`` (default: the
    active model's own figures); else mark it rejected."""
    current = active_model_row(session)
    candidate = {"precision": row.metrics["precision"], "recall": row.metrics["recall"]}
    if reference is None and current is not None and current.id != row.id:
        reference = {"precision": current.metrics["precision"], "recall": current.metrics["recall"]}
    lexicon = {"precision": row.metrics.get("lexicon_precision", 0.0), "recall": row.metrics.get("lexicon_recall", 0.0)}
    promote, reason = promotion_decision(candidate, reference, lexicon)
    if promote:
        activate(session, row, reason, now)
    else:
        row.status, row.note = ModelStatus.REJECTED.value, reason
        session.flush()
    return RetrainOutcome(row, promote, reason)


def training_examples(session: Session, dev_file: Path | None) -> list[Any]:
    from services.classify.feedback import labelled_examples
    from services.classify.training import Example

    examples = list(labelled_examples(session))
    if dev_file is not None:
        from services.classify.evaluate import read_labelled

        examples += [
            Example(i.title, i.summary, bool(i.relevant), i.lang, i.link)
            for i in read_labelled(dev_file)
            if i.relevant is not None
        ]
    return examples


def retrain(
    session: Session,
    dev_file: Path | None = None,
    *,
    min_new_labels: int = 1,
    folds: int = 5,
    now: datetime | None = None,
) -> RetrainOutcome:
    """Train on labels (+ dev file), store the model, promote it only if it loses neither precision nor recall."""
    from services.classify.training import train

    labels = session.execute(select(func.count()).select_from(Label)).scalar_one()
    last = session.execute(
        select(ClassifierModel).order_by(ClassifierModel.created_at.desc()).limit(1)
    ).scalar_one_or_none()
    if last is not None and labels - int(last.metrics.get("labels", 0)) < min_new_labels:
        return RetrainOutcome(None, False, f"skipped: fewer than {min_new_labels} new label(s) since {last.version}")
    examples = training_examples(session, dev_file)
    try:
        artefact, _report = train(examples, folds=folds)
    except ValueError as exc:
        return RetrainOutcome(None, False, f"skipped: {exc}")
    row = store_model(session, artefact, now)
    current = active_model_row(session)
    reference = model_figures(current, examples) if current is not None and current.id != row.id else None
    row.metrics = {
        **row.metrics,
        "labels": int(labels),
        **({"active_precision": reference["precision"], "active_recall": reference["recall"]} if reference else {}),
    }
    if row.status != ModelStatus.CANDIDATE.value:
        return RetrainOutcome(row, False, f"same artefact as {row.version} ({row.status})")
    outcome = consider(session, row, now, reference)
    log.info("learned model %s %s", row.version, outcome.reason)
    return outcome


def list_models(session: Session) -> list[ClassifierModel]:
    return list(
        session.execute(
            select(ClassifierModel).order_by(ClassifierModel.created_at.desc(), ClassifierModel.id.desc())
        ).scalars()
    )


def find_model(session: Session, version: str) -> ClassifierModel:
    row = session.execute(select(ClassifierModel).where(ClassifierModel.version == version)).scalar_one_or_none()
    if row is None:
        raise ModelError(f"no model {version!r} (see `cnai model list`)")
    return row


def promote(session: Session, version: str, *, force: bool = False) -> RetrainOutcome:
    row = find_model(session, version)
    if row.status == ModelStatus.ACTIVE.value:
        return RetrainOutcome(row, False, f"{version} is already active")
    if force:
        activate(session, row, "promoted by hand (--force)")
        return RetrainOutcome(row, True, "promoted by hand (--force)")
    outcome = consider(session, row)
    return outcome


def rollback(session: Session) -> ClassifierModel | None:
    """Retire the active model and reactivate the one active before it; None when there was none (lexicon alone)."""
    current = active_model_row(session)
    if current is None:
        raise ModelError("no active model to roll back")
    previous = session.execute(
        select(ClassifierModel)
        .where(
            ClassifierModel.status == ModelStatus.RETIRED.value,
            ClassifierModel.promoted_at.is_not(None),
            ClassifierModel.id != current.id,
        )
        .order_by(ClassifierModel.promoted_at.desc())
        .limit(1)
    ).scalar_one_or_none()
    current.status, current.note = ModelStatus.REJECTED.value, "rolled back"
    if previous is not None:
        previous.status, previous.promoted_at, previous.note = (
            ModelStatus.ACTIVE.value,
            datetime.now(timezone.utc),
            f"reactivated by rollback of {current.version}",
        )
    session.flush()
    return previous


def write_model_file(path: Path, data: bytes | None) -> None:
    """Put the artefact at ``path`` atomically, or remove the file when there is no active model."""
    if data is None:
        path.unlink(missing_ok=True)
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".relevance-", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def serve_database_model(path: Path, url: str | None = None) -> bool:
    """Bring the database's active model to ``path`` (no change when they agree); True when the file changed.

    With no model in the database at all the file is left alone (a model from `cnai train` keeps working);
    with models but none active, the file is removed (the lexicon alone serves).
    """
    from services.database import unit_of_work

    with unit_of_work(url) as session:
        active = active_model_row(session)
        if active is None:
            if session.execute(select(ClassifierModel.id).limit(1)).first() is None:
                return False
            if path.exists():
                write_model_file(path, None)
                return True
            return False
        try:
            current = hashlib.sha256(path.read_bytes()).hexdigest()[:8]
        except OSError:
            current = ""
        if "ml-" + current == active.version:
            return False
        write_model_file(path, active.artefact)
    log.info("serving learned model %s from the database", active.version)
    return True
