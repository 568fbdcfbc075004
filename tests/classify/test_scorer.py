"""score_article on the cases that make or break the beat, and on the customer's seed articles."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from services.classify import CLASSIFIER_VERSION, Verdict, score_article
from services.classify.lexicon import LEXICON_DIR, TOPICS
from tests.conftest import SHARED
from tests.support.services import unavailable

SEEDS = sorted((SHARED / "seeds").glob("*.txt"))
NEUTRAL_PHRASES = [
    term
    for group in yaml.safe_load((LEXICON_DIR / "terms.yaml").read_text(encoding="utf-8"))["neutral"]
    for term in group["terms"]
]


def test_version_names_the_lexicon() -> None:
    assert CLASSIFIER_VERSION.startswith("lex-") and len(CLASSIFIER_VERSION.split("+")[0]) == 12


@pytest.mark.parametrize(
    ("title", "summary"),
    [
        ("DeepSeek releases R2 reasoning model", ""),
        ("China's cyberspace regulator approves another batch of generative AI services", ""),
        ("US tightens export controls on Nvidia H20 chips to China", ""),
        ("Huawei's Ascend 910C ramps up as Beijing pushes domestic AI chips", ""),
        ("智谱发布GLM-4.5，开源模型性能再创新高", ""),
        ("国家网信办发布第十批深度合成服务算法备案信息", ""),
        ("工信部：加快推进算力基础设施建设，发放算力券支持大模型企业", ""),
        ("Beijing offers subsidies for companies training large language models", ""),
    ],
)
def test_core_stories_are_relevant(title: str, summary: str) -> None:
    verdict = score_article(title, summary)
    assert verdict.relevant, verdict.reasons
    assert verdict.score >= 0.5


def test_traditional_chinese_is_understood() -> None:
    verdict = score_article(
        "中國人工智慧晶片出口管制升級，輝達H20受影響", "美國商務部再度收緊對華AI晶片出口。", lang="zh-Hant"
    )
    assert verdict.relevant
    assert "Nvidia H20" in verdict.entities
    assert "chips_and_export_controls" in verdict.topics


def test_taiwan_ai_governance_is_peripheral_not_core() -> None:
    verdict = score_article(
        "行政院會通過人工智慧基本法草案，國內產業界表示歡迎", "數位發展部將負責推動相關配套措施。", lang="zh-Hant"
    )
    assert not verdict.relevant
    assert any("Taiwan" in r for r in verdict.reasons)


def test_mixed_language_title() -> None:
    verdict = score_article("阿里 Qwen3 open-sourced，性能超越 Llama", "")
    assert verdict.relevant
    assert "Qwen" in verdict.entities


@pytest.mark.parametrize(
    ("inside", "as_a_word"),
    [
        # "ai" inside ordinary words and names, next to a China term: never an AI term
        ("Alice said she would maintain the main campaign against the rain in Beijing", "AI campaign in Beijing"),
        ("Mai Tai cocktails return to Beijing bars", "AI returns to Beijing bars"),
        ("Thai airline adds flights to Chengdu", "AI airline adds flights to Chengdu"),
        (
            "Said to be the main rival, Kaiser plans Shanghai expansion",
            "Said to be the main AI rival, Kaiser plans Shanghai expansion",
        ),
        # "LLM" and "GPU" inside longer tokens
        ("LLMBERG ferries add a Shanghai route", "LLM ferries add a Shanghai route"),
    ],
)
def test_short_terms_do_not_match_inside_words_or_names(inside: str, as_a_word: str) -> None:
    """None of these inputs is a lexicon entry: the whole-word rule alone keeps the short term out."""
    assert not any(phrase.casefold() in inside.casefold() for phrase in NEUTRAL_PHRASES), (
        "input must not be a stop-phrase"
    )
    verdict = score_article(inside, "")
    assert not verdict.relevant, verdict.reasons
    assert not any(r.startswith("AI term") for r in verdict.reasons), verdict.reasons
    control = score_article(as_a_word, "")
    assert any(r.startswith("AI term") for r in control.reasons), f"the term as a word must count: {control.reasons}"


def test_ai_story_without_china_is_irrelevant() -> None:
    verdict = score_article(
        "OpenAI launches GPT-5 with better reasoning", "The model beats Claude and Gemini on coding benchmarks."
    )
    assert not verdict.relevant
    assert "no China link found" in verdict.reasons
    assert "OpenAI" in verdict.entities


def test_chinese_language_story_about_foreign_ai_is_irrelevant() -> None:
    verdict = score_article("北京时间周二，OpenAI发布GPT-5，性能大幅提升", "OpenAI首席执行官奥特曼在旧金山表示……")
    assert not verdict.relevant


def test_china_story_without_ai_is_irrelevant() -> None:
    verdict = score_article(
        "China's exports rose 5% in July as trade tensions eased", "Beijing reported a record surplus with the EU."
    )
    assert not verdict.relevant
    assert "no AI term found" in verdict.reasons


def test_china_economy_in_chinese_without_ai_is_irrelevant() -> None:
    verdict = score_article("上海调整非沪籍居民购房政策", "上海市住房城乡建设管理委员会等五部门联合印发通知。")
    assert not verdict.relevant


def test_empty_summary_is_fine() -> None:
    with_empty = score_article("Baidu unveils Ernie 5.0", "")
    assert with_empty.relevant and "ERNIE" in with_empty.entities


def test_title_counts_more_than_summary() -> None:
    in_title = score_article("Chinese AI start-up raises funds", "")
    in_summary = score_article("Start-up raises funds", "A Chinese AI start-up raised funds.")
    assert in_title.score > in_summary.score


@pytest.mark.parametrize("credit", ["头图来自：AI生成", "题图来自：AI生成", "图片由AI生成"])
def test_publisher_credit_lines_do_not_make_a_china_ai_story(credit: str) -> None:
    """A picture-credit line ("image: AI-generated") is not AI news, even in domestic business news."""
    verdict = score_article(
        "国内老牌家电企业对赌协议到期，股价连续下跌",
        f"深圳一家上市公司走到退市边缘…… 本文来自微信公众号：某财经号，{credit}",
        link="https://mp.weixin.qq.com/s?__biz=test",
    )
    assert not verdict.relevant, verdict.reasons
    assert "no AI term found" in verdict.reasons


def test_verdict_shape() -> None:
    verdict = score_article("DeepSeek 发布新一代大模型，国产算力全面适配", "")
    assert isinstance(verdict, Verdict)
    assert set(verdict.topics) <= set(TOPICS)
    assert verdict.entities[0] == "DeepSeek"
    assert any('entity "DeepSeek"' in r for r in verdict.reasons)


@pytest.mark.parametrize("path", SEEDS, ids=[p.name for p in SEEDS])
def test_customer_seed_articles_are_relevant(path: Path) -> None:
    lines = [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    title, summary = lines[0], " ".join(lines[1:])[:600]
    verdict = score_article(title, summary)
    assert verdict.relevant, verdict.reasons
    assert verdict.topics, "a seed article should get at least one topic"


def test_seeds_exist() -> None:
    if not SEEDS:
        unavailable(f"no seed articles under {SHARED / 'seeds'} (set CNAI_SHARED_DIR)")
    assert len(SEEDS) == 5
