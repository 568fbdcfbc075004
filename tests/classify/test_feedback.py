"""Reader labels, re-classification and training on the labels table, on real databases."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from cli.classify import label, reclassify, train
from db.models import Article, Classification, Label
from services.classify import classifier_version
from services.classify.feedback import UnknownArticle, labelled_examples, record_label
from services.classify.reclassify import reclassify_articles
from services.database import unit_of_work

NOW = datetime(2025, 6, 1, tzinfo=timezone.utc)


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, env) -> str:  # type: ignore[no-untyped-def]
    url = request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "pg_url")
    env.setenv("DATABASE_URL", url)
    return url


def _article(session, title: str, published: datetime, summary: str = "") -> Article:  # type: ignore[no-untyped-def]
    article = Article(title=title, summary=summary, fingerprint=f"fp-{title}", published_at=published, language="en")
    session.add(article)
    session.flush()
    return article


def test_reclassify_adds_the_current_version_once(db_url: str) -> None:
    with unit_of_work(db_url) as session:
        relevant = _article(session, "DeepSeek releases R2 reasoning model", NOW)
        done = _article(session, "Bayern win the cup", NOW + timedelta(hours=1))
        old = _article(session, "Baidu unveils Ernie 5.0", NOW - timedelta(days=30))
        session.add(
            Classification(article_id=done.id, classifier_version=classifier_version(), relevant=False, score=0.0)
        )
        session.add(
            Classification(article_id=relevant.id, classifier_version="lex-00000000", relevant=False, score=0.1)
        )
        ids = relevant.id, done.id, old.id
    with unit_of_work(db_url) as session:
        assert reclassify_articles(session, NOW - timedelta(days=1), batch_size=1) == 1
    with unit_of_work(db_url) as session:
        assert reclassify_articles(session, NOW - timedelta(days=1)) == 0
        rows = session.scalars(
            select(Classification).where(Classification.classifier_version == classifier_version())
        ).all()
        by_article = {row.article_id: row for row in rows}
        assert set(by_article) == {ids[0], ids[1]}
        new = by_article[ids[0]]
        assert new.relevant and new.score >= 0.5 and "DeepSeek" in new.entities and new.reasons
        assert (
            new.priority in ("high", "normal", "low") and 1 <= len(new.reader_reasons or []) <= 3
        )  # stored with the verdict
        assert by_article[ids[1]].priority is None  # not relevant: no priority
    with pytest.raises(ValueError, match="timezone-aware"):
        with unit_of_work(db_url) as session:
            reclassify_articles(session, datetime(2025, 1, 1))


def test_label_records_and_latest_label_wins(db_url: str) -> None:
    with unit_of_work(db_url) as session:
        article_id = _article(session, "Zhipu raises funds", NOW).id
    runner = CliRunner()
    assert runner.invoke(label, [str(article_id), "irrelevant"]).exit_code == 0
    result = runner.invoke(label, [str(article_id), "relevant"])
    assert result.exit_code == 0, result.output
    missing = runner.invoke(label, ["999999", "relevant"])
    assert missing.exit_code != 0 and "no article with id 999999" in missing.output
    with unit_of_work(db_url) as session:
        assert session.scalar(select(func.count()).select_from(Label)) == 2
        examples = labelled_examples(session)
        assert [(e.title, e.relevant) for e in examples] == [("Zhipu raises funds", True)]
        with pytest.raises(UnknownArticle):
            record_label(session, 424242, True)


def test_reclassify_command(db_url: str) -> None:
    with unit_of_work(db_url) as session:
        _article(session, "China's CAC approves more generative AI services", NOW)
    result = CliRunner().invoke(reclassify, ["--since", "2025-05-31"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("1 article(s) classified with lex-")
    assert CliRunner().invoke(reclassify, ["--since", "yesterday"]).exit_code != 0


def test_train_on_the_labels_table(sqlite_url: str, env, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    env.setenv("DATABASE_URL", sqlite_url)
    titles = {
        "DeepSeek releases open model": True,
        "国家网信办发布生成式人工智能备案": True,
        "Huawei Ascend powers LLM training": True,
        "智谱发布新一代大模型": True,
        "Bayern win the cup": False,
        "上海房价小幅上涨": False,
        "OpenAI releases GPT-5": False,
        "China's exports rise": False,
    }
    with unit_of_work(sqlite_url) as session:
        for title, verdict in titles.items():
            record_label(session, _article(session, title, NOW).id, verdict)
    out = tmp_path / "model.pkl"
    result = CliRunner().invoke(train, ["--out", str(out), "--folds", "2"])
    assert result.exit_code == 0, result.output
    assert "labels table: 8 labelled articles" in result.output
    assert "cross-validation" in result.output and "P " in result.output
    assert out.is_file()
