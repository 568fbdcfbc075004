"""Classes of stories the lexicon must get right beyond any one headline: a lab's own
channels, export-control instruments, Traditional Chinese reports on the mainland, the
Chinese-language prior, ordinary words that are also company names."""

from __future__ import annotations

import pytest

from services.classify import score_article


def _has_reason(verdict, text: str) -> bool:  # type: ignore[no-untyped-def]
    return any(text in reason for reason in verdict.reasons)


# --- A lab's own channel -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("title", "summary", "link", "lab"),
    [
        ("Kimi Vendor Verifier", "Rebuilding the", "https://www.kimi.com/blog/kimi-vendor-verifier.html", "Kimi"),
        ("January update", "Improved function calling.", "https://api-docs.deepseek.com/news/news260115", "DeepSeek"),
        (
            "VTP-Base-f16d64",
            "[HuggingFace Model] | image-feature-extraction",
            "https://huggingface.co/MiniMaxAI/VTP-Base-f16d64",
            "MiniMax",
        ),
        ("Model card", "", "https://modelscope.cn/models/deepseek-ai/DeepSeek-Coder-Lite-Test", "DeepSeek"),
        (
            "TopoMesh: Mesh Autoencoding",
            "A VAE-Diffusion pipeline.",
            "https://seed.bytedance.com/en/public_papers/topomesh",
            "ByteDance Seed",
        ),
    ],
)
def test_items_on_a_chinese_labs_own_channel_are_relevant(title: str, summary: str, link: str, lab: str) -> None:
    verdict = score_article(title, summary, "en", link)
    assert verdict.relevant, verdict.reasons
    assert lab in verdict.entities
    assert _has_reason(verdict, f'official channel of "{lab}"')


def test_the_same_text_elsewhere_is_not_a_lab_story() -> None:
    on_channel = score_article(
        "Kimi Vendor Verifier", "Rebuilding the", "en", "https://www.kimi.com/blog/kimi-vendor-verifier.html"
    )
    elsewhere = score_article(
        "Kimi Vendor Verifier", "Rebuilding the", "en", "https://example.com/blog/kimi-vendor-verifier.html"
    )
    assert on_channel.relevant and not elsewhere.relevant


def test_a_parent_companys_general_code_account_is_not_a_lab_channel() -> None:
    verdict = score_article(
        "sonic",
        "[GitHub Repo] | A blazingly fast JSON serializing & deserializing library.",
        "en",
        "https://github.com/bytedance/sonic",
    )
    assert not verdict.relevant
    assert not _has_reason(verdict, "official channel")


def test_a_weak_alias_counts_on_its_labs_channel() -> None:
    verdict = score_article(
        "Hailuo 02 is live", "Cinematic camera moves.", "en", "https://www.minimax.io/news/hailuo-02"
    )
    assert verdict.relevant
    assert verdict.entities == ["MiniMax"]


# --- Export-control instruments aimed at China ---------------------------------------------


@pytest.mark.parametrize(
    "title",
    [
        "Securing America's compute advantage: Anthropic's position on the diffusion rule",
        "US tightens chip export controls, targeting advanced AI accelerators",
        "US adds dozens of firms to Entity List in new curbs on AI supercomputers",
    ],
)
def test_export_control_instruments_tie_a_story_to_china_without_naming_it(title: str) -> None:
    verdict = score_article(title, "")
    assert verdict.relevant, verdict.reasons
    assert "chips_and_export_controls" in verdict.topics


def test_the_entity_list_without_ai_or_china_is_not_the_beat() -> None:
    verdict = score_article("US adds Russian firms to Entity List over drones", "")
    assert not verdict.relevant
    assert "Entity List" in verdict.entities


# --- Generative-AI vocabulary ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("title", "summary"),
    [
        ("ByteDance unveils video generation model", ""),
        ("Tencent releases open mixture-of-experts model", ""),
        ("Baidu shows speech synthesis and text-to-speech upgrades", ""),
        ("Alibaba researchers build multi-agent system for coding", ""),
        ("腾讯发布混合专家模型，激活参数仅130亿", ""),
        ("阿里通义发布语音合成模型，支持十余种方言", ""),
    ],
)
def test_generative_ai_vocabulary_counts_as_ai(title: str, summary: str) -> None:
    verdict = score_article(title, summary)
    assert verdict.relevant, verdict.reasons
    assert _has_reason(verdict, "AI term")


# --- Traditional Chinese: Taiwan and Hong Kong outlets on the mainland ------------------------


@pytest.mark.parametrize(
    "title",
    [
        "中國網信辦公布生成式AI新規，要求標註AI生成內容",
        "陸企搶攻AI大模型市場",
        "華為昇騰晶片出貨倍增，中國AI算力自主化加快",
    ],
)
def test_traditional_chinese_reports_on_mainland_ai_are_relevant(title: str) -> None:
    verdict = score_article(title, "", "zh-Hant")
    assert verdict.relevant, verdict.reasons


def test_taiwans_own_ai_news_is_not_core() -> None:
    verdict = score_article("國科會發布繁中大模型", "國內產業可免費使用。", "zh-Hant")
    assert not verdict.relevant
    assert _has_reason(verdict, "Taiwan term")


# --- The Chinese-language prior -------------------------------------------------------------


@pytest.mark.parametrize(
    "title",
    [
        "国际人工智能联合会议闭幕",  # an international conference abroad
        "国际机器学习大会ICML在温哥华开幕",
        "人工智能时代，我们需要怎样的教育",  # one generic AI word in an essay
    ],
)
def test_chinese_text_with_one_generic_ai_word_is_not_enough(title: str) -> None:
    verdict = score_article(title, "")
    assert not verdict.relevant, verdict.reasons


@pytest.mark.parametrize(
    "title",
    [
        "大模型价格战打响",  # core generative-AI term
        "人工智能立法提上日程",  # AI term in the title plus policy vocabulary
        "“人工智能+”行动推动制造业转型",  # a policy instrument
    ],
)
def test_mainland_chinese_ai_news_without_a_place_name_is_relevant(title: str) -> None:
    verdict = score_article(title, "")
    assert verdict.relevant, verdict.reasons
    assert _has_reason(verdict, "Chinese-language text") or verdict.score >= 0.8


def test_a_chinese_team_at_an_international_conference_is_relevant() -> None:
    verdict = score_article("CVPR 2026 | 南京大学团队提出视频生成新方法", "该方法基于扩散模型。")
    assert verdict.relevant, verdict.reasons
    assert "Chinese universities" in verdict.entities


# --- Names that are also ordinary words ------------------------------------------------------


def test_cambrian_period_is_not_cambricon() -> None:
    # no lexicon stop-phrase (寒武纪时期, 寒武纪大爆发...) in the input: the company needs company or chip context
    verdict = score_article("云南澄江出土五亿年前寒武纪生物群化石", "这些动物生活在寒武纪的海洋中。")
    assert "Cambricon" not in verdict.entities
    assert not verdict.relevant


@pytest.mark.parametrize("title", ["寒武纪股价大涨，市值突破6000亿", "寒武纪发布新一代云端训练芯片"])
def test_cambricon_in_company_or_chip_news(title: str) -> None:
    verdict = score_article(title, "")
    assert "Cambricon" in verdict.entities
    assert verdict.relevant


def test_ambiguous_name_next_to_a_foreign_place_does_not_count() -> None:
    verdict = score_article(
        "Singapore launches AI testing toolkit for generative models",
        "The AI Verify Foundation's Project Moonshot lets developers red-team large language models.",
    )
    assert "Moonshot AI" not in verdict.entities
    assert not verdict.relevant
