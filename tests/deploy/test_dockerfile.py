"""The Dockerfile and its build context, checked without a Docker engine."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

from tests.deploy.conftest import REPO_ROOT, find_tool

DOCKERFILE = REPO_ROOT / "Dockerfile"
DOCKERIGNORE = REPO_ROOT / ".dockerignore"
APP_UID = 10001


def instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined, comments dropped."""
    joined = re.sub(r"\\\n", " ", "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#")))
    pairs = []
    for line in joined.splitlines():
        if line.strip():
            keyword, _, rest = line.strip().partition(" ")
            pairs.append((keyword.upper(), rest.strip()))
    return pairs


def stages(text: str) -> list[list[tuple[str, str]]]:
    result: list[list[tuple[str, str]]] = []
    for keyword, rest in instructions(text):
        if keyword == "FROM":
            result.append([])
        result[-1].append((keyword, rest))
    return result


def context_sources(text: str) -> list[str]:
    """Paths the build copies from the context (COPY without --from)."""
    sources = []
    for keyword, rest in instructions(text):
        if keyword == "COPY" and "--from=" not in rest:
            parts = [p for p in rest.split() if not p.startswith("--")]
            sources.extend(p.rstrip("/") for p in parts[:-1])
    return sources


def glob_regex(glob: str) -> re.Pattern[str]:
    """A .dockerignore pattern as a regex: `*` stays inside one path segment, `**/` spans any."""
    out, i = "", 0
    while i < len(glob):
        if glob.startswith("**/", i):
            out, i = out + "(?:.*/)?", i + 3
        elif glob.startswith("**", i):
            out, i = out + ".*", i + 2
        elif glob[i] == "*":
            out, i = out + "[^/]*", i + 1
        elif glob[i] == "?":
            out, i = out + "[^/]", i + 1
        elif glob[i] == "[":
            end = glob.index("]", i)
            out, i = out + glob[i : end + 1], end + 1
        else:
            out, i = out + re.escape(glob[i]), i + 1
    return re.compile(out)


def excluded_by_dockerignore(path: str, patterns: list[str]) -> bool:
    """Docker's rule: the last pattern matching the path or one of its parents decides."""
    parts = path.split("/")
    candidates = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    excluded = False
    for pattern in patterns:
        regex = glob_regex(pattern.removeprefix("!").rstrip("/"))
        if any(regex.fullmatch(candidate) for candidate in candidates):
            excluded = not pattern.startswith("!")
    return excluded


def dockerignore_patterns() -> list[str]:
    lines = DOCKERIGNORE.read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def test_hadolint_reports_nothing() -> None:
    hadolint = find_tool("hadolint")
    result = subprocess.run([hadolint, "--format", "json", str(DOCKERFILE)], capture_output=True, text=True, timeout=60)
    findings = json.loads(result.stdout or "[]")
    assert findings == [], "\n".join(f"line {f['line']}: {f['code']} {f['message']}" for f in findings)
    assert result.returncode == 0
    assert "hadolint ignore" not in DOCKERFILE.read_text(encoding="utf-8"), "no rule may be silenced"


def test_hadolint_catches_a_bad_dockerfile(tmp_path: Path) -> None:
    """Control: the same invocation does flag the mistakes it exists to catch."""
    hadolint = find_tool("hadolint")
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python:latest\nRUN apt-get update && apt-get install -y curl\nRUN pip install requests\n")
    result = subprocess.run([hadolint, "--format", "json", str(bad)], capture_output=True, text=True, timeout=60)
    codes = {finding["code"] for finding in json.loads(result.stdout)}
    assert {"DL3007", "DL3008", "DL3013"} <= codes
    assert result.returncode != 0


def test_checkov_passes_the_dockerfile(checkov_reports: dict[str, dict]) -> None:
    report = checkov_reports["dockerfile"]
    failed = report["results"]["failed_checks"]
    assert failed == [], [(c["check_id"], c["check_name"]) for c in failed]
    assert report["summary"]["parsing_errors"] == 0
    passed = {c["check_id"] for c in report["results"]["passed_checks"]}
    assert {"CKV_DOCKER_2", "CKV_DOCKER_3", "CKV_DOCKER_7"} <= passed


