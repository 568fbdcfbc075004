"""Issue 16 checked from outside, on every rendered build: the deploy migrates first, seeds the feeds,
survives a broker outage, scopes its egress and never runs two autoscalers on one Deployment."""

from __future__ import annotations

import re

import pytest

from services.settings import Settings
from tests.deploy.conftest import COMPONENTS, OVERLAYS
from tests.deploy.render import Manifest, pod_spec
from tests.deploy.test_manifests import SCHEMA_WAIT, component, config_map, main_containers

BUILDS = [*OVERLAYS, *(f"overlays/example+{c}" for c in COMPONENTS)]
DB_REDIS_SMTP_PORTS = {5432, 6432, 6379, 6380, 25, 465, 587}
#: PostgreSQL's default max_connections, and what we leave for admins, migrations and the seed Job.
MAX_CONNECTIONS, RESERVED = 100, 20


def workloads(objects: list[Manifest], *components: str) -> list[Manifest]:
    return [o for o in objects if pod_spec(o) is not None and component(o) in components]


def quantity_kib(value: str) -> int:
    units = {"Ki": 1, "Mi": 1024, "Gi": 1024**2}
    match = re.fullmatch(r"(\d+)(Ki|Mi|Gi)", value)
    assert match, value
    return int(match[1]) * units[match[2]]


def wave(obj: Manifest) -> int:
    return int(obj["metadata"].get("annotations", {}).get("argocd.argoproj.io/sync-wave", "0"))


@pytest.mark.parametrize("name", BUILDS)
def test_workers_beat_and_seed_wait_for_the_schema_in_an_init_container(
    builds: dict[str, list[Manifest]], name: str
) -> None:
    waiting = workloads(builds[name], "worker-poll", "worker-deliver", "beat", "seed")
    assert len(waiting) == 4
    for obj in waiting:
        spec = pod_spec(obj)
        assert spec is not None
        [init] = spec["initContainers"]
        assert " ".join(init["command"]) == SCHEMA_WAIT
        assert init["image"] == spec["containers"][0]["image"], "the wait must run the release's own migrations head"
        timeout = float(init["command"][init["command"].index("--timeout") + 1])
        assert 60 <= timeout <= 900


@pytest.mark.parametrize("name", BUILDS)
def test_a_job_seeds_the_default_feeds_after_the_migration(builds: dict[str, list[Manifest]], name: str) -> None:
    objects = builds[name]
    [seed] = workloads(objects, "seed")
    [migrate] = workloads(objects, "migration")
    assert seed["kind"] == migrate["kind"] == "Job"
    assert main_containers(seed)[0]["command"][:4] == ["cnai", "feeds", "import", "--defaults"]
    assert "FEEDS_FOLDERS" in config_map(objects), "the folders the seed Job imports are configurable"


@pytest.mark.parametrize("name", BUILDS)
def test_argo_cd_sync_waves_order_config_then_migration_then_workloads_then_seed(
    builds: dict[str, list[Manifest]], name: str
) -> None:
    objects = builds[name]
    [migrate] = workloads(objects, "migration")
    [seed] = workloads(objects, "seed")
    annotations = migrate["metadata"]["annotations"]
    assert annotations["argocd.argoproj.io/hook"] == "Sync", "a PreSync hook runs before its ConfigMap exists"
    needed = [o for o in objects if component(o) == "common"]  # namespace, ServiceAccount, ConfigMap, NetworkPolicies
    deployments = [o for o in objects if o["kind"] == "Deployment"]
    assert needed and deployments
    assert (
        max(map(wave, needed)) < wave(migrate) < min(map(wave, deployments)) <= max(map(wave, deployments)) < wave(seed)
    )
    assert not any("PreSync" in str(o["metadata"].get("annotations", {})) for o in objects)


