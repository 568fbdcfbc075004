"""The Kubernetes manifests under deploy/k8s, validated offline and against the code they run."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

from tests.deploy.conftest import COMPONENTS, K8S_DIR, K8S_VERSION, OVERLAYS, REPO_ROOT, find_tool
from tests.deploy.render import Manifest, load_manifests, object_key, pod_spec, read_kustomization, split_image
from tests.deploy.test_dockerfile import APP_UID
from tests.support.services import require_binary

WORKLOAD_KINDS = {"Deployment", "Job"}
CRD_GROUPS = ("keda.sh/", "monitoring.coreos.com/")
IMAGE_NAME = "cnai-monitor"

# The process each component runs (docs/deploy.md lists the same commands).
COMMANDS = {
    "worker-poll": "celery -A workers.app worker --queues dispatch,poll,classify --concurrency 2 --loglevel INFO",
    "worker-deliver": "celery -A workers.app worker --queues deliver --concurrency 2 --loglevel INFO",
    "beat": "celery -A workers.app beat --scheduler redbeat.RedBeatScheduler --loglevel INFO",
    "migration": "cnai db upgrade",
    "seed": "cnai feeds import --defaults",
    "flower": "celery -A workers.app flower --port=5555",
    "web": "cnai web --host 0.0.0.0 --port 8000",
}
# The probes: `python -m workers.probe` reads the heartbeat file only (no Celery, no Sentry).
WORKER_PROBES = {
    "startupProbe": "python -m workers.probe worker readiness --max-age 30",
    "readinessProbe": "python -m workers.probe worker readiness --max-age 30",
    "livenessProbe": "python -m workers.probe worker liveness --max-age 60 --loop-max-age 300",
}
BEAT_PROBES = {kind: command.replace(" worker ", " beat ") for kind, command in WORKER_PROBES.items()}
PROBES = {"worker-poll": WORKER_PROBES, "worker-deliver": WORKER_PROBES, "beat": BEAT_PROBES}
#: The initContainer of the workers, beat and the seed Job.
SCHEMA_WAIT = "cnai db wait --timeout 600"
CHECKOV_SKIPS = {"CKV_K8S_35", "CKV_K8S_43"}


def component(obj: Manifest) -> str:
    return obj["metadata"]["labels"]["app.kubernetes.io/component"]


def containers(obj: Manifest) -> list[Manifest]:
    spec = pod_spec(obj)
    return [] if spec is None else spec.get("initContainers", []) + spec["containers"]


def ours(container: Manifest) -> bool:
    """A container of our own image (not a third-party one such as RSSHub)."""
    return split_image(container["image"])[0].rsplit("/", 1)[-1] == IMAGE_NAME


#: Third-party images, by the component that may run them.
THIRD_PARTY_IMAGES = {"components/rsshub": "diygod/rsshub"}


def main_containers(obj: Manifest) -> list[Manifest]:
    spec = pod_spec(obj)
    return [] if spec is None else spec["containers"]


def config_map(objects: list[Manifest]) -> dict[str, str]:
    [cm] = [o for o in objects if o["kind"] == "ConfigMap" and o["metadata"]["name"] == "cnai-config"]
    return cm["data"]


def secret_template() -> dict[str, str]:
    pairs = {}
    for line in (K8S_DIR / "secrets.env.example").read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            key, _, value = line.partition("=")
            pairs[key] = value
    return pairs


def kustomization_dirs() -> list[Path]:
    return sorted(p.parent for p in K8S_DIR.rglob("kustomization.yaml"))


# --- structure of the kustomize tree -------------------------------------------------------------


@pytest.mark.parametrize("directory", kustomization_dirs(), ids=lambda p: str(p.relative_to(K8S_DIR)))
def test_kustomization_entries_exist(directory: Path) -> None:
    kustomization = read_kustomization(directory)
    for entry in kustomization.get("resources", []) + kustomization.get("components", []):
        target = directory / entry
        assert target.is_file() or (target / "kustomization.yaml").is_file(), f"{directory}: {entry} does not exist"


def test_every_manifest_file_is_listed_once() -> None:
    listed: list[Path] = []
    for directory in kustomization_dirs():
        kustomization = read_kustomization(directory)
        listed += [(directory / e).resolve() for e in kustomization.get("resources", []) if (directory / e).is_file()]
    files = {p.resolve() for p in K8S_DIR.rglob("*.yaml") if p.name != "kustomization.yaml"}
    assert sorted(map(str, files - set(listed))) == [], "files no kustomization lists"
    assert len(listed) == len(set(listed)), "a file is listed twice"


def test_every_overlay_and_component_is_exercised_by_a_build() -> None:
    kinds = {
        str(p.relative_to(K8S_DIR)): read_kustomization(p).get("kind", "Kustomization") for p in kustomization_dirs()
    }
    assert {d for d, kind in kinds.items() if kind == "Component"} == set(COMPONENTS)
    assert {d for d in kinds if d.startswith("overlays/")} == set(OVERLAYS)


def test_renderer_agrees_with_kubectl_kustomize(build_dirs: dict[str, Path], builds: dict[str, list[Manifest]]) -> None:
    """The offline renderer must produce what the real kustomize produces."""
    kubectl = require_binary(
        "kubectl", "the offline renderer is checked against `kubectl kustomize` (.ci/run installs it)"
    )
    for name, directory in build_dirs.items():
        result = subprocess.run([kubectl, "kustomize", str(directory)], capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, result.stderr
        real = {object_key(o): o for o in yaml.safe_load_all(result.stdout) if o}
        assert {object_key(o): o for o in builds[name]} == real, name


# --- schema validation ----------------------------------------------------------------------------


def run_kubernetes_validate(paths: list[Path]) -> subprocess.CompletedProcess[str]:
    tool = find_tool("kubernetes-validate")
    return subprocess.run(
        [tool, "--strict", "--kubernetes-version", K8S_VERSION, *map(str, paths)],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_rendered_objects_match_the_kubernetes_schema(rendered_files: list[Path]) -> None:
    result = run_kubernetes_validate(rendered_files)
    lines = (result.stdout + result.stderr).splitlines()
    problems = [
        line
        for line in lines
        if not line.startswith("INFO") and not any(f"api version {group}" in line for group in CRD_GROUPS)
    ]
    assert result.returncode == 0 and problems == [], "\n".join(lines)
    passed = sum(" passed for resource " in line for line in lines)
    expected = sum(
        1 for path in rendered_files for obj in load_manifests(path) if not obj["apiVersion"].startswith(CRD_GROUPS)
    )
    assert passed == expected


def test_schema_validation_rejects_a_misspelt_field(builds: dict[str, list[Manifest]], tmp_path: Path) -> None:
    """Control: strict validation catches a typo that kubectl would silently drop."""
    [deployment] = [
        o for o in builds["overlays/example"] if object_key(o) == ("Deployment", "cnai", "cnai-worker-poll")
    ]
    broken = json.loads(json.dumps(deployment))
    broken["spec"]["template"]["spec"]["containers"][0]["livenesProbes"] = {}
    path = tmp_path / "broken.yaml"
    path.write_text(yaml.safe_dump(broken), encoding="utf-8")
    result = run_kubernetes_validate([path])
    assert result.returncode != 0 and "livenesProbes" in result.stdout + result.stderr


def test_keda_scaled_objects_target_worker_queues(builds: dict[str, list[Manifest]]) -> None:
    """KEDA's CRDs have no bundled schema: check the fields we rely on ourselves."""
    scaled_found = False
    for name, objects in builds.items():
        deployments = {o["metadata"]["name"]: o for o in objects if o["kind"] == "Deployment"}
        broker = urlsplit(config_map(objects)["CELERY_BROKER_URL"])
        for scaled in (o for o in objects if o["kind"] == "ScaledObject"):
            scaled_found = True
            assert scaled["apiVersion"] == "keda.sh/v1alpha1"
            spec = scaled["spec"]
            assert set(spec) <= {
                "scaleTargetRef",
                "minReplicaCount",
                "maxReplicaCount",
                "pollingInterval",
                "cooldownPeriod",
                "advanced",
                "triggers",
            }
            target = deployments[spec["scaleTargetRef"]["name"]]
            queues = worker_queues(target)
            assert 1 <= spec["minReplicaCount"] <= spec["maxReplicaCount"]
            assert {t["metadata"]["listName"] for t in spec["triggers"]} == queues, name
            for trigger in spec["triggers"]:
                assert trigger["type"] == "redis"
                meta = trigger["metadata"]
                assert set(meta) <= {
                    "address",
                    "databaseIndex",
                    "listName",
                    "listLength",
                    "activationListLength",
                    "enableTLS",
                    "passwordFromEnv",
                    "usernameFromEnv",
                }
                assert meta["address"] == f"{broker.hostname}:{broker.port}", "KEDA must read the broker's Redis"
                assert meta["databaseIndex"] == (broker.path.strip("/") or "0")
                assert isinstance(meta["listLength"], str) and int(meta["listLength"]) > 0
    assert scaled_found, "no build contains the keda component"


