"""score_article on arbitrary text: never raises, a score in [0, 1], the same verdict for the same input."""

from __future__ import annotations

import math

from hypothesis import example, given, settings
from hypothesis import strategies as st

from services.classify import score_article

SETTINGS = settings(max_examples=150, deadline=None)

words = st.sampled_from(
    [
        "DeepSeek",
        "深度求索",
        "Qwen",
        "通义千问",
        "CAC",
        "网信办",
        "生成式人工智能",
        "LLM",
        "大模型",
        "export controls",
        "Huawei",
        "Ascend",
        "算力",
        "football",
        "Bayern",
        "recipe",
        "<b>",
        "&amp;",
        "\u202e",
        "\x00",
        "",
        " ",
        "\n",
        "AI",
        "人工智能",
        "ChatGPT",
        "百度",
        "文心一言",
        "模型備案",
        "華為",
        "😀",
        "\ufeff",
    ]
)
texts = st.one_of(
    st.text(max_size=300), st.lists(words, max_size=25).map(" ".join), st.lists(words, max_size=25).map("".join)
)
langs = st.one_of(st.none(), st.sampled_from(["en", "zh", "zh-Hans", "zh-Hant", "other", "", "xx-INVALID", "EN"]))
links = st.one_of(
    st.none(),
    st.text(max_size=80),
    st.sampled_from(["https://www.cac.gov.cn/a", "javascript:alert(1)", "http://[::1", ""]),
)


@SETTINGS
@given(texts, texts, langs, links)
@example("", "", None, None)
@example("深度求索" * 5000, "大模型" * 20000, "zh-Hans", "https://x.example/" + "a" * 5000)
def test_never_raises_and_scores_within_0_and_1(title: str, summary: str, lang: str | None, link: str | None) -> None:
    verdict = score_article(title, summary, lang, link)
    assert isinstance(verdict.score, float) and math.isfinite(verdict.score)
    assert 0.0 <= verdict.score <= 1.0
    assert isinstance(verdict.relevant, bool)
    assert all(isinstance(t, str) for t in verdict.topics)
    assert all(isinstance(e, str) for e in verdict.entities)


@SETTINGS
@given(texts, texts, langs, links)
def test_same_input_same_verdict(title: str, summary: str, lang: str | None, link: str | None) -> None:
    first = score_article(title, summary, lang, link)
    second = score_article(title, summary, lang, link)
    assert (first.relevant, first.score, list(first.topics), list(first.entities), list(first.reasons)) == (
        second.relevant,
        second.score,
        list(second.topics),
        list(second.entities),
        list(second.reasons),
    )
