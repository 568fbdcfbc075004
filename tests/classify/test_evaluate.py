"""`cnai eval`: metrics, per-language figures and the keyword baseline."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

from services.classify.evaluate import (
    baseline_relevant,
    calibration,
    compute_metrics,
    evaluate,
    read_labelled,
    read_topic_labels,
)
from services.classify.scorer import Verdict
from tests.conftest import SHARED
from tests.support.services import require_file

REPO_ROOT = Path(__file__).resolve().parents[2]
DEV = SHARED / "eval" / "dev.jsonl"

ROWS = [
    {"id": 1, "lang": "en", "title": "DeepSeek launches R2 model", "summary": "", "label": 2},
    {"id": 2, "lang": "en", "title": "China AI rules tighten", "summary": "", "label": 2},
    {"id": 3, "lang": "en", "title": "Bayern win the cup", "summary": "", "label": 0},
    {"id": 4, "lang": "en", "title": "China robotaxi fleet grows", "summary": "", "label": 1},
    {"id": 5, "lang": "zh", "title": "国内大模型价格战", "summary": "", "label": 2},
    {"id": 6, "lang": "zh-Hant", "title": "台北天氣晴朗", "summary": "", "label": 0},
    {"id": 7, "lang": "zh", "title": "中国出口增长", "summary": "", "label": 0},
]


@pytest.fixture
def labelled_file(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.jsonl"
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in ROWS) + "\n\n", encoding="utf-8")
    return path


def test_compute_metrics() -> None:
    metrics = compute_metrics([True, True, True, False, False], [True, False, True, True, False])
    assert (metrics.tp, metrics.fn, metrics.fp, metrics.tn) == (2, 1, 1, 1)
    assert metrics.precision == pytest.approx(2 / 3) and metrics.recall == pytest.approx(2 / 3)
    assert metrics.f1 == pytest.approx(2 / 3)
    assert compute_metrics([False], [False]).precision == 0.0


def test_evaluate_with_a_fixed_classifier(labelled_file: Path) -> None:
    items = read_labelled(labelled_file)
    assert [i.relevant for i in items] == [True, True, False, None, True, False, False]
    says_relevant = {1, 3, 5}  # one hit, one false alarm, one zh hit; misses id 2

    def classify(batch):  # type: ignore[no-untyped-def]
        return [Verdict(i.id in says_relevant, 1.0 if i.id in says_relevant else 0.0, [], [], []) for i in batch]

    result = evaluate(items, classify)
    assert result.borderline == 1
    overall, en, zh = result.classifier["all"], result.classifier["en"], result.classifier["zh"]
    assert (overall.tp, overall.fp, overall.fn, overall.tn) == (2, 1, 1, 2)
    assert (en.tp, en.fp, en.fn, en.tn) == (1, 1, 1, 0)
    assert (zh.tp, zh.fp, zh.fn, zh.tn) == (1, 0, 0, 2)  # zh-Hant counts as zh
    assert sorted(m["id"] for m in result.misclassified) == [2, 3]


def test_baseline_is_china_words_and_ai_words() -> None:
    assert baseline_relevant("China AI rules tighten", "")
    assert baseline_relevant("国内人工智能企业", "")
    assert not baseline_relevant("DeepSeek launches R2 model", "")
    assert not baseline_relevant("Chinese chef said", "")  # "said" is not "AI"


def test_bad_label_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text('{"id": 1, "title": "x", "label": 2}\n{"id": 2, "title": "y", "label": 5}\n', encoding="utf-8")
    with pytest.raises(ValueError, match="bad.jsonl:2"):
        read_labelled(path)


def test_cli_eval_json(labelled_file: Path) -> None:
    cnai = Path(sys.executable).parent / "cnai"
    command = [str(cnai)] if cnai.exists() else [sys.executable, "-c", "from cli.main import cli; cli()"]
    result = subprocess.run(
        [*command, "eval", str(labelled_file), "--json"], capture_output=True, cwd=REPO_ROOT, timeout=60
    )
    assert result.returncode == 0, result.stderr.decode()
    report = json.loads(result.stdout)
    assert report["classifier_version"].startswith("lex-")
    assert set(report["classifier"]) == {"all", "en", "zh"} and set(report["baseline"]) == {"all", "en", "zh"}
    assert report["borderline_excluded"] == 1
    assert report["baseline"]["all"]["tp"] == 1  # only "China AI rules tighten" has both word sets


TOPIC_ROWS = [
    {"id": 1, "topics": ["model_releases"], "priority": "high"},
    {"id": 2, "topics": ["regulation", "security_and_content_control"], "priority": "high"},
    {"id": 4, "topics": ["industry_and_investment"], "priority": "low"},
    {"id": 5, "topics": ["industry_and_investment"], "priority": "normal"},
]


@pytest.fixture
def topics_file(tmp_path: Path) -> Path:
    path = tmp_path / "topics.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in TOPIC_ROWS) + "\n", encoding="utf-8")
    return path


def test_topic_micro_figures_and_priority_matrix(labelled_file: Path, topics_file: Path) -> None:
    items = read_labelled(labelled_file)
    predicted = {
        1: (["model_releases"], "high"),
        2: (["regulation"], "normal"),
        4: (["model_releases"], "high"),
        5: (["industry_and_investment", "model_releases"], None),
    }

    def classify(batch):  # type: ignore[no-untyped-def]
        out = []
        for i in batch:
            topics, priority = predicted.get(i.id, ([], None))
            out.append(Verdict(priority is not None, 0.9 if priority else 0.1, topics, [], [], priority=priority))
        return out

    result = evaluate(items, classify, topic_labels=read_topic_labels(topics_file))
    topics = result.topics
    assert topics is not None and topics.items == 4
    # gold 5 topics, predicted 5; right: model_releases(1), regulation(2), industry_and_investment(5)
    assert (topics.micro.tp, topics.micro.fp, topics.micro.fn) == (3, 2, 2)
    assert topics.priority["high"] == {"high": 1, "normal": 1, "low": 0, "none": 0}
    assert topics.priority["low"]["high"] == 1 and topics.priority["normal"]["none"] == 1
    assert topics.share_high("high") == 0.5 and topics.share_high("low") == 1.0


def test_calibration_brier_and_bins() -> None:
    cal = calibration([True, False, True, False], [0.95, 0.05, 0.55, 0.45])
    assert cal.brier == pytest.approx((0.05**2 + 0.05**2 + 0.45**2 + 0.45**2) / 4)
    assert [(b["low"], b["n"], b["relevant_rate"]) for b in cal.bins] == [
        (0.0, 1, 0.0),
        (0.4, 1, 0.0),
        (0.5, 1, 1.0),
        (0.9, 1, 1.0),
    ]


def test_bad_topic_label_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    path.write_text(
        '{"id": 1, "topics": ["regulation"], "priority": "high"}\n{"id": 2, "topics": ["weather"], "priority": "high"}\n'
    )
    with pytest.raises(ValueError, match="t.jsonl:2"):
        read_topic_labels(path)


def test_cli_eval_with_topics_prints_topic_figures_matrix_and_calibration(
    labelled_file: Path, topics_file: Path
) -> None:
    cnai = Path(sys.executable).parent / "cnai"
    command = [str(cnai)] if cnai.exists() else [sys.executable, "-c", "from cli.main import cli; cli()"]
    result = subprocess.run(
        [*command, "eval", str(labelled_file), "--topics", str(topics_file)],
        capture_output=True,
        cwd=REPO_ROOT,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr.decode()
    out = result.stdout.decode()
    assert "topics (4 labelled items): micro P" in out and "priority confusion matrix" in out
    assert "calibration: Brier score" in out and "must-see (high) marked high" in out
    as_json = subprocess.run(
        [*command, "eval", str(labelled_file), "--topics", str(topics_file), "--json"],
        capture_output=True,
        cwd=REPO_ROOT,
        timeout=60,
    )
    report = json.loads(as_json.stdout)
    assert set(report["topics"]["priority_matrix"]) == {"high", "normal", "low"} and "brier" in report["calibration"]


def held_out(item_id: object) -> bool:
    """The frozen held-out slice of dev.jsonl (docs/classifier.md, "Held-out slice"): never used for tuning."""
    return int(hashlib.sha1(str(item_id).encode()).hexdigest(), 16) % 5 == 0


def test_held_out_slice_quality_gate() -> None:
    """The quality gate runs on the 40 held-out items only; the lexicon was never fitted to them.

    Thresholds are set from the slice: it holds 13 relevant and 18 irrelevant items (9 borderline, excluded),
    where the classifier measured precision 1.000 and recall 1.000 when the slice was frozen and the keyword
    baseline F1 0.700. One error either way is tolerated (12/13 = 0.923), two are not.
    """
    items = read_labelled(require_file(DEV))
    slice_ = [item for item in items if held_out(item.id)]
    assert len(slice_) == 40, "the held-out slice changed: it is frozen (see docs/classifier.md)"
    assert sum(item.relevant is True for item in slice_) == 13 and sum(item.relevant is False for item in slice_) == 18
    result = evaluate(slice_)
    figures = result.classifier["all"]
    assert figures.fn <= 1 and figures.recall >= 0.92, figures.as_dict()
    assert figures.fp <= 1 and figures.precision >= 0.92, figures.as_dict()
    assert figures.f1 >= result.baseline["all"].f1 + 0.15, (figures.as_dict(), result.baseline["all"].as_dict())
    for language in ("en", "zh"):
        assert result.classifier[language].fn + result.classifier[language].fp <= 1, (
            language,
            result.classifier[language].as_dict(),
        )


FRESH = Path(__file__).parent / "data" / "fresh_labelled.jsonl"


def test_fresh_items_quality_gate() -> None:
    """24 items written and labelled for this gate (12 relevant, 12 irrelevant; en, zh, zh-Hant), because the
    held-out slice is small. Measured when written: precision 1.000, recall 1.000, keyword baseline F1 0.400."""
    result = evaluate(read_labelled(FRESH))
    figures = result.classifier["all"]
    assert figures.tp + figures.fn == 12 and figures.fp + figures.tn == 12
    assert figures.fn <= 1 and figures.fp <= 1, figures.as_dict()
    assert figures.f1 >= result.baseline["all"].f1 + 0.3


FRESH_TRIAGE = Path(__file__).parent / "data" / "fresh_triage.jsonl"
FRESH_TRIAGE_TOPICS = Path(__file__).parent / "data" / "fresh_triage_topics.jsonl"


def test_fresh_triage_quality_gate() -> None:
    """111 items never tuned on (none in dev): 65 drawn from the shared feeds and 46 more (7 from the feeds, 39
    written in the style of 2024-2026 China AI news), relevance, topics and priority labelled before scoring.
    Measured when added: relevance P/R 0.982/0.982 (en 1.000/0.971, zh 0.958/1.000), must-see marked high
    26/28 = 0.929, can-wait marked high 0/11, topic micro-F1 0.790. The gate is the product's target."""
    items = read_labelled(FRESH_TRIAGE)
    result = evaluate(items, topic_labels=read_topic_labels(FRESH_TRIAGE_TOPICS))
    assert len(items) == 111
    for language in ("en", "zh"):
        figures = result.classifier[language]
        assert figures.precision >= 0.95 and figures.recall >= 0.95, (language, figures.as_dict())
    topics = result.topics
    assert topics is not None and sum(topics.priority["high"].values()) == 28
    assert topics.share_high("high") >= 0.90, topics.priority
    assert topics.share_high("low") <= 0.10, topics.priority
    assert topics.micro.f1 >= 0.77, topics.micro.as_dict()


def test_held_out_rule_picks_by_id_only() -> None:
    assert [i for i in range(20) if held_out(i)] == [
        i for i in range(20) if int(hashlib.sha1(str(i).encode()).hexdigest(), 16) % 5 == 0
    ]
    assert held_out("a") is held_out("a")
