"""Under CI (any truthy CI value) a missing service, binary or shared file fails the run instead of skipping."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.services import ci_enabled, require_binary, require_file, unavailable


@pytest.mark.parametrize("value", ["1", "true", "True", "TRUE", "yes", "on", " true ", "github-actions"])
def test_truthy_ci_values(value: str) -> None:
    assert ci_enabled(value)


@pytest.mark.parametrize("value", [None, "", "0", "false", "False", "no", "off", " "])
def test_falsy_ci_values(value: str | None) -> None:
    assert not ci_enabled(value)


@pytest.mark.parametrize("value", ["1", "yes", "on", "true"])
def test_under_ci_a_missing_thing_is_a_failure(monkeypatch: pytest.MonkeyPatch, value: str, tmp_path: Path) -> None:
    monkeypatch.setenv("CI", value)
    with pytest.raises(pytest.fail.Exception, match="CI is set, so this is a failure"):
        unavailable("the thing is missing")
    with pytest.raises(pytest.fail.Exception, match="no-such-binary-for-cnai is not installed"):
        require_binary("no-such-binary-for-cnai")
    with pytest.raises(pytest.fail.Exception, match="is missing"):
        require_file(tmp_path / "absent.jsonl")


def test_outside_ci_a_missing_thing_is_a_loud_skip(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("CI", "false")
    with pytest.raises(pytest.skip.Exception, match="SKIPPED LOUDLY: the thing is missing"):
        unavailable("the thing is missing")
    assert require_file(tmp_path) == tmp_path
    assert require_binary("sh").endswith("sh")
