"""Priority (issue 12): the evidence file loads and is validated, classes of events and
low-value items get their priority, reader reasons and the English gloss read well.

Every headline here is written for this test (none comes from the evaluation sets)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from services.classify import ArticleText, Priority, score_article, score_text
from services.classify.calibration import calibrated
from services.classify.gloss import english_gloss
from services.classify.lexicon import LEXICON_DIR, LEXICON_FILES, LexiconError, load_lexicon
from services.classify.triage import largest_amount_usd


@pytest.fixture
def lexicon_copy(tmp_path: Path) -> Path:
    for name in LEXICON_FILES:
        shutil.copy(LEXICON_DIR / name, tmp_path / name)
    return tmp_path


def _rewrite(path: Path, change) -> None:  # type: ignore[no-untyped-def]
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")


def test_priority_enum_values() -> None:
    assert [p.value for p in Priority] == ["high", "normal", "low"]


def test_shipped_priority_file_loads_with_the_kinds_the_issue_names() -> None:
    triage = load_lexicon(LEXICON_DIR).triage
    assert triage is not None
    events = {kind.kind for kind in triage.events}
    assert {"national_measure", "export_control", "enforcement", "flagship_release", "large_round"} <= events
    low = {kind.kind for kind in triage.low_value}
    assert {"tutorial", "job_advert", "event_promotion", "round_up", "opinion"} <= low
    assert all(kind.label and kind.groups for kind in triage.events + triage.low_value)
    assert "DeepSeek" in triage.entity_signals and "leading_lab" in triage.entity_signals["DeepSeek"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d["events"][0].update(all=[["no_such_signal"]]), "unknown signals"),
        (lambda d: d["events"][0].update(in_title=[5]), "in_title must list group indexes"),
        (lambda d: d["events"][0].update(topic="weather"), "unknown topic"),
        (lambda d: d["entity_signals"]["leading_lab"].update(kinds=["no_such_kind"]), "unknown entity kinds"),
        (lambda d: d["signals"].update(large_amount=["lots"]), "computed by the engine"),
        (lambda d: d.update(min_usd=-1), "must be a positive number"),
        (lambda d: d.update(surprise=1), "unknown sections"),
        (lambda d: d["low_value"].append({"kind": "x"}), "needs a kind and a label"),
    ],
)
def test_malformed_priority_file_is_refused_with_its_name(lexicon_copy: Path, change, message: str) -> None:  # type: ignore[no-untyped-def]
    _rewrite(lexicon_copy / "priority.yaml", change)
    with pytest.raises(LexiconError, match=message) as raised:
        load_lexicon(lexicon_copy)
    assert "priority.yaml" in str(raised.value)


def test_priority_file_is_part_of_the_classifier_version(lexicon_copy: Path) -> None:
    before = load_lexicon(lexicon_copy).digest
    _rewrite(lexicon_copy / "priority.yaml", lambda d: d.update(min_usd=200_000_000))
    assert load_lexicon(lexicon_copy).digest != before


@pytest.mark.parametrize(
    ("title", "summary", "lang"),
    [
        ("网信办发布人工智能生成内容标识管理办法", "办法自明年起施行，要求平台对生成合成内容添加标识。", "zh"),
        (
            "China issues draft rules requiring security reviews of generative AI services",
            "The regulator published the draft for comment.",
            "en",
        ),
        (
            "US adds Chinese AI chip designers to the Entity List",
            "The Commerce Department cited military end uses of advanced accelerators.",
            "en",
        ),
        ("Zhipu AI releases GLM-6, its new flagship open-weight model", "", "en"),
        ("月之暗面完成10亿美元新一轮融资", "投资方包括多家大型科技公司，公司将继续投入大模型研发。", "zh"),
        ("国家市场监管总局约谈一家外国芯片公司，要求说明AI芯片安全风险", "", "zh"),
        # round 2 classes: a Chinese directive on chips, an intergovernmental step, a flagship chip, a leader
        (
            "Chinese regulators order cloud firms to halt orders of Nvidia H20 chips",
            "Officials cited security concerns.",
            "en",
        ),
        ("China and the US agree to hold talks on military uses of AI", "The dialogue will start next spring.", "en"),
        ("中国在联合国提出全球人工智能能力建设倡议", "倡议呼吁各国共享大模型技术成果。", "zh"),
        ("Huawei unveils next Ascend AI chip roadmap for data centres", "", "en"),
        ("习近平就人工智能发展发表重要讲话", "强调加快大模型关键核心技术攻关。", "zh"),
    ],
)
def test_events_of_the_listed_kinds_are_high(title: str, summary: str, lang: str) -> None:
    v = score_article(title, summary, lang)
    assert v.relevant and v.priority == "high", (v.priority, v.reader_reasons)
    assert any(s.startswith("High priority: reports ") for s in v.reader_reasons)


@pytest.mark.parametrize(
    ("title", "summary", "lang", "kind"),
    [
        (
            "How to run DeepSeek locally: a step-by-step guide",
            "Install the weights and serve them with one command.",
            "en",
            "a tutorial or how-to",
        ),
        (
            "Qwen team campus recruitment 2027 is now open",
            "Internships in large language model research in Hangzhou.",
            "en",
            "a job advert",
        ),
        ("手把手教程：用通义千问大模型搭建客服机器人", "", "zh", "a tutorial or how-to"),
        (
            "Register now: webinar on deploying Chinese open-weight LLMs",
            "Join us for a livestream with engineers from Chinese AI labs.",
            "en",
            "an event promotion",
        ),
        (
            "Opinion: what China's AI labs get wrong about open weights",
            "A commentary on the strategy of DeepSeek and Qwen.",
            "en",
            "opinion without news",
        ),
        (
            "Morning briefing: markets, weather and tech",
            "DeepSeek released a new open-weight model; Qwen topped a leaderboard.",
            "en",
            "a round-up of several stories",
        ),
    ],
)
def test_low_value_kinds_are_low_even_when_a_flagship_is_named(title: str, summary: str, lang: str, kind: str) -> None:
    v = score_article(title, summary, lang)
    if v.relevant:  # a round-up whose beat item is minor may not be relevant at all
        assert v.priority == "low", (v.priority, v.reader_reasons)
        assert any(kind in s for s in v.reader_reasons), v.reader_reasons


def test_a_round_up_whose_headline_is_on_the_beat_is_normal() -> None:
    v = score_article("DeepSeek发布新推理模型；苹果新品定档；油价回落｜早报", "", "zh")
    assert v.relevant and v.priority == "normal"


@pytest.mark.parametrize(
    ("title", "lang"),
    [
        ("Alibaba releases Qwen4 small models for phones", "en"),
        ("智谱发布GLM-5小尺寸版本，可在笔记本上运行", "zh"),
    ],
)
def test_small_variants_of_a_model_are_not_flagship_releases(title: str, lang: str) -> None:
    v = score_article(title, "", lang)
    assert v.relevant and v.priority == "normal", (v.priority, v.reader_reasons)


@pytest.mark.parametrize(
    ("title", "lang", "kind"),
    [
        ("教你用豆包整理会议纪要，写周报只要三分钟", "zh", "a tutorial or how-to"),
        ("世界人工智能大会现场直击：国产大模型展台人气火爆", "zh", "an event write-up"),
    ],
)
def test_how_tos_and_show_floor_reports_are_low(title: str, lang: str, kind: str) -> None:
    v = score_article(title, "", lang)
    assert v.relevant and v.priority == "low", (v.priority, v.reader_reasons)
    assert any(kind in s for s in v.reader_reasons), v.reader_reasons


def test_incremental_news_is_normal() -> None:
    v = score_article(
        "Baidu adds a note-taking feature to its Ernie assistant app", "The update rolls out to users this week.", "en"
    )
    assert v.relevant and v.priority == "normal"


def test_irrelevant_verdict_has_no_priority_nor_reader_reasons() -> None:
    v = score_article("Local bakery wins regional bread award", "The sourdough was praised by judges.", "en")
    assert not v.relevant and v.priority is None and v.reader_reasons == []


def test_reader_reasons_are_at_most_three_english_sentences_led_by_the_decisive_evidence() -> None:
    v = score_article(
        "Moonshot AI releases Kimi K9 with a million-token context",
        "The Beijing lab's model is open-weight.",
        "en",
        "https://example.com/news/kimi-k9",
    )
    assert 1 <= len(v.reader_reasons) <= 3
    assert (
        v.reader_reasons[0].startswith("Names ")
        and "Moonshot AI" in v.reader_reasons[0]
        and "title" in v.reader_reasons[0]
    )
    assert all(s.endswith(".") for s in v.reader_reasons)
    assert len(v.reasons) >= len(v.reader_reasons)  # the full evidence list stays in reasons


def test_a_weak_clue_never_stands_alone_in_reader_reasons() -> None:
    v = score_article("大模型价格战打响，多家公司宣布降价", "", "zh")
    assert v.relevant
    assert not any(s.startswith("Chinese-language") for s in v.reader_reasons)
    assert "mainland Chinese" in v.reader_reasons[0] and "大模型" in v.reader_reasons[0]


def test_article_text_is_the_named_input() -> None:
    article = ArticleText(
        title="DeepSeek releases a new open-weight reasoning model", summary="", link=None, lang="en", source="example"
    )
    assert score_text(article) == score_article(article.title, article.summary, article.lang, article.link)
    assert ArticleText.coerce(("t", "s", "zh", "https://x.test/")) == ArticleText("t", "s", "https://x.test/", "zh")


def test_gloss_names_entities_topic_priority_numbers_and_models_in_english() -> None:
    title = "智谱发布GLM-6大模型，完成30亿元融资"
    v = score_article(title, "", "zh")
    gloss = english_gloss(title, "", "zh", v)
    assert gloss is not None
    assert all(ord(c) < 0x2E80 for c in gloss), gloss  # no Chinese characters
    assert "Zhipu AI" in gloss and "GLM-6" in gloss and "CNY 3 billion" in gloss and f"[{v.priority}]" in gloss


def test_gloss_is_none_for_english_items() -> None:
    title = "DeepSeek releases a new model"
    assert english_gloss(title, "", "en", score_article(title, "", "en")) is None


@pytest.mark.parametrize(
    ("text", "chinese", "usd"),
    [
        ("Start-up raises $342 million", False, 342e6),
        ("valued at US$1.5bn", False, 1.5e9),
        ("a 3 billion yuan fund", False, 3e9 * 0.14),
        ("估值3510亿", True, 3510e8 * 0.14),
        ("获10亿美元投资", True, 1e9),
        ("7 million users", False, 0.0),
    ],
)
def test_largest_amount_in_dollars(text: str, chinese: bool, usd: float) -> None:
    assert largest_amount_usd(text, chinese, 0.14) == pytest.approx(usd)


def test_calibration_is_monotone_and_keeps_the_threshold() -> None:
    assert calibrated(0.5, 0.5, 2.0) == 0.5
    assert calibrated(0.0, 0.5, 2.0) == 0.0 and calibrated(1.0, 0.5, 2.0) == 1.0
    values = [calibrated(x / 100, 0.5, 2.0) for x in range(1, 100)]
    assert values == sorted(values) and values[0] < 0.01 and values[-1] > 0.99
