"""Learning curve: as simulated readers label a stream, what happens to precision and recall on items they did not label?

The stream is the labelled dev set (``$CNAI_SHARED_DIR/eval/dev.jsonl``, default ``../shared``)
without its held-out slice (ids whose SHA-1 is 0 mod 5), in a fixed random order. Two desks:

* ``core``: readers want exactly the beat (label 2 relevant, 0 not; borderline items left out).
  The lexicon was tuned on this file, so the curve can only show that learning does no harm.
* ``wide``: readers also want the peripheral, AI-adjacent Chinese news (labels 2 and 1 relevant).
  The lexicon misses those; the curve shows what the readers' answers teach.
 Three simulated readers answer alerts through the real feedback service
(``record_feedback``: Slack, web, email), each wrong ``READER_ERROR`` of the time. After every
``STEP`` answers the beat task's retrain runs (``services.learning.retrain``: train on the labels,
promote only if cross-validated precision and recall do not drop), the active model is served
from the database to the model file as a worker would, and the real classifier (lexicon blended
with the active model) scores the items nobody labelled: the rest of the stream, and the held-out
slice. Prints one line per step, then one JSON line.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

SHARED = Path(os.environ.get("CNAI_SHARED_DIR", REPO_ROOT.parent / "shared"))
DEV_FILE = SHARED / "eval" / "dev.jsonl"
STEP = int(os.environ.get("BENCH_LABEL_STEP", "25"))
READER_ERROR = float(os.environ.get("BENCH_READER_ERROR", "0.05"))
SEED = 14


def held_out(item_id: object) -> bool:
    return int(hashlib.sha1(str(item_id).encode()).hexdigest(), 16) % 5 == 0


def main() -> None:
    if not DEV_FILE.exists():
        print(json.dumps({"bench": "learning_curve", "skipped": f"{DEV_FILE} not found (set CNAI_SHARED_DIR)"}))
        return
    results = {desk: run(desk) for desk in ("core", "wide")}
    print(json.dumps({"bench": "learning_curve", "step": STEP, "reader_error": READER_ERROR, **results}))


def run(desk: str) -> dict[str, object]:
    print(f"== desk {desk!r}", flush=True)
    workdir = Path(tempfile.mkdtemp(prefix="cnai-learning-"))
    os.environ["DATABASE_URL"] = f"sqlite:///{workdir / 'cnai.db'}"
    os.environ["CLASSIFIER_MODEL_PATH"] = str(workdir / "relevance.pkl")

    from db.models import Article
    from services.classify.evaluate import LabelledItem, compute_metrics
    from services.classify.learned import forget_model
    from services.classify.verdicts import score_articles
    from services.database import dispose_engines, unit_of_work
    from services.feedback import FeedbackSource, Target, Verdict, record_feedback
    from services.learning import retrain, serve_database_model
    from services.migrations import upgrade_database
    from services.settings import get_settings

    get_settings.cache_clear()
    dispose_engines()
    upgrade_database(os.environ["DATABASE_URL"])
    items = []
    for line in DEV_FILE.read_text(encoding="utf-8").splitlines():
        raw = json.loads(line)
        truth = raw["label"] == 2 if desk == "core" else raw["label"] >= 1
        if desk == "core" and raw["label"] == 1:
            continue
        items.append(
            LabelledItem(
                raw["id"],
                raw.get("lang") or "",
                raw.get("title") or "",
                raw.get("summary") or "",
                raw.get("link"),
                truth,
            )
        )
    stream = [i for i in items if not held_out(i.id)]
    test = [i for i in items if held_out(i.id)]
    random.Random(SEED).shuffle(stream)
    start = datetime(2026, 1, 1, tzinfo=timezone.utc)
    ids: list[int] = []
    with unit_of_work() as session:
        for n, item in enumerate(stream):
            article = Article(
                title=item.title,
                summary=item.summary,
                language=item.lang,
                url=item.link,
                published_at=start + timedelta(minutes=n),
                fingerprint=hashlib.sha256(f"{item.id}".encode()).hexdigest(),
            )
            session.add(article)
            session.flush()
            ids.append(article.id)

    def figures(subset: list[LabelledItem]) -> dict[str, float]:
        verdicts = score_articles([(i.title, i.summary, i.lang, i.link) for i in subset])
        m = compute_metrics([bool(i.relevant) for i in subset], [v.relevant for v in verdicts])
        return {
            "precision": round(m.precision, 3),
            "recall": round(m.recall, 3),
            "f1": round(m.f1, 3),
            "n": len(subset),
        }

    readers = [
        ("@reader-slack", FeedbackSource.SLACK),
        ("reader-web", FeedbackSource.WEB),
        ("reader@example.org", FeedbackSource.EMAIL),
    ]
    noise = random.Random(SEED + 1)
    steps: list[dict[str, Any]] = []
    labelled = 0
    started = time.perf_counter()
    while True:
        rest = stream[labelled:]
        row: dict[str, Any] = {
            "labels": labelled,
            "unlabelled_stream": figures(rest) if rest else None,
            "held_out": figures(test),
        }
        steps.append(row)
        print(
            f"labels {labelled:4d}  unlabelled stream P {row['unlabelled_stream']['precision'] if rest else float('nan'):.3f} "
            f"R {row['unlabelled_stream']['recall'] if rest else float('nan'):.3f}  held-out P {row['held_out']['precision']:.3f} "
            f"R {row['held_out']['recall']:.3f}",
            flush=True,
        )
        if labelled >= len(stream):
            break
        batch = range(labelled, min(labelled + STEP, len(stream)))
        with unit_of_work() as session:
            for n in batch:
                truth = bool(stream[n].relevant)
                answer = truth if noise.random() >= READER_ERROR else not truth
                who, source = readers[n % len(readers)]
                record_feedback(
                    session, who, Verdict.RELEVANT if answer else Verdict.NOT_RELEVANT, source, Target(ids[n], None, [])
                )
        labelled = batch[-1] + 1
        with unit_of_work() as session:
            outcome = retrain(session, min_new_labels=1, folds=5)
        serve_database_model(Path(os.environ["CLASSIFIER_MODEL_PATH"]))
        forget_model()
        steps[-1]["retrain"] = outcome.reason
        print(
            f"             retrain after {labelled} labels: {outcome.model.version if outcome.model else '-'} {outcome.reason}",
            flush=True,
        )
    first, last = steps[0], steps[-1]
    promotions = sum(1 for s in steps if str(s.get("retrain", "")).startswith("promoted"))
    return {
        "stream": len(stream),
        "held_out": len(test),
        "promotions": promotions,
        "held_out_start": {"precision": first["held_out"]["precision"], "recall": first["held_out"]["recall"]},
        "held_out_end": {"precision": last["held_out"]["precision"], "recall": last["held_out"]["recall"]},
        "unlabelled_stream": [
            {
                "labels": s["labels"],
                "precision": s["unlabelled_stream"]["precision"],
                "recall": s["unlabelled_stream"]["recall"],
                "n": s["unlabelled_stream"]["n"],
            }
            for s in steps
            if s["unlabelled_stream"]
        ],
        "seconds": round(time.perf_counter() - started, 1),
    }


if __name__ == "__main__":
    main()
