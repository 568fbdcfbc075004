"""The lexicon data files load, validate, and reject malformed entries with a useful message."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from services.classify.lexicon import LEXICON_DIR, LEXICON_FILES, TOPICS, LexiconError, load_lexicon


@pytest.fixture
def lexicon_copy(tmp_path: Path) -> Path:
    for name in LEXICON_FILES:
        shutil.copy(LEXICON_DIR / name, tmp_path / name)
    return tmp_path


def _rewrite(path: Path, change) -> None:  # type: ignore[no-untyped-def]
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")


def test_shipped_lexicon_loads_and_covers_the_beat() -> None:
    lexicon = load_lexicon(LEXICON_DIR)
    assert len(lexicon.digest) == 8
    assert lexicon.pattern_count > 1000
    kinds = {entity.kind.name for entity in lexicon.entities.values()}
    assert {"china_ai_company", "china_ai_model", "china_regulator", "china_ai_chip", "china_ai_policy"} <= kinds
    for name in (
        "DeepSeek",
        "Qwen",
        "ERNIE",
        "Kimi",
        "Zhipu AI",
        "MiniMax",
        "Doubao",
        "Hunyuan",
        "Huawei Ascend",
        "Cambricon",
        "Cyberspace Administration of China",
        "MIIT",
        "TC260",
        "Interim Measures for Generative AI Services",
    ):
        assert name in lexicon.entities, name
    assert set(lexicon.topic_descriptions) == set(TOPICS)


def test_every_entity_has_a_known_kind_and_label() -> None:
    data = yaml.safe_load((LEXICON_DIR / "entities.yaml").read_text(encoding="utf-8"))
    names = [entity["name"] for entity in data["entities"]]
    assert len(names) == len(set(names))
    for entity in data["entities"]:
        assert entity["kind"] in data["kinds"], entity["name"]
        assert entity.get("aliases") or entity.get("weak") or entity.get("case_sensitive"), entity["name"]


def test_digest_changes_with_the_data(lexicon_copy: Path) -> None:
    before = load_lexicon(lexicon_copy).digest
    _rewrite(lexicon_copy / "scoring.yaml", lambda d: d.update(threshold=0.55))
    assert load_lexicon(lexicon_copy).digest != before


@pytest.mark.parametrize(
    ("file", "change", "message"),
    [
        ("topics.yaml", lambda d: d["topics"].pop("standards"), "taxonomy"),
        (
            "topics.yaml",
            lambda d: d["topics"].update(weather={"description": "x", "groups": [{"w": 1, "terms": ["rain"]}]}),
            "taxonomy",
        ),
        ("terms.yaml", lambda d: d["ai"][0].update(w=1.5), "weight must be a number in 0..1"),
        ("terms.yaml", lambda d: d["ai"][0]["terms"].append(42), "not a non-empty string"),
        ("terms.yaml", lambda d: d.update(gossip=[{"w": 0.5, "terms": ["x"]}]), "unknown sections"),
        ("entities.yaml", lambda d: d["entities"][0].update(kind="alien"), "unknown kind"),
        ("entities.yaml", lambda d: d["entities"].append(dict(d["entities"][0])), "duplicate name"),
        ("entities.yaml", lambda d: d["entities"][0].update(topics={"weather": 0.5}), "unknown topic"),
        ("scoring.yaml", lambda d: d.pop("threshold"), "threshold: missing"),
        ("scoring.yaml", lambda d: d.pop("account_hosts"), "account_hosts: missing"),
        ("terms.yaml", lambda d: d.pop("policy"), "policy: missing section"),
        (
            "entities.yaml",
            lambda d: d["entities"][0].update(hosts=["https://deepseek.com/"]),
            "is not a bare host name",
        ),
        ("entities.yaml", lambda d: d["entities"][0].update(accounts=["deepseek-ai/models"]), "is not an org handle"),
        ("entities.yaml", lambda d: d["entities"][1].update(hosts=["deepseek.com"]), "already belongs to 'DeepSeek'"),
    ],
)
def test_malformed_data_is_rejected_with_the_file_named(lexicon_copy: Path, file: str, change, message: str) -> None:  # type: ignore[no-untyped-def]
    _rewrite(lexicon_copy / file, change)
    with pytest.raises(LexiconError, match=message) as raised:
        load_lexicon(lexicon_copy)
    assert file in str(raised.value)


def test_unparsable_yaml_is_a_lexicon_error(lexicon_copy: Path) -> None:
    (lexicon_copy / "terms.yaml").write_text("ai: [unclosed\n", encoding="utf-8")
    with pytest.raises(LexiconError, match="terms.yaml: not valid YAML"):
        load_lexicon(lexicon_copy)


def test_lab_channels_are_loaded_case_insensitively() -> None:
    lexicon = load_lexicon(LEXICON_DIR)
    assert lexicon.hosts["deepseek.com"].name == "DeepSeek"
    assert lexicon.accounts["minimaxai"].name == "MiniMax"
    assert "huggingface.co" in lexicon.account_hosts
    for entity in {**lexicon.hosts, **lexicon.accounts}.values():
        assert entity.kind.ai >= 0.5 and entity.kind.china >= 0.8, entity.name
