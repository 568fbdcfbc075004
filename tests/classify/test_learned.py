"""The learned layer: trains on a few examples, round-trips through its artefact, blends with the lexicon."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from services.classify import classifier_version, score_article
from services.classify.learned import forget_model, load_model, model_text
from services.classify.scorer import lexicon_verdict
from services.classify.training import Example, save_model, train
from services.settings import get_settings

REPO_ROOT = Path(__file__).resolve().parents[2]

RELEVANT = [
    "DeepSeek releases open-source reasoning model",
    "Alibaba's Qwen tops open model leaderboard",
    "China's CAC publishes generative AI filing list",
    "Moonshot AI raises funds for Kimi chatbot",
    "Huawei Ascend chips power Chinese LLM training",
    "Beijing subsidises large language model start-ups",
    "国家网信办发布生成式人工智能服务备案",
    "智谱发布新一代大模型",
    "百度文心一言用户突破三亿",
    "工信部推动算力基础设施建设",
    "字节跳动豆包大模型降价",
    "国产AI芯片寒武纪营收大增",
]
IRRELEVANT = [
    "Bayern Munich win the cup final",
    "Stocks rally as inflation cools",
    "New pasta recipe for summer",
    "OpenAI releases GPT-5 model",
    "Anthropic raises money for Claude",
    "China's exports rise in July",
    "上海房价小幅上涨",
    "国足世预赛失利",
    "夏季旅游高峰到来",
    "谷歌发布新款手机",
    "中国汽车出口创新高",
    "美联储维持利率不变",
]


def _use_model_path(env, path: str | None) -> None:  # type: ignore[no-untyped-def]
    if path is None:
        env.delenv("CLASSIFIER_MODEL_PATH", raising=False)
    else:
        env.setenv("CLASSIFIER_MODEL_PATH", path)
    get_settings.cache_clear()
    forget_model()


def _examples() -> list[Example]:
    return [Example(t, "", True) for t in RELEVANT] + [Example(t, "", False) for t in IRRELEVANT]


@pytest.fixture(scope="module")
def trained() -> tuple[dict, object]:
    return train(_examples(), folds=3)


def test_train_reports_cross_validated_figures(trained) -> None:  # type: ignore[no-untyped-def]
    artefact, report = trained
    assert report.examples == 24 and report.relevant == 12 and report.folds == 3
    for name in ("lexicon", "model", "blend"):
        figures = report.cv[name]
        assert 0.0 <= figures["precision"] <= 1.0 and 0.0 <= figures["recall"] <= 1.0
        assert figures["tp"] + figures["fn"] == 12 and figures["fp"] + figures["tn"] == 12
    assert artefact["format"] == 1 and artefact["blend"] == report.blend


def test_artefact_round_trip(trained, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    artefact, _ = trained
    path = tmp_path / "models" / "relevance.pkl"
    digest = save_model(artefact, path)
    model = load_model(path)
    assert model.digest == digest and model.blend == artefact["blend"]
    texts = [model_text(t, "") for t in ("DeepSeek 发布新模型", "Bayern win again")]
    assert model.probabilities(texts) == pytest.approx(list(artefact["pipeline"].predict_proba(texts)[:, 1]))
    assert model.probabilities(texts)[0] > model.probabilities(texts)[1]


def test_score_article_blends_the_model_when_present(trained, tmp_path: Path, env) -> None:  # type: ignore[no-untyped-def]
    artefact, _ = trained
    path = tmp_path / "relevance.pkl"
    digest = save_model({**artefact, "blend": 0.5}, path)
    _use_model_path(env, str(path))
    try:
        assert classifier_version().endswith(f"+ml-{digest}")
        title = "Moonshot AI unveils a new Kimi model"
        verdict = score_article(title, "")
        probability = load_model(path).probabilities([model_text(title, "")])[0]
        expected = round(0.5 * lexicon_verdict(title, "").score + 0.5 * probability, 4)
        assert verdict.score == pytest.approx(expected, abs=1e-4)
        assert verdict.reasons[-1].startswith("learned model: p=")
    finally:
        _use_model_path(env, None)
    assert "+ml-" not in classifier_version()


def test_broken_artefact_falls_back_to_the_lexicon(tmp_path: Path, env) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "relevance.pkl"
    path.write_bytes(b"not a pickle")
    _use_model_path(env, str(path))
    try:
        assert classifier_version().startswith("lex-") and "+ml-" not in classifier_version()
        assert score_article("DeepSeek releases R2", "").relevant
    finally:
        _use_model_path(env, None)


def test_too_few_examples_is_an_error() -> None:
    with pytest.raises(ValueError, match="at least 2 relevant"):
        train([Example("DeepSeek", "", True), Example("Bayern", "", False)])


def test_scikit_learn_is_not_imported_without_an_artefact(tmp_path: Path) -> None:
    code = (
        "import sys; from services.classify import score_article; score_article('DeepSeek 发布新模型', '');"
        "print('sklearn' in sys.modules)"
    )
    env = {"PATH": "/usr/bin:/bin", "CLASSIFIER_MODEL_PATH": str(tmp_path / "none.pkl")}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, cwd=REPO_ROOT, env=env, timeout=60)
    assert result.returncode == 0, result.stderr.decode()
    assert result.stdout.decode().strip() == "False"