@pytest.mark.parametrize("name", BUILDS)
def test_liveness_tolerates_ten_minutes_and_readiness_is_strict(builds: dict[str, list[Manifest]], name: str) -> None:
    for obj in workloads(builds[name], "worker-poll", "worker-deliver", "beat"):
        [container] = main_containers(obj)
        live, ready, startup = container["livenessProbe"], container["readinessProbe"], container["startupProbe"]
        assert live["periodSeconds"] * live["failureThreshold"] >= 600, obj["metadata"]["name"]
        assert "liveness" in live["exec"]["command"]
        assert "readiness" in ready["exec"]["command"] and "readiness" in startup["exec"]["command"]
        assert ready["periodSeconds"] * ready["failureThreshold"] <= 60, "readiness reacts within a minute"
        for probe in (live, ready, startup):
            command = probe["exec"]["command"]
            assert command[:3] == ["python", "-m", "workers.probe"], "probes must not start the CLI (and Sentry)"
            assert probe["timeoutSeconds"] <= 10


@pytest.mark.parametrize("name", BUILDS)
def test_every_database_redis_and_smtp_egress_rule_names_its_destination(
    builds: dict[str, list[Manifest]], name: str
) -> None:
    ports_seen: set[int] = set()
    for policy in (o for o in builds[name] if o["kind"] == "NetworkPolicy"):
        for rule in policy["spec"].get("egress", []):
            ports = {p["port"] for p in rule.get("ports", [])}
            if ports & DB_REDIS_SMTP_PORTS:
                assert rule.get("to"), f"{policy['metadata']['name']}: egress to {sorted(ports)} without `to:`"
                assert ports <= DB_REDIS_SMTP_PORTS, "database, Redis and SMTP rules carry only their own ports"
                ports_seen |= ports
            if not rule.get("to"):
                assert ports <= {53}, f"{policy['metadata']['name']}: only DNS may go anywhere"
    assert ports_seen == DB_REDIS_SMTP_PORTS, "PostgreSQL, PgBouncer, Redis, TLS Redis and SMTP are all allowed"


@pytest.mark.parametrize(
    ("component_name", "port"), [("components/egress-proxy", 3128), ("components/sentry-in-cluster", 9000)]
)
def test_egress_proxy_and_in_cluster_sentry_are_allowed_by_a_component(
    builds: dict[str, list[Manifest]], component_name: str, port: int
) -> None:
    def allowed(objects: list[Manifest]) -> bool:
        return any(
            port in {p["port"] for p in rule.get("ports", [])} and rule.get("to")
            for o in objects
            if o["kind"] == "NetworkPolicy"
            for rule in o["spec"].get("egress", [])
        )

    assert not allowed(builds["overlays/example"])
    assert allowed(builds[f"overlays/example+{component_name}"])


def test_the_keda_overlay_has_no_hpa_for_a_deployment_it_scales(builds: dict[str, list[Manifest]]) -> None:
    objects = builds["overlays/example-keda"]
    scaled = {o["spec"]["scaleTargetRef"]["name"] for o in objects if o["kind"] == "ScaledObject"}
    hpas = {o["spec"]["scaleTargetRef"]["name"] for o in objects if o["kind"] == "HorizontalPodAutoscaler"}
    assert scaled == {"cnai-worker-poll", "cnai-worker-deliver"}
    assert hpas & scaled == set()
    assert {
        o["spec"]["scaleTargetRef"]["name"]
        for o in builds["overlays/example"]
        if o["kind"] == "HorizontalPodAutoscaler"
    } == scaled


def test_dispatch_has_its_own_queue_and_a_worker(builds: dict[str, list[Manifest]]) -> None:
    from workers.celeryconfig import QUEUES, ROUTES

    assert "dispatch" in QUEUES and ROUTES["cnai.poll.dispatch"] == "dispatch"
    [poll] = workloads(builds["overlays/example"], "worker-poll")
    command = main_containers(poll)[0]["command"]
    assert command[command.index("--queues") + 1].split(",")[0] == "dispatch"