@pytest.mark.parametrize("name", [*OVERLAYS, *(f"overlays/example+{c}" for c in COMPONENTS)])
def test_each_worker_has_exactly_one_autoscaler(builds: dict[str, list[Manifest]], name: str) -> None:
    objects = builds[name]
    scalers = Counter(
        o["spec"]["scaleTargetRef"]["name"] for o in objects if o["kind"] in ("HorizontalPodAutoscaler", "ScaledObject")
    )
    workers = {
        o["metadata"]["name"] for o in objects if o["kind"] == "Deployment" and component(o).startswith("worker-")
    }
    assert scalers == {w: 1 for w in workers}


# --- policy -----------------------------------------------------------------------------------------


def test_checkov_finds_nothing(checkov_reports: dict[str, dict]) -> None:
    report = checkov_reports["kubernetes"]
    failed = report["results"]["failed_checks"]
    assert failed == [], "\n".join(f"{c['check_id']} {c['resource']} {c['file_path']}" for c in failed)
    assert report["summary"]["parsing_errors"] == 0


def test_checkov_skips_are_the_documented_ones_with_reasons(checkov_reports: dict[str, dict]) -> None:
    skipped = checkov_reports["kubernetes"]["results"]["skipped_checks"]
    assert {c["check_id"] for c in skipped} <= CHECKOV_SKIPS
    for check in skipped:
        assert len(check["check_result"].get("suppress_comment", "")) > 30, (
            f"{check['check_id']} skipped without a reason"
        )
    docs = (REPO_ROOT / "docs" / "deploy.md").read_text(encoding="utf-8")
    assert all(check_id in docs for check_id in CHECKOV_SKIPS)