def test_base_image_is_pinned_by_tag_and_digest() -> None:
    text = DOCKERFILE.read_text(encoding="utf-8")
    first = stages(text)[0][0][1]
    assert re.fullmatch(r"python:3\.11\.\d+-slim-bookworm@sha256:[0-9a-f]{64} AS base", first), first
    for stage in stages(text)[1:]:
        assert stage[0][1].startswith("base AS "), "every later stage builds on the pinned base"


def test_runtime_stage_runs_as_the_fixed_non_root_user() -> None:
    runtime = stages(DOCKERFILE.read_text(encoding="utf-8"))[-1]
    users = [rest for keyword, rest in runtime if keyword == "USER"]
    assert users == [f"{APP_UID}:{APP_UID}"]
    run_lines = " ".join(rest for keyword, rest in runtime if keyword == "RUN")
    assert f"--uid {APP_UID}" in run_lines and f"--gid {APP_UID}" in run_lines
    env = " ".join(rest for keyword, rest in runtime if keyword == "ENV")
    assert "PYTHONDONTWRITEBYTECODE=1" in env and "PYTHONUNBUFFERED=1" in env
    keywords = [keyword for keyword, _ in runtime]
    assert "ENTRYPOINT" not in keywords, "celery commands must run without an entrypoint in the way"
    assert keywords.count("CMD") == 1


def test_runtime_stage_has_no_compilers() -> None:
    *_, runtime = stages(DOCKERFILE.read_text(encoding="utf-8"))
    assert not any("apt-get install" in rest for keyword, rest in runtime if keyword == "RUN")


def test_dependencies_install_from_the_lock_before_the_source_is_copied() -> None:
    builder = stages(DOCKERFILE.read_text(encoding="utf-8"))[1]
    lines = [f"{k} {r}" for k, r in builder]
    lock_install = next(i for i, line in enumerate(lines) if "pip install --no-cache-dir -r requirements.lock" in line)
    first_source_copy = next(i for i, line in enumerate(lines) if line.startswith("COPY") and "workers/" in line)
    assert lock_install < first_source_copy
    assert any("pip install --no-cache-dir --no-deps --editable ." in line for line in lines)


def test_build_context_holds_what_the_dockerfile_copies() -> None:
    patterns = dockerignore_patterns()
    assert patterns[0] == "*", ".dockerignore must be an allow-list"
    for source in context_sources(DOCKERFILE.read_text(encoding="utf-8")):
        assert (REPO_ROOT / source).exists(), f"COPY {source}: not in the repository"
        assert not excluded_by_dockerignore(source, patterns), f"COPY {source}: excluded by .dockerignore"


@pytest.mark.parametrize(
    "path",
    [
        ".env",
        ".venv/bin/python",
        ".venv-tools/bin/checkov",
        ".git/config",
        "var/cnai.db",
        "tests/conftest.py",
        "services/__pycache__/settings.cpython-311.pyc",
    ],
)
def test_build_context_leaves_out_local_state(path: str) -> None:
    assert excluded_by_dockerignore(path, dockerignore_patterns())


def test_image_holds_the_packages_and_data_the_code_needs() -> None:
    """Editable install from /app: every package, config/ and alembic/ must be copied there."""
    import tomllib

    copied = set(context_sources(DOCKERFILE.read_text(encoding="utf-8")))
    pyproject = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    packages = {p.rstrip("*") for p in pyproject["tool"]["setuptools"]["packages"]["find"]["include"]}
    assert packages <= copied
    assert {"config", "alembic", "alembic.ini", "requirements.lock", "pyproject.toml"} <= copied
    if readme := pyproject["project"].get("readme"):
        assert readme in copied, "setuptools needs the readme named in pyproject.toml"
