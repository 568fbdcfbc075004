"""The offline kustomize renderer refuses what it cannot render instead of ignoring it."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tests.deploy.render import UnsupportedKustomization, render_kustomization, split_image

CONFIG_MAP = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "settings"}, "data": {"A": "1"}}


def write(directory: Path, kustomization: dict, **files: dict) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "kustomization.yaml").write_text(yaml.safe_dump(kustomization), encoding="utf-8")
    for name, content in files.items():
        (directory / f"{name}.yaml").write_text(yaml.safe_dump(content), encoding="utf-8")
    return directory


def test_namespace_and_map_patch_apply(tmp_path: Path) -> None:
    patch = yaml.safe_dump(
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "settings"}, "data": {"B": "2"}}
    )
    directory = write(
        tmp_path, {"namespace": "ns", "resources": ["cm.yaml"], "patches": [{"patch": patch}]}, cm=CONFIG_MAP
    )
    [rendered] = render_kustomization(directory)
    assert rendered["metadata"]["namespace"] == "ns"
    assert rendered["data"] == {"A": "1", "B": "2"}


@pytest.mark.parametrize(
    "feature",
    [
        {"configMapGenerator": [{"name": "x", "literals": ["A=1"]}]},
        {"patches": [{"path": "patch.yaml"}]},
        {
            "patches": [
                {
                    "patch": yaml.safe_dump(
                        {
                            "apiVersion": "v1",
                            "kind": "ConfigMap",
                            "metadata": {"name": "settings"},
                            "spec": {"items": [1]},
                        }
                    )
                }
            ]
        },
        {
            "patches": [
                {"patch": yaml.safe_dump({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "missing"}})}
            ]
        },
    ],
)
def test_unsupported_features_raise(tmp_path: Path, feature: dict) -> None:
    directory = write(tmp_path, {"resources": ["cm.yaml"], **feature}, cm=CONFIG_MAP)
    with pytest.raises(UnsupportedKustomization):
        render_kustomization(directory)


@pytest.mark.parametrize(
    ("ref", "expected"),
    [
        ("cnai-monitor", ("cnai-monitor", "")),
        ("registry:5000/cnai/cnai-monitor:0.1.0", ("registry:5000/cnai/cnai-monitor", ":0.1.0")),
        ("cnai-monitor:0.1.0@sha256:abc", ("cnai-monitor", ":0.1.0@sha256:abc")),
    ],
)
def test_split_image(ref: str, expected: tuple[str, str]) -> None:
    assert split_image(ref) == expected
