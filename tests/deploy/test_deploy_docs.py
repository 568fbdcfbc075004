"""docs/deploy.md must describe the manifests as they are."""

from __future__ import annotations

import re

import pytest

from tests.deploy.conftest import K8S_DIR, REPO_ROOT
from tests.deploy.render import Manifest
from tests.deploy.test_manifests import COMMANDS, PROBES, SCHEMA_WAIT, component, config_map

DOC = REPO_ROOT / "docs" / "deploy.md"


@pytest.fixture(scope="module")
def doc() -> str:
    return DOC.read_text(encoding="utf-8")


def test_every_command_and_probe_is_documented_verbatim(doc: str) -> None:
    probes = {command for by_kind in PROBES.values() for command in by_kind.values()}
    for command in [*COMMANDS.values(), *sorted(probes), SCHEMA_WAIT]:
        assert f"`{command}`" in doc, command


def test_every_named_object_is_documented(doc: str, builds: dict[str, list[Manifest]]) -> None:
    for objects in builds.values():
        for obj in objects:
            if obj["kind"] in (
                "Deployment",
                "Job",
                "HorizontalPodAutoscaler",
                "ScaledObject",
                "PodDisruptionBudget",
                "ConfigMap",
                "ServiceAccount",
                "NetworkPolicy",
                "Service",
            ):
                assert f"`{obj['metadata']['name']}`" in doc, f"{obj['kind']}/{obj['metadata']['name']}"


def test_documented_paths_exist(doc: str) -> None:
    for path in set(re.findall(r"deploy/k8s/[\w./-]+", doc)):
        assert (REPO_ROOT / path.rstrip(".")).exists(), path
    for path in set(re.findall(r"`((?:base|overlays|components)/[\w.-]+(?:/[\w.-]+)?)`", doc)):
        assert (K8S_DIR / path).exists(), path


def test_documented_label_selectors_select_something(doc: str, builds: dict[str, list[Manifest]]) -> None:
    labels = {component(o) for objects in builds.values() for o in objects}
    selected = re.findall(r"-l .?app\.kubernetes\.io/component!?=([\w-]+)", doc)
    assert selected and set(selected) <= labels
    common = {o["kind"] for o in builds["overlays/example"] if component(o) == "common"}
    assert common == {"Namespace", "ServiceAccount", "ConfigMap", "NetworkPolicy"}


def test_documented_settings_are_the_configmap_ones(doc: str, builds: dict[str, list[Manifest]]) -> None:
    base = config_map(builds["overlays/example+components/keda"])
    table = doc[doc.index("| Setting |") :]
    table = table[: table.index("\n\n")]
    first_cells = [row.split("|")[1] for row in table.splitlines()[2:]]
    documented = {name for cell in first_cells for name in re.findall(r"`([A-Z][A-Z0-9_]+)`", cell)}
    assert documented == set(base)
    for key in ("REDIS_URL", "FEEDS_FILE", "POLL_INTERVAL_SECONDS", "METRICS_PORT"):
        assert f"`{base[key]}`" in table, key


def scalar_fields(node: object) -> set[tuple[str, str]]:
    """Every (key, value) pair with a scalar value, at any depth."""
    if isinstance(node, dict):
        pairs = {(str(k), str(v)) for k, v in node.items() if not isinstance(v, (dict, list))}
        return pairs.union(*(scalar_fields(v) for v in node.values()))
    if isinstance(node, list):
        return set().union(*(scalar_fields(v) for v in node))
    return set()


def test_quoted_manifest_fields_are_the_real_values(doc: str, builds: dict[str, list[Manifest]]) -> None:
    """`backoffLimit: 2`-style quotes in the guide must match a field of the manifests."""
    fields = set().union(*(scalar_fields(o) for objects in builds.values() for o in objects))
    quoted = re.findall(r"`([\w./-]+: [^`\[\]{}]+)`", " ".join(doc.split()))
    pairs = [tuple(part.split(": ", 1)) for quote in quoted for part in quote.split(", ")]
    assert len(pairs) >= 8
    assert [p for p in pairs if p not in fields] == []


def test_every_alert_runbook_and_symptom_link_points_at_a_section_of_operations_md(
    builds: dict[str, list[Manifest]],
) -> None:
    operations = (REPO_ROOT / "docs" / "operations.md").read_text(encoding="utf-8")
    anchors = {
        re.sub(r"[^a-z0-9 -]", "", h.strip().lower()).replace(" ", "-")
        for h in re.findall(r"^#+ (.+)$", operations, re.M)
    }
    rules = [o for objects in builds.values() for o in objects if o["kind"] == "PrometheusRule"]
    assert rules
    linked = {
        r["annotations"]["runbook"].split("#", 1)[1] for o in rules for g in o["spec"]["groups"] for r in g["rules"]
    }
    linked |= set(re.findall(r"\]\(#([\w-]+)\)", operations))
    assert linked - anchors == set()
    for runbook in ("crashloopbackoff", "queue-backlog", "failed-migration", "stuck-beat-lock", "disk-growth"):
        assert runbook in anchors
    assert operations.count("kubectl -n cnai") >= 20
