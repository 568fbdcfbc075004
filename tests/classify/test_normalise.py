"""Text folding: entities, tags, full-width forms, separators, Traditional → Simplified."""

from __future__ import annotations

import pytest

from services.classify.normalise import clean, fold, lower_same_length


@pytest.mark.parametrize(
    ("raw", "folded"),
    [
        ("&lt;b&gt;DeepSeek&lt;/b&gt; &amp; Qwen", "DeepSeek & Qwen"),
        ("<p>China's <em>AI</em> rules</p>", "China's AI rules"),
        ("ＤｅｅｐＳｅｅｋ　发布Ｒ２", "DeepSeek 发布R2"),
        ("large-language\tmodels\n\nand GLM‐4.5 — China’s", "large language models and GLM 4.5 China's"),
        ("人工智能＋行动", "人工智能+行动"),
        ("a\x00b\x1fc\u200bd\ufeffe", "a b c d e"),
        ("ﬁne ①", "fine 1"),
    ],
)
def test_clean(raw: str, folded: str) -> None:
    assert clean(raw) == folded


def test_traditional_becomes_simplified_with_taiwan_vocabulary() -> None:
    text, traditional = fold("台灣晶片產業與人工智慧演算法、資料中心")
    assert traditional
    assert text == "台湾芯片产业与人工智能算法、数据中心"


def test_simplified_text_is_left_alone() -> None:
    text = "华为昇腾芯片与乾隆年间的故事：大模型"
    folded, traditional = fold(text)
    assert not traditional
    assert "大模型" in folded and "芯片" in folded


def test_a_single_traditional_character_in_a_long_simplified_text_is_not_traditional() -> None:
    _, traditional = fold(
        "国务院常务会议研究部署人工智能产业发展，会议指出要加快推进大模型应用落地，後续还将出台配套政策措施"
    )
    assert not traditional


def test_lower_same_length_keeps_offsets() -> None:
    text = "İstanbul AI Σ"
    assert len(lower_same_length(text)) == len(text)
    assert lower_same_length("DeepSeek AI") == "deepseek ai"