def test_checkov_evaluated_the_hardening_of_every_workload(checkov_reports: dict[str, dict]) -> None:
    passed = checkov_reports["kubernetes"]["results"]["passed_checks"]
    hardening = {
        "CKV_K8S_20",
        "CKV_K8S_22",
        "CKV_K8S_23",
        "CKV_K8S_28",
        "CKV_K8S_31",
        "CKV_K8S_37",
        "CKV_K8S_38",
        "CKV_K8S_40",
        "CKV_K8S_11",
        "CKV_K8S_13",
    }
    by_resource: dict[str, set[str]] = {}
    for check in passed:
        by_resource.setdefault(check["resource"], set()).add(check["check_id"])
    workloads = [r for r in by_resource if r.split(".")[0] in WORKLOAD_KINDS]
    assert len(workloads) >= 5
    for resource in workloads:
        assert hardening <= by_resource[resource], f"{resource}: {sorted(hardening - by_resource[resource])}"


@pytest.mark.parametrize("name", [*OVERLAYS, *(f"overlays/example+{c}" for c in COMPONENTS)])
def test_pods_are_hardened_and_match_the_image_user(builds: dict[str, list[Manifest]], name: str) -> None:
    for obj in builds[name]:
        spec = pod_spec(obj)
        if spec is None:
            continue
        where = f"{obj['kind']}/{obj['metadata']['name']}"
        assert spec["automountServiceAccountToken"] is False, where
        assert spec["serviceAccountName"] == "cnai-monitor", where
        pod = spec["securityContext"]
        assert pod["runAsNonRoot"] is True and pod["runAsUser"] == APP_UID and pod["runAsGroup"] == APP_UID, where
        assert pod["seccompProfile"] == {"type": "RuntimeDefault"}, where
        volumes = {v["name"]: v for v in spec.get("volumes", [])}
        for container in containers(obj):
            ctx = container["securityContext"]
            assert ctx["readOnlyRootFilesystem"] is True and ctx["allowPrivilegeEscalation"] is False, where
            assert ctx["capabilities"] == {"drop": ["ALL"]}, where
            mounts = {m["mountPath"]: m["name"] for m in container.get("volumeMounts", [])}
            assert "emptyDir" in volumes[mounts["/tmp"]], f"{where}: /tmp must be a writable emptyDir"
            assert {"cpu", "memory"} <= set(container["resources"]["requests"]) & set(container["resources"]["limits"])