def test_pool_memory_stays_below_the_container_limit(builds: dict[str, list[Manifest]]) -> None:
    objects = builds["overlays/example"]
    per_child = int(config_map(objects)["WORKER_MAX_MEMORY_PER_CHILD_KB"])
    main_process_kib = 160 * 1024  # measured: a worker's main process holds ~120 MiB RSS after start
    for worker in workloads(objects, "worker-poll", "worker-deliver"):
        [container] = main_containers(worker)
        command = container["command"]
        concurrency = int(command[command.index("--concurrency") + 1])
        limit = quantity_kib(container["resources"]["limits"]["memory"])
        assert concurrency * per_child + main_process_kib < limit, worker["metadata"]["name"]
    assert Settings().worker_max_memory_per_child_kb == per_child  # type: ignore[call-arg]


@pytest.mark.parametrize("name", [*OVERLAYS])
def test_the_connection_budget_fits_postgres_default_max_connections(
    builds: dict[str, list[Manifest]], name: str
) -> None:
    """Worst case: every worker at its autoscaler's maximum, every pool process at pool + overflow."""
    objects = builds[name]
    settings = config_map(objects)
    per_process = int(settings["DATABASE_POOL_SIZE"]) + int(settings["DATABASE_MAX_OVERFLOW"])
    maxima = {
        o["spec"]["scaleTargetRef"]["name"]: o["spec"].get("maxReplicas", o["spec"].get("maxReplicaCount"))
        for o in objects
        if o["kind"] in ("HorizontalPodAutoscaler", "ScaledObject")
    }
    total = 0
    for worker in workloads(objects, "worker-poll", "worker-deliver"):
        command = main_containers(worker)[0]["command"]
        total += maxima[worker["metadata"]["name"]] * int(command[command.index("--concurrency") + 1]) * per_process
    assert total <= MAX_CONNECTIONS - RESERVED, f"{total} connections at most"
    defaults = Settings()  # type: ignore[call-arg]
    assert defaults.database_pool_size + defaults.database_max_overflow <= 4, "small defaults"


def test_the_learned_model_has_a_writable_volume(builds: dict[str, list[Manifest]]) -> None:
    objects = builds["overlays/example"]
    model_dir = config_map(objects)["CLASSIFIER_MODEL_PATH"].rsplit("/", 1)[0]
    for worker in workloads(objects, "worker-poll", "worker-deliver"):
        [container] = main_containers(worker)
        mounts = {m["mountPath"] for m in container["volumeMounts"] if not m.get("readOnly")}
        assert model_dir in mounts, worker["metadata"]["name"]


def test_monitoring_component_alerts_on_what_the_issue_names_and_uses_max_for_queue_depth(
    builds: dict[str, list[Manifest]],
) -> None:
    objects = builds["overlays/example+components/monitoring"]
    [rule] = [o for o in objects if o["kind"] == "PrometheusRule"]
    [monitor] = [o for o in objects if o["kind"] == "PodMonitor"]
    alerts = {r["alert"]: r for group in rule["spec"]["groups"] for r in group["rules"]}
    assert {
        "CnaiQueueBacklog",
        "CnaiFeedsFailing",
        "CnaiDeliveriesFailed",
        "CnaiDeliveriesStuck",
        "CnaiBeatSilent",
        "CnaiBrokerDown",
        "CnaiDeliverySweepSilent",
    } <= set(alerts)
    for alert in alerts.values():
        expr = alert["expr"]
        assert not re.search(r"sum[^()]*\(\s*cnai_(queue_depth|broker_up)", expr), (
            f"{alert['alert']}: every worker exports it"
        )
        assert alert["annotations"]["runbook"].startswith("docs/operations.md#")
    ports = {e["port"] for e in monitor["spec"]["podMetricsEndpoints"]}
    for worker in workloads(objects, "worker-poll", "worker-deliver"):
        assert ports <= {p["name"] for p in main_containers(worker)[0]["ports"]}
        assert component(worker) in monitor["spec"]["selector"]["matchExpressions"][0]["values"]
