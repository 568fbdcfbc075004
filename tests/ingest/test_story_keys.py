"""Event keys and event scores: names across languages, versions, amounts, dates; the names catalogue; eval-stories."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from services.ingest.stories import (
    StoryArticle,
    StoryCoverage,
    _hash,
    _other_names,
    _story_agreement,
    event_score,
    tokens,
)
from services.ingest.story_keys import NAMES_FILE, _load_names, event_keys

CNAI = str(Path(sys.executable).with_name("cnai"))
NOW = datetime(2026, 12, 7, 9, 0, tzinfo=timezone.utc)


def article(title: str, summary: str = "", language: str = "en", hours: float = 0.0, feed: int = 1) -> StoryArticle:
    features = {_hash(t) for t in tokens(f"{title} {summary[:200]}")}
    return StoryArticle(
        features, event_keys(title, summary, language), feed, NOW - timedelta(hours=hours), None, language
    )


def test_the_names_catalogue_loads_and_rejects_a_bad_entry(tmp_path: Path) -> None:
    catalogue = _load_names(NAMES_FILE)
    assert catalogue.english.search("Trump met reporters") and any(
        alias == "特朗普" for alias, _, _ in catalogue.chinese
    )
    assert catalogue.groups and catalogue.places
    bad = tmp_path / "names.yaml"
    bad.write_text("names:\n  - {name: X, kind: planet, aliases: [x]}\n", encoding="utf-8")
    with pytest.raises(ValueError, match="kind"):
        _load_names(bad)


def test_widely_used_names_are_one_key_in_both_scripts_and_cased_aliases_keep_their_case() -> None:
    english = event_keys("Nadella says Microsoft will spend more on Oracle data centres", language="en")
    chinese = event_keys("纳德拉称微软将加大在甲骨文数据中心的投入", language="zh-Hans")
    assert {"Satya Nadella", "Microsoft", "Oracle"} <= english.names & chinese.names
    assert "Meta Platforms" in event_keys("Meta trains a new model", language="en").names
    assert "Meta Platforms" not in event_keys("A meta-analysis of training runs", language="en").names
    assert "Arm" not in event_keys("Robot arm maker raises funds", language="en").names


def test_an_article_joins_a_story_only_when_its_members_agree() -> None:
    wire = article("Tencent unveils Hunyuan T2 reasoning model for developers", feed=2, hours=3)
    rewrite = article("Tencent launches Hunyuan T2, a reasoning model aimed at developers", feed=3, hours=2)
    newcomer = article("Tencent's new Hunyuan T2 reasoning model opens to developers", feed=4, hours=1)
    other = article("Tencent releases Hunyuan T1 for enterprise search", feed=5, hours=2)
    agreement = _story_agreement(newcomer, [wire, rewrite])
    assert agreement is not None and agreement >= 2.0
    assert _story_agreement(newcomer, [wire, other]) is None, "a member reporting another version vetoes the story"
    assert _story_agreement(newcomer, []) is None


def test_an_article_naming_another_partner_than_the_story_does_not_join_it() -> None:
    story = [
        article("Microsoft keeps working with Oracle on AI cloud capacity", "despite its Nvidia deal", feed=2),
        article("Microsoft and Oracle extend their AI cloud partnership", "Nvidia is not part of it", feed=3),
    ]
    other_partner = article(
        "Nvidia confirms AI cloud deal with Microsoft", "The chip maker will supply Microsoft", feed=4
    )
    rewrite = article("Microsoft to keep Oracle as AI cloud partner", "The two firms extend their work", feed=4)
    fewer_names = article("Microsoft extends AI cloud partnership", "The deal runs for five years", feed=4)
    assert _other_names(other_partner, story), "the story's Oracle is missing and the article has its own Nvidia"
    assert not _other_names(rewrite, story)
    assert not _other_names(fewer_names, story), "a title naming less than the story is no other development"
    assert not _other_names(other_partner, story[:1]), "one member's title is not the story's names"


def test_a_rival_named_only_in_the_lead_is_a_side_remark() -> None:
    lead = "此前一天，阿里巴巴董事长蔡崇信确认与三星合作。"
    tencent = article("消息称三星仍与腾讯合作开发手机AI功能", lead, language="zh-Hans", hours=1, feed=2)
    samsung = article("消息称三星手机AI功能合作有新进展", lead, language="zh-Hans", hours=1, feed=3)
    alibaba = article("Alibaba chairman Joe Tsai confirms Samsung partnership", hours=2)
    assert "Tencent" in tencent.keys.title_names and "Alibaba" not in tencent.keys.title_names
    rival, plain = event_score(tencent, alibaba) or 0.0, event_score(samsung, alibaba) or 0.0
    assert rival < 2.0 <= plain, "Alibaba and Joe Tsai, named only in the lead of an article about Tencent, say little"


def test_amounts_and_dates_are_the_same_keys_in_english_and_chinese() -> None:
    english = event_keys("Startup raises $1.2 billion, deal closes on April 3", language="en")
    chinese = event_keys("初创公司融资12亿美元 交易于4月3日完成", language="zh-Hans")
    assert "1.2e+09" in english.numbers & chinese.numbers
    assert "md:4-3" in english.dates & chinese.dates
    assert not event_keys("Lab shows 2026 plan", language="en").numbers, "a year is not an amount"


def test_a_rounded_amount_agrees_with_the_exact_one_but_not_with_a_distant_one() -> None:
    assert event_keys("字节跳动拟投资近200亿美元建设数据中心", language="zh-Hans").numbers == {"~2e+10"}
    assert event_keys("字节跳动拟投资200多亿美元建设数据中心", language="zh-Hans").numbers == {"~2e+10"}
    assert "~2e+10" in event_keys("ByteDance to spend nearly $20 billion on data centres", language="en").numbers
    exact = article("ByteDance plans to invest $19.3 billion in data centres", hours=2)
    rounded = article("字节跳动拟投资近200亿美元建设数据中心", language="zh-Hans", hours=1, feed=2)
    distant = article("字节跳动拟投资近150亿美元建设数据中心", language="zh-Hans", hours=1, feed=3)
    assert (event_score(exact, rounded) or 0.0) >= 2.0
    assert event_score(exact, distant) is None, "15 billion is not 19.3 billion, however rounded"


def test_a_name_no_catalogue_knows_in_one_title_and_absent_from_the_other_article_speaks_against_one_story() -> None:
    assert event_keys("NaviQ integrates DeepSeek-R1 into its in-car assistant", language="en").marks == {"naviq"}
    assert not event_keys("百度(BIDU)盘前涨超2% GPT-5发布在即", language="zh-Hans").marks, "tickers, model families"
    assert not event_keys("Microsoft brings Copilot to YouTube", language="en").marks, "catalogue names"
    assert not event_keys("BREAKING: STARTUP RAISES FUNDS", language="en").marks, "a headline in capitals"
    wire = article(
        "NaviQ integrates DeepSeek-R1 into its in-car assistant",
        "The cockpit software maker said drivers can now ask DeepSeek-R1 questions.",
        hours=3,
    )
    same = article(
        "座舱软件商NaviQ车载助手接入DeepSeek-R1模型", "司机可以向车载助手提问。", language="zh-Hans", hours=1, feed=3
    )
    cloud = article(
        "云服务商宣布全面支持DeepSeek-R1模型",
        "该公司表示，其公有云已上线DeepSeek-R1推理服务。",
        language="zh-Hans",
        hours=2,
        feed=2,
    )
    assert (event_score(wire, same) or 0.0) >= 2.0
    assert (event_score(cloud, same) or 0.0) < 2.0, "another company adopting the same model"


def test_subjects_are_found_in_plurals_and_around_the_word_ai_in_both_scripts() -> None:
    english = event_keys("Xiaomi readies in-house AI chips for its phones", language="en")
    chinese = event_keys("小米 自研 AI 芯片 将用于手机", language="zh-Hans")
    assert "in-house chip" in english.subjects & chinese.subjects
    assert "investigation" in event_keys("Regulators open probes into app pricing", language="en").subjects
    assert "Mistral AI" in event_keys("Mistral AI ships a new model", language="en").names, "names keep their AI"


def test_versions_keep_model_releases_apart_and_names_join_languages() -> None:
    k3 = article("Moonshot AI releases Kimi K3 with longer context", hours=2)
    k3_zh = article("月之暗面发布Kimi K3模型 上下文更长", language="zh-Hans", hours=1, feed=2)
    k25 = article("Moonshot AI releases Kimi K2.5 with longer context", hours=1, feed=3)
    assert (event_score(k3, k3_zh) or 0) >= 2.0
    assert event_score(k3, k25) is None, "different versions are different stories"


def test_a_model_name_and_a_number_is_a_version_in_both_scripts() -> None:
    assert event_keys("Hunyuan 3.0 tops the leaderboard", language="en").title_versions == {"hunyuan3"}
    assert event_keys("腾讯混元3.0登顶榜单", language="zh-Hans").title_versions == {"hunyuan3"}
    assert event_keys("Llama 5 arrives", language="en").title_versions == {"llama5"}
    gpt = event_keys("OpenAI previews GPT-6 and ChatGPT-6 voice", language="en")
    assert gpt.title_versions == {"chatgpt6"} and not gpt.title_numbers, "a version is not an amount"
    assert not event_keys("腾讯混元 3 月上线新功能", language="zh-Hans").versions, "a month is not a version"
    assert not event_keys("Tencent Hunyuan 3 billion yuan push", language="en").versions
    assert not event_keys("Tencent 3 new products", language="en").versions, "a company is not a model"
    next_gen = article("Tencent readies next-gen Hunyuan 4.5 for late this year", hours=2)
    pricing = article("腾讯宣布混元大模型对企业用户免费开放", language="zh-Hans", hours=1, feed=2)
    free = article("Tencent makes Hunyuan free for business users", hours=1, feed=3)
    assert (event_score(pricing, free) or 0.0) >= 2.0
    assert _story_agreement(next_gen, [pricing, free]) is None, "the next version is another development"
    roadmap = article("OpenAI maps out GPT-6, then GPT-7", hours=2)
    cancelled = article("OpenAI drops o5 in favour of GPT-7", "The o5 model is folded into GPT-7.", hours=1, feed=2)
    assert event_score(roadmap, cancelled) is not None, "a roadmap naming several versions agrees on one"


def test_far_apart_or_merely_similar_items_are_not_one_event() -> None:
    launch = article("Baidu launches Ernie chatbot for enterprise clients", hours=1)
    later = article("Baidu launches Ernie chatbot for enterprise clients", hours=24 * 5, feed=2)
    assert event_score(launch, later) is None, "five days apart"
    release = article(
        "DeepSeek releases R2 reasoning model", "The Hangzhou lab published the weights.", hours=2, feed=2
    )
    probe = article(
        "Italy's privacy watchdog probes DeepSeek over user data",
        "The regulator asked how data is stored.",
        hours=1,
        feed=3,
    )
    assert (event_score(release, probe) or 0.0) < 2.0, "same company, different development"
    export_ban = article("US bans H20 chip sales to China", hours=2, feed=2)
    results = article("Nvidia quarterly results beat estimates on data-centre demand", hours=1, feed=3)
    assert (event_score(export_ban, results) or 0.0) < 2.0


def test_chinese_titles_telling_one_development_in_other_words_score_higher() -> None:
    plan = article("字节跳动计划自研AI芯片 明年量产", language="zh-Hans", hours=3, feed=2)
    same = article("报道称字节跳动自研AI芯片将于明年量产", language="zh-Hans", hours=1, feed=3)
    other = article("字节跳动旗下抖音上线新功能 支持直播带货", language="zh-Hans", hours=1, feed=4)
    assert same.keys.title_grams >= {"芯片", "量产"}
    assert (event_score(plan, same) or 0.0) >= 2.0
    assert (event_score(plan, other) or 0.0) < 2.0, "one shared company, different development"


def test_the_coverage_line() -> None:
    assert (
        StoryCoverage(3, "Example Wire", NOW, ["en", "zh-Hans"]).line()
        == "reported by 3 outlets (first: Example Wire, 09:00)"
    )
    assert StoryCoverage(1, "Example Wire", NOW, ["en"]).line() == "reported by 1 outlet"


def _labelled(path: Path, rows: list[dict[str, str]]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


def test_eval_stories_scores_pairs_and_rejects_a_bad_file(tmp_path: Path) -> None:
    rows = [
        {
            "id": "a",
            "story": "s1",
            "lang": "en",
            "outlet": "Wire One",
            "title": "Tencent releases Hunyuan T2 reasoning model",
            "summary": "The Shenzhen company said the model beats rivals on maths.",
            "link": "https://one.example/a",
            "published": "2026-03-02T08:00:00",
        },
        {
            "id": "b",
            "story": "s1",
            "lang": "zh",
            "outlet": "Wire Two",
            "title": "腾讯发布混元T2推理模型",
            "summary": "腾讯表示，该模型在数学测试中超过对手。",
            "link": "https://two.example/b",
            "published": "2026-03-02T09:00:00",
        },
        {
            "id": "c",
            "story": "s2",
            "lang": "en",
            "outlet": "Wire Three",
            "title": "Tencent shares fall after quarterly results",
            "summary": "Revenue missed estimates.",
            "link": "https://three.example/c",
            "published": "2026-03-02T10:00:00",
        },
    ]
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    result = subprocess.run(
        [CNAI, "eval-stories", "--json", str(_labelled(tmp_path / "s.jsonl", rows))],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["all"]["true_pairs"] == 1 and report["all"]["cross_language_pairs"] == 1
    assert report["all"]["precision"] == 1.0
    assert report["all"]["cross_language_recall"] == 1.0, report
    shuffled = subprocess.run(
        [CNAI, "eval-stories", "--order", "outlets", "--seed", "3", str(tmp_path / "s.jsonl")],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert shuffled.returncode == 0 and "order: outlets, seed 3" in shuffled.stdout, shuffled.stderr
    (tmp_path / "bad.jsonl").write_text('{"id": "x"}\n', encoding="utf-8")
    bad = subprocess.run(
        [CNAI, "eval-stories", str(tmp_path / "bad.jsonl")], env=env, capture_output=True, text=True, timeout=60
    )
    assert bad.returncode != 0 and "Traceback" not in bad.stderr and bad.stderr.count("\n") == 1


@pytest.mark.parametrize("backend_url", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True)
def test_candidates_per_article_are_bounded_however_many_articles_share_a_key(polling) -> None:  # type: ignore[no-untyped-def]
    """60 outlets report 60 different Kimi stories: a new Kimi article reads at most KEY_LIMIT rows per key."""
    from sqlalchemy import func, select

    from db.models import Article, Story
    from services.database import unit_of_work
    from services.feeds.registry import FeedSpec, add_feed
    from services.ingest import stories
    from services.ingest.parse import parse_feed
    from services.ingest.store import store_entries

    def feed_body(n: int, title: str) -> bytes:
        return (
            f'<?xml version="1.0"?><rss version="2.0"><channel><title>Outlet {n}</title><item><guid>g{n}</guid>'
            f"<link>https://outlet{n}.example/a</link><title>{title}</title><pubDate>Mon, 07 Dec 2026 08:00:00 +0000</pubDate>"
            "</item></channel></rss>"
        ).encode()

    for n in range(60):
        with unit_of_work() as session:
            feed, _ = add_feed(session, FeedSpec(url=f"https://outlet{n}.example/feed.xml"))
            store_entries(
                session,
                feed.id,
                parse_feed(feed_body(n, f"Kimi usage note number {n * 7 + 1000} from Moonshot AI"), now=NOW),
                NOW,
            )
    probe = article("Moonshot AI adds Kimi to a new app", hours=0)
    keys = stories.article_index_keys(sorted(probe.features), probe.keys)
    with unit_of_work() as session:
        hits = stories._candidate_hits(session, keys)
        assert sum(hits.values()) <= stories.KEY_LIMIT * len(keys)
        assert len(hits) <= stories.KEY_LIMIT * 2, "the newest KEY_LIMIT articles of each shared key, not all 60"
        assert session.execute(select(func.count()).select_from(Article)).scalar_one() == 60
        assert session.execute(select(func.count()).select_from(Story)).scalar_one() == 60, (
            "different numbers: 60 stories"
        )


def test_a_name_and_its_subject_in_both_titles_is_evidence_unless_a_title_names_someone_else() -> None:
    import services.ingest.stories as stories

    first = article("腾讯计划推出自研AI芯片，有望明年开始生产", language="zh-Hans", feed=2, hours=2)
    second = article("腾讯预计数个月内完成自研AI芯片的设计", language="zh-Hans", feed=3, hours=1)
    assert first.keys.title_subjects & second.keys.title_subjects, "the invented titles share a subject"
    with_bonus = event_score(first, second) or 0.0
    original = stories.NAMED_SUBJECT_WEIGHT
    try:
        stories.NAMED_SUBJECT_WEIGHT = 0.0
        without = event_score(first, second) or 0.0
    finally:
        stories.NAMED_SUBJECT_WEIGHT = original
    assert with_bonus == pytest.approx(without + original)
    rival = article("腾讯与英伟达合作自研AI芯片", language="zh-Hans", feed=4, hours=1)
    plain = article("腾讯自研AI芯片进展", language="zh-Hans", feed=5, hours=1)
    stories.NAMED_SUBJECT_WEIGHT = 0.0
    try:
        base = event_score(rival, plain)
    finally:
        stories.NAMED_SUBJECT_WEIGHT = original
    assert event_score(rival, plain) == base, "a name only one side mentions (Nvidia) withholds the bonus"
