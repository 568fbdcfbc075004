"""`cnai eval`: precision, recall and F1 of the classifier on a labelled JSON Lines file.

The file has dev.jsonl's format: objects with ``id``, ``lang``, ``title``, ``summary``,
``link`` and ``label`` (2 relevant, 0 irrelevant, 1 borderline: excluded from the
figures). Figures are given overall and per language (``en``; ``zh`` includes
``zh-Hant``), next to a naive keyword baseline: (China words) AND (AI words), with the
calibration of the score (Brier score and a binned reliability table).

Given topic labels (``dev_topics.jsonl`` format: ``id``, ``topics``, ``priority``), it
also reports topic micro-precision/recall/F1 (per topic too) and the priority confusion
matrix, with the share of must-see (``high``) items marked high and of can-wait
(``low``) items marked high.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from services.classify.article import ArticleText
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
        return {
            **asdict(self),
            "precision": round(self.precision, 4),
            "recall": round(self.recall, 4),
            "f1": round(self.f1, 4),
        }


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


PRIORITY_COLUMNS = ("high", "normal", "low", "none")  # "none": judged not relevant
PRIORITY_ROWS = ("high", "normal", "low")
RELIABILITY_BINS = 10


@dataclass(frozen=True)
class TopicLabel:
    topics: tuple[str, ...]
    priority: str


@dataclass(frozen=True)
class Calibration:
    """How well the score reads as a probability of relevance (borderline items excluded)."""

    brier: float
    bins: list[dict[str, Any]]  # {"low", "high", "n", "mean_score", "relevant_rate"}

    def as_dict(self) -> dict[str, Any]:
        return {"brier": round(self.brier, 4), "bins": self.bins}


@dataclass
class TopicEvaluation:
    micro: Metrics
    per_topic: dict[str, Metrics]
    priority: dict[str, dict[str, int]]  # truth -> predicted -> count
    items: int

    def share_high(self, truth: str) -> float:
        row = self.priority.get(truth, {})
        total = sum(row.values())
        return row.get("high", 0) / total if total else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "items": self.items,
            "micro": self.micro.as_dict(),
            "per_topic": {k: m.as_dict() for k, m in self.per_topic.items()},
            "priority_matrix": self.priority,
            "must_see_marked_high": round(self.share_high("high"), 4),
            "can_wait_marked_high": round(self.share_high("low"), 4),
        }


@dataclass
class Evaluation:
    classifier: dict[str, Metrics] = field(default_factory=dict)
    baseline: dict[str, Metrics] = field(default_factory=dict)
    misclassified: list[dict[str, Any]] = field(default_factory=list)
    borderline: int = 0
    calibration: Calibration | None = None
    topics: TopicEvaluation | None = None

    def as_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "classifier": {k: m.as_dict() for k, m in self.classifier.items()},
            "baseline": {k: m.as_dict() for k, m in self.baseline.items()},
            "borderline_excluded": self.borderline,
        }
        if self.calibration is not None:
            data["calibration"] = self.calibration.as_dict()
        if self.topics is not None:
            data["topics"] = self.topics.as_dict()
        data["misclassified"] = self.misclassified
        return data


def read_topic_labels(path: Path) -> dict[Any, TopicLabel]:
    """Topic and priority labels by item id (dev_topics.jsonl format); raises ValueError naming the bad line."""
    from services.classify.lexicon import TOPICS
    from services.classify.priority import PRIORITIES

    labels: dict[Any, TopicLabel] = {}
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                topics = row["topics"]
                if not isinstance(topics, list) or any(t not in TOPICS for t in topics):
                    raise ValueError(f"topics must be a list of topic ids, got {topics!r}")
                if row["priority"] not in PRIORITIES:
                    raise ValueError(f"priority must be high, normal or low, got {row['priority']!r}")
                labels[row["id"]] = TopicLabel(tuple(topics), str(row["priority"]))
            except (ValueError, KeyError, TypeError) as exc:
                raise ValueError(f"{path}:{number}: {exc}") from exc
    return labels


def calibration(truth: list[bool], scores: list[float], bins: int = RELIABILITY_BINS) -> Calibration:
    """Brier score and a reliability table with ``bins`` equal-width score bins (empty bins left out)."""
    brier = sum((s - float(t)) ** 2 for t, s in zip(truth, scores, strict=True)) / len(truth) if truth else 0.0
    table = []
    for b in range(bins):
        low, high = b / bins, (b + 1) / bins
        members = [(t, s) for t, s in zip(truth, scores) if low <= s < high or (b == bins - 1 and s == 1.0)]
        if members:
            table.append(
                {
                    "low": round(low, 2),
                    "high": round(high, 2),
                    "n": len(members),
                    "mean_score": round(sum(s for _, s in members) / len(members), 4),
                    "relevant_rate": round(sum(1 for t, _ in members if t) / len(members), 4),
                }
            )
    return Calibration(brier, table)


def evaluate_topics(
    items: list[LabelledItem], verdicts: list[Verdict], labels: dict[Any, TopicLabel]
) -> TopicEvaluation:
    """Topic micro-P/R/F1 and the priority confusion matrix over the labelled items.

    Predicted topics are counted whatever the relevance verdict; an item judged not
    relevant has priority "none"."""
    from services.classify.lexicon import TOPICS

    tp = fp = fn = 0
    per = {t: [0, 0, 0] for t in TOPICS}
    matrix = {row: {col: 0 for col in PRIORITY_COLUMNS} for row in PRIORITY_ROWS}
    n = 0
    for item, verdict in zip(items, verdicts, strict=True):
        label = labels.get(item.id)
        if label is None:
            continue
        n += 1
        gold, predicted = set(label.topics), set(verdict.topics)
        tp, fp, fn = tp + len(gold & predicted), fp + len(predicted - gold), fn + len(gold - predicted)
        for topic in gold | predicted:
            counts = per[topic]
            counts[0 if topic in gold and topic in predicted else (1 if topic in predicted else 2)] += 1
        column = verdict.priority if verdict.relevant and verdict.priority in PRIORITY_COLUMNS else "none"
        matrix[label.priority][column] += 1
    per_topic = {t: Metrics(tp=c[0], fp=c[1], fn=c[2], tn=0) for t, c in per.items() if any(c)}
    return TopicEvaluation(Metrics(tp=tp, fp=fp, fn=fn, tn=0), per_topic, matrix, n)


def evaluate(
    items: list[LabelledItem],
    classify: Callable[[list[LabelledItem]], list[Verdict]] | None = None,
    topic_labels: dict[Any, TopicLabel] | None = None,
) -> Evaluation:
    """Score ``items`` (with the full classifier unless ``classify`` is given) and compare with the labels."""
    if classify is None:
        from services.classify.verdicts import score_articles

        def classify(batch: list[LabelledItem]) -> list[Verdict]:
            return score_articles([ArticleText(i.title, i.summary, i.link, i.lang) for i in batch])

    all_verdicts = classify(items)
    judged = [i for i in items if i.relevant is not None]
    verdicts = [v for i, v in zip(items, all_verdicts) if i.relevant is not None]
    baseline = [baseline_relevant(i.title, i.summary) for i in judged]
    result = Evaluation(borderline=len(items) - len(judged))
    groups = ["all"] + sorted({language_group(i.lang) for i in judged})
    for group in groups:
        members = [n for n, i in enumerate(judged) if group == "all" or language_group(i.lang) == group]
        truth = [bool(judged[n].relevant) for n in members]
        result.classifier[group] = compute_metrics(truth, [verdicts[n].relevant for n in members])
        result.baseline[group] = compute_metrics(truth, [baseline[n] for n in members])
    result.calibration = calibration([bool(i.relevant) for i in judged], [v.score for v in verdicts])
    if topic_labels is not None:
        result.topics = evaluate_topics(items, all_verdicts, topic_labels)
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
    if result.calibration is not None:
        lines.append(f"calibration: Brier score {result.calibration.brier:.4f} (borderline excluded)")
        lines.append(f"{'score bin':>12}{'n':>6}{'mean score':>12}{'relevant':>10}")
        for row in result.calibration.bins:
            lines.append(
                f"{row['low']:>5.1f}-{row['high']:<6.1f}{row['n']:>6d}{row['mean_score']:>12.3f}{row['relevant_rate']:>10.3f}"
            )
        lines.append("")
    if result.topics is not None:
        lines.extend(_format_topics(result.topics))
    if show_misclassified:
        lines.append(f"misclassified ({len(result.misclassified)}):")
        for miss in result.misclassified:
            lines.append(
                f"- [{miss['id']}] {miss['lang']} expected {miss['expected']}, score {miss['score']:.3f}: {miss['title']}"
            )
            for reason in miss["reasons"][:5]:
                lines.append(f"    · {reason}")
    return "\n".join(lines)


def _format_topics(topics: TopicEvaluation) -> list[str]:
    micro = topics.micro
    lines = [
        f"topics ({topics.items} labelled items): micro P {micro.precision:.3f} R {micro.recall:.3f} F1 {micro.f1:.3f}"
    ]
    for topic, m in sorted(topics.per_topic.items()):
        lines.append(
            f"  {topic:30} P {m.precision:.3f} R {m.recall:.3f} F1 {m.f1:.3f}  (tp {m.tp} fp {m.fp} fn {m.fn})"
        )
    lines.append("")
    lines.append("priority confusion matrix (rows: label, columns: predicted; none = judged not relevant)")
    lines.append(f"{'':10}" + "".join(f"{c:>8}" for c in PRIORITY_COLUMNS))
    for row in PRIORITY_ROWS:
        lines.append(f"{row:10}" + "".join(f"{topics.priority[row][c]:8d}" for c in PRIORITY_COLUMNS))
    lines.append(
        f"must-see (high) marked high: {topics.share_high('high'):.3f}; can-wait (low) marked high: {topics.share_high('low'):.3f}"
    )
    lines.append("")
    return lines


def evaluate_file(path: Path) -> Evaluation:
    return evaluate(read_labelled(path))


def report_json(result: Evaluation) -> str:
    return json.dumps(result.as_dict(), ensure_ascii=False, indent=2)