@pytest.mark.parametrize("name", OVERLAYS)
def test_overlay_pins_the_image_by_tag(builds: dict[str, list[Manifest]], name: str) -> None:
    [entry] = read_kustomization(K8S_DIR / "overlays/example")["images"]
    images = {c["image"] for obj in builds[name] for c in containers(obj) if ours(c)}
    assert images == {f"{entry['newName']}:{entry['newTag']}"}
    image_name, tag = split_image(images.pop())
    assert tag.startswith(":") and tag != ":latest" and image_name != IMAGE_NAME


def test_base_workloads_all_use_the_one_image() -> None:
    """Our workloads run our one image; a third-party image only in its own component, pinned by digest."""
    images: set[str] = set()
    for path in K8S_DIR.rglob("*.yaml"):
        if path.name == "kustomization.yaml":
            continue
        where = str(path.parent.relative_to(K8S_DIR))
        for obj in load_manifests(path):
            for container in containers(obj):
                name, tag = split_image(container["image"])
                if where in THIRD_PARTY_IMAGES:
                    assert name == THIRD_PARTY_IMAGES[where] and tag.startswith("@sha256:") and len(tag) == 72, (
                        container["image"]
                    )
                else:
                    images.add(name)
    assert images == {IMAGE_NAME}


# --- consistency with the application -----------------------------------------------------------


def worker_queues(deployment: Manifest) -> set[str]:
    command = main_containers(deployment)[0]["command"]
    return set(command[command.index("--queues") + 1].split(","))


@pytest.mark.parametrize("name", [*OVERLAYS, *(f"overlays/example+{c}" for c in COMPONENTS)])
def test_commands_and_probes_are_the_runbook_ones(builds: dict[str, list[Manifest]], name: str) -> None:
    for obj in builds[name]:
        if obj["kind"] not in WORKLOAD_KINDS:
            continue
        [container] = main_containers(obj)
        if not ours(container):
            continue
        assert " ".join(container["command"]) == COMMANDS[component(obj)], obj["metadata"]["name"]
        assert "args" not in container
        if component(obj) in PROBES:
            for probe, command in PROBES[component(obj)].items():
                assert " ".join(container[probe]["exec"]["command"]) == command


def test_beat_is_a_single_replica_replaced_with_recreate(builds: dict[str, list[Manifest]]) -> None:
    [beat] = [o for o in builds["overlays/example"] if o["kind"] == "Deployment" and component(o) == "beat"]
    assert beat["spec"]["replicas"] == 1
    assert beat["spec"]["strategy"] == {"type": "Recreate"}
    assert not any(
        o["spec"].get("scaleTargetRef", {}).get("name") == beat["metadata"]["name"]
        for objects in builds.values()
        for o in objects
        if o["kind"] in ("HorizontalPodAutoscaler", "ScaledObject")
    )


