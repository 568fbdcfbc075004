"""`cnai eval`: precision, recall and F1 of the classifier on a labelled JSON Lines file.

The file has dev.jsonl's format: objects with ``id``, ``lang``, ``title``, ``summary``,
``link`` and ``label`` (2 relevant, 0 irrelevant, 1 borderline: excluded from the
figures). Figures are given overall and per language (``en``; ``zh`` includes
``zh-Hant``), next to a naive keyword baseline: (China words) AND (AI words).
"""
from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from services.classify.scorer import Verdict


@dataclass(frozen=True)
class LabelledItem:
    id: Any
    lang: str
    title: str
    summary: str
    link: str | None
    relevant: bool | None  # None: borderline, excluded from the figures


@dataclass(frozen=True)
class Metrics:
    tp: int
    fp: int
    fn: int
    tn: int

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 0.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 0.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    def as_dict(self) -> dict[str, float | int]:
        return {**asdict(self), "precision": round(self.precision, 4), "recall": round(self.recall, 4), "f1": round(self.f1, 4)}


def compute_metrics(truth: Iterable[bool], predicted: Iterable[bool]) -> Metrics:
    tp = fp = fn = tn = 0
    for t, p in zip(truth, predicted, strict=True):
        if t and p:
            tp += 1
        elif p:
            fp += 1
        elif t:
            fn += 1
        else:
            tn += 1
    return Metrics(tp=tp, fp=fp, fn=fn, tn=tn)


def language_group(lang: str) -> str:
    return "zh" if lang.lower().startswith("zh") else (lang.lower() or "unknown")


_BASELINE_CHINA = re.compile(r"\b(china|chinese)\b|中国|国内|中國|國內", re.IGNORECASE)
_BASELINE_AI = re.compile(r"\bAI\b|artificial intelligence|人工智能|人工智慧")


def baseline_relevant(title: str, summary: str) -> bool:
    """The naive query a reader would type: (china|chinese|中国|国内) AND (AI|artificial intelligence|人工智能)."""
    text = f"{title}\n{summary}"
    return bool(_BASELINE_CHINA.search(text) and _BASELINE_AI.search(text))


def read_labelled(path: Path) -> list[LabelledItem]:
    """Items of a labelled JSON Lines file; raises ValueError naming the bad line."""
    items = []
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                if not isinstance(row, dict):
                    raise ValueError(f"expected a JSON object, got {type(row).__name__}")
                if "label" not in row:
                    raise ValueError(
                        "no 'label' (0 irrelevant, 1 borderline, 2 relevant): `cnai eval` needs a labelled file; "
                        "`cnai classify` scores unlabelled articles"
                    )
                label = row["label"]
                if label not in (0, 1, 2):
                    raise ValueError(f"label must be 0, 1 or 2, got {label!r}")
                items.append(
                    LabelledItem(
                        id=row.get("id"),
                        lang=str(row.get("lang") or ""),
                        title=str(row.get("title") or ""),
                        summary=str(row.get("summary") or ""),
                        link=row.get("link"),
                        relevant=None if label == 1 else label == 2,
                    )
                )
            except json.JSONDecodeError as exc:
                raise ValueError(f"{path}:{number}: not valid JSON: {exc.msg} (column {exc.pos + 1})") from None
            except (ValueError, KeyError, TypeError) as exc:
                raise ValueError(f"{path}:{number}: {exc}") from None
    return items


@dataclass
class Evaluation:
    classifier: dict[str, Metrics] = field(default_factory=dict)
    baseline: dict[str, Metrics] = field(default_factory=dict)
    misclassified: list[dict[str, Any]] = field(default_factory=list)
    borderline: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "classifier": {k: m.as_dict() for k, m in self.classifier.items()},
            "baseline": {k: m.as_dict() for k, m in self.baseline.items()},
            "borderline_excluded": self.borderline,
            "misclassified": self.misclassified,
        }


def evaluate(items: list[LabelledItem], classify: Callable[[list[LabelledItem]], list[Verdict]] | None = None) -> Evaluation:
    """Score ``items`` (with the full classifier unless ``classify`` is given) and compare with the labels."""
    if classify is None:
        from services.classify.verdicts import score_articles

        def classify(batch: list[LabelledItem]) -> list[Verdict]:
            return score_articles([(i.title, i.summary, i.lang, i.link) for i in batch])

    judged = [i for i in items if i.relevant is not None]
    verdicts = classify(judged)
    baseline = [baseline_relevant(i.title, i.summary) for i in judged]
    result = Evaluation(borderline=len(items) - len(judged))
    groups = ["all"] + sorted({language_group(i.lang) for i in judged})
    for group in groups:
        members = [n for n, i in enumerate(judged) if group == "all" or language_group(i.lang) == group]
        truth = [bool(judged[n].relevant) for n in members]
        result.classifier[group] = compute_metrics(truth, [verdicts[n].relevant for n in members])
        result.baseline[group] = compute_metrics(truth, [baseline[n] for n in members])
    for item, verdict in zip(judged, verdicts):
        if verdict.relevant != item.relevant:
            result.misclassified.append(
                {
                    "id": item.id,
                    "lang": item.lang,
                    "expected": "relevant" if item.relevant else "irrelevant",
                    "score": verdict.score,
                    "title": item.title,
                    "reasons": verdict.reasons,
                }
            )
    return result


def format_report(result: Evaluation, show_misclassified: bool = True) -> str:
    lines = [f"{'':10} {'classifier':>30}   {'baseline (China AND AI words)':>30}"]
    lines.append(f"{'':10} {'P':>8} {'R':>8} {'F1':>8} {'n':>4}   {'P':>8} {'R':>8} {'F1':>8}")
    for group, metrics in result.classifier.items():
        base = result.baseline[group]
        n = metrics.tp + metrics.fp + metrics.fn + metrics.tn
        lines.append(
            f"{group:10} {metrics.precision:8.3f} {metrics.recall:8.3f} {metrics.f1:8.3f} {n:4d}"
            f"   {base.precision:8.3f} {base.recall:8.3f} {base.f1:8.3f}"
        )
    lines.append(f"(borderline items excluded: {result.borderline})")
    lines.append("")
    for name, table in (("classifier", result.classifier["all"]), ("baseline", result.baseline["all"])):
        lines.append(f"confusion matrix, {name} (rows: truth, columns: predicted)")
        lines.append(f"{'':14}{'relevant':>10}{'irrelevant':>12}")
        lines.append(f"{'relevant':14}{table.tp:10d}{table.fn:12d}")
        lines.append(f"{'irrelevant':14}{table.fp:10d}{table.tn:12d}")
        lines.append("")
    if show_misclassified:
        lines.append(f"misclassified ({len(result.misclassified)}):")
        for miss in result.misclassified:
            lines.append(f"- [{miss['id']}] {miss['lang']} expected {miss['expected']}, score {miss['score']:.3f}: {miss['title']}")
            for reason in miss["reasons"][:5]:
                lines.append(f"    · {reason}")
    return "\n".join(lines)


def evaluate_file(path: Path) -> Evaluation:
    return evaluate(read_labelled(path))


def report_json(result: Evaluation) -> str:
    return json.dumps(result.as_dict(), ensure_ascii=False, indent=2)
