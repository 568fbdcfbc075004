"""Offline rendering of deploy/k8s kustomizations, for machines without kustomize.

Only the kustomize features this repository uses are supported (resources, components,
namespace, images, inline strategic-merge patches on maps, `$patch: delete`). Anything else
raises, so a new feature in a kustomization cannot be silently ignored by the tests; where
`kubectl` exists, a test checks that this renderer and `kubectl kustomize` agree.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml

Manifest = dict[str, Any]

CLUSTER_SCOPED_KINDS = {"Namespace", "ClusterRole", "ClusterRoleBinding", "CustomResourceDefinition"}
SUPPORTED_KEYS = {"apiVersion", "kind", "namespace", "resources", "components", "images", "patches"}
POD_TEMPLATE_PATHS = {
    "Deployment": ("spec", "template", "spec"),
    "StatefulSet": ("spec", "template", "spec"),
    "DaemonSet": ("spec", "template", "spec"),
    "Job": ("spec", "template", "spec"),
    "CronJob": ("spec", "jobTemplate", "spec", "template", "spec"),
}


class UnsupportedKustomization(ValueError):
    """The kustomization uses a feature this renderer does not implement."""


def load_manifests(path: Path) -> list[Manifest]:
    return [doc for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")) if doc]


def read_kustomization(directory: Path) -> Manifest:
    return yaml.safe_load((directory / "kustomization.yaml").read_text(encoding="utf-8"))


def object_key(obj: Manifest) -> tuple[str, str, str]:
    meta = obj.get("metadata", {})
    return obj["kind"], meta.get("namespace", ""), meta["name"]


def render_kustomization(directory: Path) -> list[Manifest]:
    """The objects `kustomize build directory` would output (order aside)."""
    kustomization = read_kustomization(directory)
    if kustomization.get("kind", "Kustomization") != "Kustomization":
        raise UnsupportedKustomization(f"{directory} is a {kustomization['kind']}, not a Kustomization")
    return _build(directory, kustomization, [])


def _build(directory: Path, kustomization: Manifest, inherited: list[Manifest]) -> list[Manifest]:
    unknown = set(kustomization) - SUPPORTED_KEYS
    if unknown:
        raise UnsupportedKustomization(f"{directory}/kustomization.yaml uses {sorted(unknown)}")
    objects = list(inherited)
    for entry in kustomization.get("resources", []):
        target = directory / entry
        if target.is_dir():
            objects.extend(render_kustomization(target))
        else:
            objects.extend(load_manifests(target))
    for entry in kustomization.get("components", []):
        component_dir = directory / entry
        component = read_kustomization(component_dir)
        if component.get("kind") != "Component":
            raise UnsupportedKustomization(f"{component_dir} is listed as a component but is not one")
        objects = _build(component_dir, component, objects)
    objects = [copy.deepcopy(obj) for obj in objects]
    if "namespace" in kustomization:
        for obj in objects:
            if obj["kind"] not in CLUSTER_SCOPED_KINDS:
                obj.setdefault("metadata", {})["namespace"] = kustomization["namespace"]
    for image in kustomization.get("images", []):
        _set_image(objects, image)
    for patch in kustomization.get("patches", []):
        objects = _apply_patch(directory, objects, patch)
    return objects


def _set_image(objects: list[Manifest], image: Manifest) -> None:
    unknown = set(image) - {"name", "newName", "newTag", "digest"}
    if unknown:
        raise UnsupportedKustomization(f"images entry uses {sorted(unknown)}")
    for container in pod_containers(objects):
        name, tag = split_image(container.get("image", ""))
        if name != image["name"]:
            continue
        new = image.get("newName", name)
        if "digest" in image:
            tag = "@" + image["digest"]
        elif "newTag" in image:
            tag = ":" + str(image["newTag"])
        container["image"] = new + tag


def split_image(ref: str) -> tuple[str, str]:
    """`registry:5000/app:1.2@sha256:..` -> (`registry:5000/app`, `:1.2@sha256:..`)."""
    name = ref.split("@", 1)[0]
    if ":" in name.rsplit("/", 1)[-1]:
        name = name.rsplit(":", 1)[0]
    return name, ref[len(name) :]


def pod_containers(objects: list[Manifest]) -> list[Manifest]:
    containers: list[Manifest] = []
    for obj in objects:
        spec = pod_spec(obj)
        if spec is not None:
            containers.extend(spec.get("initContainers", []) + spec.get("containers", []))
    return containers


def pod_spec(obj: Manifest) -> Manifest | None:
    path = POD_TEMPLATE_PATHS.get(obj["kind"])
    if path is None:
        return None
    node: Any = obj
    for key in path:
        node = node[key]
    return node


def _apply_patch(directory: Path, objects: list[Manifest], patch: Manifest) -> list[Manifest]:
    if set(patch) - {"patch", "target"}:
        raise UnsupportedKustomization(f"{directory}: only inline `patch:` entries are supported, got {sorted(patch)}")
    body = yaml.safe_load(patch["patch"])
    if not isinstance(body, dict) or "kind" not in body:
        raise UnsupportedKustomization(f"{directory}: only strategic-merge patches are supported")
    target = patch.get("target", {})
    if set(target) - {"kind", "name"}:
        raise UnsupportedKustomization(f"{directory}: patch target supports kind and name only")
    kind = target.get("kind", body["kind"])
    name = target.get("name", body["metadata"]["name"])
    matches = [o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name]
    if not matches:
        raise UnsupportedKustomization(f"{directory}: patch matches no object {kind}/{name}")
    if body.get("$patch") == "delete":
        return [o for o in objects if not any(o is m for m in matches)]
    for obj in matches:
        _merge(obj, {k: v for k, v in body.items() if k not in ("apiVersion", "kind")})
    return objects


def _merge(into: Manifest, patch: Manifest) -> None:
    """Strategic merge restricted to maps: lists merge by keys in kustomize, which is not done here."""
    for key, value in patch.items():
        if _holds_list(value):
            raise UnsupportedKustomization(f"patching lists ({key!r}) is not supported")
        if isinstance(value, dict) and isinstance(into.get(key), dict):
            _merge(into[key], value)
        else:
            into[key] = copy.deepcopy(value)


def _holds_list(value: Any) -> bool:
    if isinstance(value, dict):
        return any(_holds_list(v) for v in value.values())
    return isinstance(value, list)
