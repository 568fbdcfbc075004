"""Fixtures for the offline checks of the image and the Kubernetes manifests.

The linters live in their own virtualenv, `.venv-tools/` (checkov pins dependencies that
clash with ours), built from deploy/tools-requirements.txt; see docs/deploy.md. A missing tool
fails the test under CI=true and skips it, with the install command as reason, elsewhere.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import NoReturn

import pytest
import yaml

from tests.deploy.render import Manifest, render_kustomization
from tests.support.services import unavailable

REPO_ROOT = Path(__file__).resolve().parents[2]
K8S_DIR = REPO_ROOT / "deploy" / "k8s"
TOOLS_BIN = REPO_ROOT / ".venv-tools" / "bin"
INSTALL_HINT = "python3 -m venv .venv-tools && .venv-tools/bin/pip install -r deploy/tools-requirements.txt"

# Oldest Kubernetes the manifests must be valid for (PDB unhealthyPodEvictionPolicy, KEDA 2.x).
K8S_VERSION = "1.30.0"

# What is applied: each overlay, plus every optional component on top of the example overlay.
OVERLAYS = ("overlays/example", "overlays/example-keda")
COMPONENTS = (
    "components/keda",
    "components/flower",
    "components/monitoring",
    "components/egress-proxy",
    "components/sentry-in-cluster",
    "components/rsshub",
)


def missing(what: str) -> NoReturn:
    unavailable(f"{what} is not installed; install the deploy tools with: {INSTALL_HINT}")


def find_tool(name: str) -> str:
    candidate = TOOLS_BIN / name
    if candidate.exists():
        return str(candidate)
    found = shutil.which(name)
    if found is None:
        missing(name)
    return str(found)


@pytest.fixture(scope="session")
def build_dirs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """What gets applied: each overlay, and the example overlay plus each optional component."""
    directories = {name: K8S_DIR / name for name in OVERLAYS}
    for component in COMPONENTS:
        directories[f"overlays/example+{component}"] = component_build_dir(
            tmp_path_factory.mktemp("kustomize"), component
        )
    return directories


@pytest.fixture(scope="session")
def builds(build_dirs: dict[str, Path]) -> dict[str, list[Manifest]]:
    """Rendered objects per build name."""
    return {name: render_kustomization(directory) for name, directory in build_dirs.items()}


def component_build_dir(directory: Path, component: str) -> Path:
    """A throw-away kustomization: the example overlay with one component added."""
    kustomization = {
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "resources": [os.path.relpath(K8S_DIR / "overlays/example", directory)],
        "components": [os.path.relpath(K8S_DIR / component, directory)],
    }
    (directory / "kustomization.yaml").write_text(yaml.safe_dump(kustomization), encoding="utf-8")
    return directory


@pytest.fixture(scope="session")
def rendered_files(builds: dict[str, list[Manifest]], tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Each build written out as one multi-document YAML file."""
    directory = tmp_path_factory.mktemp("rendered")
    paths = []
    for name, objects in builds.items():
        path = directory / (name.replace("/", "_").replace("+", "_plus_") + ".yaml")
        path.write_text(yaml.safe_dump_all(objects, sort_keys=False), encoding="utf-8")
        paths.append(path)
    return paths


@pytest.fixture(scope="session")
def checkov_reports(rendered_files: list[Path]) -> dict[str, dict]:
    """One checkov run over the Dockerfile, the manifest sources and the rendered builds."""
    checkov = find_tool("checkov")
    sources = sorted(str(p.relative_to(REPO_ROOT)) for p in K8S_DIR.rglob("*.yaml"))
    command = [
        checkov,
        "--framework",
        "kubernetes",
        "dockerfile",
        "--output",
        "json",
        "--skip-download",
        "-f",
        "Dockerfile",
        *sources,
        *map(str, rendered_files),
    ]
    env = {**os.environ, "BC_SKIP_MAPPING": "TRUE", "CKV_SKIP_PACKAGE_UPDATE_CHECK": "TRUE", "LOG_LEVEL": "WARNING"}
    result = subprocess.run(command, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=300)
    try:
        parsed = json.loads(result.stdout)
    except json.JSONDecodeError:
        pytest.fail(
            f"checkov printed no JSON (exit {result.returncode}):\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}"
        )
    reports = parsed if isinstance(parsed, list) else [parsed]
    return {report["check_type"]: report for report in reports}
