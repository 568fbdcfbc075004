"""Priority, reader reasons and the English gloss on verdicts (issue 12)."""
from __future__ import annotations

from services.classify import score_article
from services.classify.gloss import english_gloss
from services.classify.priority import Priority


def test_priority_enum_values() -> None:
    assert [p.value for p in Priority] == ["high", "normal", "low"]


def test_relevant_verdict_has_priority_and_reader_reasons() -> None:
    v = score_article("国家网信办发布生成式人工智能服务管理新规", "网信办就大模型备案出台新的管理办法。", "zh")
    assert v.relevant
    assert v.priority in {p.value for p in Priority}
    assert 1 <= len(v.reader_reasons) <= 3


def test_irrelevant_verdict_has_no_priority() -> None:
    v = score_article("Local bakery wins regional bread award", "The sourdough was praised by judges.", "en")
    assert not v.relevant and v.priority is None and v.reader_reasons == []


def test_gloss_is_english_for_chinese_and_none_for_english() -> None:
    title = "深度求索发布DeepSeek-V4模型，融资50亿元"
    v = score_article(title, "", "zh")
    gloss = english_gloss(title, "", "zh", v)
    assert gloss is not None and "DeepSeek" in gloss and "CNY 5 billion" in gloss
    assert all(ord(c) < 0x3000 for c in gloss)
    english = "DeepSeek releases V4"
    assert english_gloss(english, "", "en", score_article(english, "", "en")) is None