def test_worker_deployments_leave_replicas_to_the_autoscaler_and_have_a_pdb(builds: dict[str, list[Manifest]]) -> None:
    objects = builds["overlays/example"]
    workers = [o for o in objects if o["kind"] == "Deployment" and component(o).startswith("worker-")]
    budgets = [o for o in objects if o["kind"] == "PodDisruptionBudget"]
    assert len(workers) == 2
    for worker in workers:
        assert "replicas" not in worker["spec"], "kubectl apply would reset the autoscaler's replica count"
        selector = worker["spec"]["selector"]["matchLabels"]
        assert [b["spec"]["selector"]["matchLabels"] for b in budgets].count(selector) == 1
        assert worker["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0


CELERY_INTROSPECTION = """
import json
from workers.app import app
app.loader.import_default_modules()  # what a worker does at start: imports `include` and autodiscovered tasks
tasks = {}
for name, task in app.tasks.items():
    if name.startswith("celery."):
        continue
    options = {"queue": task.queue} if getattr(task, "queue", None) else {}
    queue = app.amqp.router.route(options, name).get("queue")
    tasks[name] = {"queue": getattr(queue, "name", queue), "time_limit": task.time_limit or app.conf.task_time_limit}
print(json.dumps({"queues": [q.name for q in app.conf.task_queues], "tasks": tasks}))
"""


@pytest.fixture(scope="module")
def celery_facts() -> dict:
    """Queues and hard time limits as the Celery app declares them (in a clean interpreter)."""
    env = {k: v for k, v in os.environ.items() if k not in ("CELERY_BROKER_URL", "DATABASE_URL")}
    result = subprocess.run(
        [sys.executable, "-c", CELERY_INTROSPECTION],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.splitlines()[-1])


def test_every_celery_queue_has_exactly_one_worker_deployment(
    builds: dict[str, list[Manifest]], celery_facts: dict
) -> None:
    workers = [
        o for o in builds["overlays/example"] if o["kind"] == "Deployment" and component(o).startswith("worker-")
    ]
    consumed = [q for w in workers for q in worker_queues(w)]
    assert sorted(consumed) == sorted(celery_facts["queues"])
    routed = {t["queue"] for t in celery_facts["tasks"].values()}
    assert routed <= set(consumed), "a task is routed to a queue no worker consumes"
    assert [worker_queues(w) for w in workers].count({"deliver"}) == 1, "alerts need workers of their own"


def test_grace_period_outlasts_the_longest_task(builds: dict[str, list[Manifest]], celery_facts: dict) -> None:
    tasks = celery_facts["tasks"]
    assert tasks, "the Celery app declares no task"
    for name, task in tasks.items():
        assert task["time_limit"], f"{name} has no hard time limit: a stuck task would block shutdown forever"
    for worker in (
        o for o in builds["overlays/example"] if o["kind"] == "Deployment" and component(o).startswith("worker-")
    ):
        limits = [t["time_limit"] for t in tasks.values() if t["queue"] in worker_queues(worker)]
        grace = worker["spec"]["template"]["spec"]["terminationGracePeriodSeconds"]
        assert limits and grace > max(limits), (
            f"{worker['metadata']['name']}: grace {grace}s <= task limit {max(limits or [0])}s"
        )


def env_names_read_by_the_code() -> set[str]:
    names: set[str] = set()
    for package in ("services", "workers", "cli", "db"):
        for path in (REPO_ROOT / package).rglob("*.py"):
            names |= set(re.findall(r"""["']([A-Z][A-Z0-9_]{2,})["']""", path.read_text(encoding="utf-8")))
    return names


def test_every_env_var_set_is_read_by_the_code(builds: dict[str, list[Manifest]]) -> None:
    set_names = set(secret_template())
    for objects in builds.values():
        set_names |= set(config_map(objects))
        set_names |= {e["name"] for obj in objects for c in containers(obj) if ours(c) for e in c.get("env", [])}
    unknown = set_names - env_names_read_by_the_code()
    assert unknown == set(), "the manifests set variables no code reads"


def test_secrets_are_in_the_secret_only(builds: dict[str, list[Manifest]]) -> None:
    from services.settings import SECRET_NAMES

    template = secret_template()
    assert set(template) == SECRET_NAMES | {"DATABASE_URL"}
    assert all("CHANGE_ME" in value for value in template.values()), "the template holds placeholders only"
    for objects in builds.values():
        assert not set(config_map(objects)) & set(template)
        for obj in objects:
            for container in containers(obj):
                expected = [{"configMapRef": {"name": "cnai-config"}}, {"secretRef": {"name": "cnai-secrets"}}]
                assert container.get("envFrom") == (expected if ours(container) else None), (
                    "third parties get no secrets"
                )
    assert not any(o["kind"] == "Secret" for objects in builds.values() for o in objects), (
        "applying the manifests must never overwrite the real Secret"
    )


def test_metrics_port_agrees_everywhere(builds: dict[str, list[Manifest]]) -> None:
    objects = builds["overlays/example"]
    port = int(config_map(objects)["METRICS_PORT"])
    assert f"EXPOSE {port}" in (REPO_ROOT / "Dockerfile").read_text(encoding="utf-8")
    [policy] = [
        o
        for o in objects
        if o["kind"] == "NetworkPolicy" and o["spec"].get("ingress") and o["metadata"]["name"] == "cnai-monitor"
    ]
    assert [p["port"] for rule in policy["spec"]["ingress"] for p in rule["ports"]] == [port]
    workers = [o for o in objects if o["kind"] == "Deployment" and component(o).startswith("worker-")]
    for worker in workers:
        annotations = worker["spec"]["template"]["metadata"]["annotations"]
        assert annotations["prometheus.io/port"] == str(port)
        assert [p["containerPort"] for p in main_containers(worker)[0]["ports"] if p["name"] == "metrics"] == [port]


def test_heartbeat_files_and_feeds_file_resolve_in_the_pods(builds: dict[str, list[Manifest]]) -> None:
    settings = config_map(builds["overlays/example"])
    for key in ("WORKER_HEARTBEAT_FILE", "BEAT_HEARTBEAT_FILE"):
        assert settings[key].startswith("/tmp/"), f"{key} must be on the /tmp emptyDir (read-only root)"
    feeds = Path(settings["FEEDS_FILE"])
    assert feeds.is_relative_to("/app"), "the image keeps the source tree, config/ included, in /app"
    assert (REPO_ROOT / feeds.relative_to("/app")).is_file()


def run_probe(command: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    args = command.split()
    assert args[0] == "python"
    return subprocess.run(
        [sys.executable, *args[1:]], env=env, cwd=REPO_ROOT, capture_output=True, text=True, timeout=60
    )


@pytest.mark.parametrize(("role", "variable"), [("worker", "WORKER_HEARTBEAT_FILE"), ("beat", "BEAT_HEARTBEAT_FILE")])
def test_probe_commands_honour_their_contract(tmp_path: Path, role: str, variable: str) -> None:
    """The manifests' probe commands, run as the kubelet runs them: liveness passes while the broker is
    down (the loop stale), readiness does not; a stale heartbeat fails both; a wedged loop fails liveness."""
    from services.heartbeat_state import HeartbeatState, write_state

    probes = PROBES["beat" if role == "beat" else "worker-poll"]
    heartbeat = tmp_path / role / "heartbeat"
    env = {**os.environ, variable: str(heartbeat), "SENTRY_DSN": "http://public@127.0.0.1:9/1"}
    now = time.time()
    outcomes = {}
    states = {
        "healthy": HeartbeatState(now, 1, True, now),
        "broker down, loop stale 20 min": HeartbeatState(now, 1, False, now - 1200),
        "broker up, loop stale 10 min (wedged)": HeartbeatState(now, 1, True, now - 600),
    }
    for name, state in states.items():
        write_state(heartbeat, state)
        outcomes[name] = {kind: run_probe(command, env).returncode for kind, command in probes.items()}
    stale = time.time() - 300
    os.utime(heartbeat, (stale, stale))
    outcomes["heartbeat thread stopped"] = {
        kind: run_probe(command, env).returncode for kind, command in probes.items()
    }
    heartbeat.unlink()
    outcomes["no file"] = {kind: run_probe(command, env).returncode for kind, command in probes.items()}
    assert outcomes == {
        "healthy": {"startupProbe": 0, "readinessProbe": 0, "livenessProbe": 0},
        "broker down, loop stale 20 min": {"startupProbe": 1, "readinessProbe": 1, "livenessProbe": 0},
        "broker up, loop stale 10 min (wedged)": {"startupProbe": 1, "readinessProbe": 1, "livenessProbe": 1},
        "heartbeat thread stopped": {"startupProbe": 1, "readinessProbe": 1, "livenessProbe": 1},
        "no file": {"startupProbe": 1, "readinessProbe": 1, "livenessProbe": 1},
    }


def test_probe_imports_neither_celery_nor_sentry_nor_pydantic(tmp_path: Path) -> None:
    code = (
        "import sys, runpy; sys.argv = ['probe', 'worker', 'liveness']\n"
        "try:\n    runpy.run_module('workers.probe', run_name='__main__')\nexcept SystemExit:\n    pass\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'celery', 'sentry_sdk', 'pydantic', 'sqlalchemy', 'kombu', 'redis', 'click'}))"
    )
    env = {**os.environ, "WORKER_HEARTBEAT_FILE": str(tmp_path / "hb")}
    result = subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=REPO_ROOT, capture_output=True, text=True, timeout=60
    )
    assert result.stdout.strip().splitlines()[-1] == "[]", result.stdout + result.stderr
