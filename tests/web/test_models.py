"""Learned-model versions in the database: retrain from labels, promote only without loss, rollback, serve to workers."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from sqlalchemy import select

from db.models import ClassifierModel
from services.database import unit_of_work
from services.feedback import FeedbackSource, Verdict, record_feedback, target_of_story
from services.learning import (
    ModelStatus,
    promotion_decision,
    retrain,
    serve_database_model,
)
from tests.web.conftest import cnai
from tests.web.seed import StorySpec, seed_story

ON_BEAT = [
    "Beijing regulator issues generative AI filing rules",
    "国家网信办发布大模型备案新规",
    "Chinese lab releases open-weight language model",
    "工信部推动人工智能算力建设",
    "Export controls on AI accelerators to China tightened",
    "深度求索发布新一代推理模型",
]
OFF_BEAT = [
    "Local bakery wins national bread prize",
    "城市公园新增健身步道",
    "Football club signs new striker",
    "春季花卉展在市中心开幕",
    "Ferry timetable changes for the summer",
    "地铁新线路通车试运营",
]


def test_promotion_rule() -> None:
    lexicon = {"precision": 0.8, "recall": 0.7}
    assert promotion_decision({"precision": 0.85, "recall": 0.7}, None, lexicon)[0]
    assert not promotion_decision({"precision": 0.9, "recall": 0.69}, None, lexicon)[0]
    active = {"precision": 0.9, "recall": 0.9}
    ok, reason = promotion_decision({"precision": 0.95, "recall": 0.85}, active, lexicon)
    assert not ok and "recall 0.850 < 0.900" in reason
    assert promotion_decision({"precision": 0.9, "recall": 0.9}, active, lexicon)[0]


def test_retrain_promote_rollback_serve(sqlite_url, env, tmp_path: Path):  # type: ignore[no-untyped-def]
    env.setenv("DATABASE_URL", sqlite_url)
    model_file = tmp_path / "models" / "relevance.pkl"
    with unit_of_work() as session:
        for i, title in enumerate(ON_BEAT + OFF_BEAT):
            seeded = seed_story(session, StorySpec(title, hours=i, alerted=False))
            verdict = Verdict.RELEVANT if title in ON_BEAT else Verdict.NOT_RELEVANT
            record_feedback(session, "alice", verdict, FeedbackSource.WEB, target_of_story(session, seeded.story_id))
        first = retrain(session, folds=3)
        assert first.model is not None and first.model.metrics["examples"] == 12
        assert first.model.status in (ModelStatus.ACTIVE, ModelStatus.REJECTED)
        again = retrain(session, folds=3)
        assert again.model is None and "skipped" in again.reason, "no new label: no new model"
        first_version = first.model.version
    env_vars = {"DATABASE_URL": sqlite_url, "CLASSIFIER_MODEL_PATH": str(model_file)}
    from tests.integration.processes import service_env

    run_env = service_env(**env_vars)
    promoted = cnai(run_env, "model", "promote", first_version, "--force")
    assert promoted.returncode == 0, promoted.stderr
    assert model_file.exists() and "ml-" + hashlib.sha256(model_file.read_bytes()).hexdigest()[:8] == first_version

    with unit_of_work() as session:  # a second model, trained on one more label
        extra = seed_story(session, StorySpec("Provincial AI computing vouchers expanded", hours=40, alerted=False))
        record_feedback(session, "bob", Verdict.RELEVANT, FeedbackSource.CLI, target_of_story(session, extra.story_id))
        second = retrain(session, folds=3)
        assert second.model is not None and second.model.version != first_version
        second_version, second_status = second.model.version, second.model.status
    if second_status != ModelStatus.ACTIVE:
        assert cnai(run_env, "model", "promote", second_version, "--force").returncode == 0
    listed = json.loads(cnai(run_env, "model", "list", "--format", "json").stdout)
    assert [m["version"] for m in listed] == [second_version, first_version]
    assert [m["status"] for m in listed] == ["active", "retired"]

    rolled = cnai(run_env, "model", "rollback")
    assert rolled.returncode == 0 and first_version in rolled.stdout
    assert "ml-" + hashlib.sha256(model_file.read_bytes()).hexdigest()[:8] == first_version
    assert cnai(run_env, "model", "rollback").returncode == 0
    assert not model_file.exists(), "no active model: the lexicon alone"
    assert cnai(run_env, "model", "rollback").returncode == 1
    assert cnai(run_env, "model", "promote", "ml-nothing").returncode == 1

    with unit_of_work() as session:  # a worker serves whatever the database says
        row = session.execute(select(ClassifierModel).where(ClassifierModel.version == second_version)).scalar_one()
        row.status = ModelStatus.ACTIVE.value
    assert serve_database_model(model_file) is True
    assert serve_database_model(model_file) is False
    assert "ml-" + hashlib.sha256(model_file.read_bytes()).hexdigest()[:8] == second_version
