"""The Helm charts, checked without a cluster: lint, schema, rendered objects.

Each test renders the charts with `helm template` (hooks and tests included) and asserts what a
user or an operator relies on: Pod Security "restricted", probes, resources, wiring between the
charts, Services, autoscaling, network policies and the values schema. helm is required: when it
is missing these tests fail with the fix, they are not skipped.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Iterator

import pytest
import yaml

from deployproof import charts
from deployproof.errors import DeployProofError

RELEASE = "todo"
ENVIRONMENTS = ("default", *charts.ENVIRONMENTS)
WORKLOAD_KINDS = ("Deployment", "StatefulSet", "Job", "Pod")
SECRET_LOOKING = re.compile(r"PASSWORD|SECRET|TOKEN|API_KEY|DATABASE_URL|PRIVATE", re.I)
STANDARD_LABELS = (
    "app.kubernetes.io/name",
    "app.kubernetes.io/instance",
    "app.kubernetes.io/version",
    "app.kubernetes.io/part-of",
    "app.kubernetes.io/managed-by",
    "helm.sh/chart",
)


# --- fixtures (kept in this module: the root conftest belongs to the suite) ------------------


@pytest.fixture(scope="session")
def helm_available() -> Path:
    try:
        return charts.helm_binary()
    except DeployProofError as exc:
        pytest.fail(f"helm is required for the chart tests: {exc}", pytrace=False)


@pytest.fixture(scope="session")
def app_charts(helm_available: Path) -> tuple[str, ...]:
    """The app charts with the library chart common packed into each (a fresh clone has none)."""
    for chart in charts.APP_CHARTS:
        charts.dependency_build(chart)
    return charts.APP_CHARTS


@pytest.fixture(scope="session")
def umbrella(helm_available: Path) -> str:
    """The umbrella chart with its subcharts packed (what `helm upgrade --install` needs)."""
    charts.dependency_build(charts.UMBRELLA)
    return charts.UMBRELLA


def _values_files(environment: str) -> list[Path]:
    return [] if environment == "default" else [charts.values_file(environment)]


_rendered: dict[str, list[dict[str, Any]]] = {}


@pytest.fixture(params=ENVIRONMENTS)
def rendered(request: pytest.FixtureRequest, umbrella: str) -> tuple[str, list[dict[str, Any]]]:
    """(environment, objects) of the umbrella rendered with that environment's values file."""
    environment = request.param
    if environment not in _rendered:
        _rendered[environment] = charts.template(umbrella, _values_files(environment), release=RELEASE)
    return environment, _rendered[environment]


# --- helpers -----------------------------------------------------------------------------------


def _name(obj: dict[str, Any]) -> str:
    return f"{obj['kind']}/{obj['metadata']['name']}"


def _of_kind(objects: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [o for o in objects if o["kind"] == kind]


def _get(objects: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    for obj in objects:
        if obj["kind"] == kind and obj["metadata"]["name"] == name:
            return obj
    raise AssertionError(f"{kind}/{name} is not rendered; have: {sorted(_name(o) for o in objects)}")


def _pod_spec(obj: dict[str, Any]) -> dict[str, Any]:
    return obj["spec"] if obj["kind"] == "Pod" else obj["spec"]["template"]["spec"]


def _pod_labels(obj: dict[str, Any]) -> dict[str, str]:
    return obj["metadata"]["labels"] if obj["kind"] == "Pod" else obj["spec"]["template"]["metadata"]["labels"]


def _workloads(objects: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    return (o for o in objects if o["kind"] in WORKLOAD_KINDS)


def _containers(obj: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    spec = _pod_spec(obj)
    for container in spec.get("initContainers", []) + spec["containers"]:
        yield f"{_name(obj)}/{container['name']}", container


def _env(container: dict[str, Any]) -> dict[str, Any]:
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in container.get("env", [])}


def _matches(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return all(labels.get(k) == v for k, v in selector.items())


def _configmap_data(objects: list[dict[str, Any]], name: str) -> dict[str, str]:
    return _get(objects, "ConfigMap", name).get("data", {})


def _values_paths(node: Any, prefix: str = "") -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            path = f"{prefix}.{key}" if prefix else str(key)
            yield path
            # Label maps are data, not settings: their keys are not documented one by one.
            if not (isinstance(value, dict) and any("/" in str(k) for k in value)):
                yield from _values_paths(value, path)


# --- lint and Kubernetes schemas ---------------------------------------------------------------


@pytest.mark.parametrize("chart", charts.APP_CHARTS)
def test_app_chart_passes_strict_lint(app_charts: tuple[str, ...], chart: str) -> None:
    charts.lint(chart)


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_umbrella_passes_strict_lint(umbrella: str, environment: str) -> None:
    charts.lint(umbrella, _values_files(environment))


def test_rendered_objects_are_valid_kubernetes(rendered: tuple[str, list[dict[str, Any]]]) -> None:
    environment, objects = rendered
    errors = charts.schema_errors(objects)
    assert not errors, f"{environment}: objects invalid for Kubernetes {charts.KUBE_VERSION}:\n" + "\n".join(errors)


@pytest.mark.parametrize("chart", charts.APP_CHARTS)
def test_app_chart_alone_renders_valid_kubernetes(app_charts: tuple[str, ...], chart: str) -> None:
    objects = charts.template(chart, release="solo")
    assert objects, f"{chart} rendered nothing"
    errors = charts.schema_errors(objects)
    assert not errors, f"{chart}: objects invalid for Kubernetes {charts.KUBE_VERSION}:\n" + "\n".join(errors)


# --- Pod Security "restricted", probes, resources -----------------------------------------------


def test_every_pod_meets_pod_security_restricted(rendered: tuple[str, list[dict[str, Any]]]) -> None:
    environment, objects = rendered
    problems = []
    for obj in _workloads(objects):
        spec = _pod_spec(obj)
        pod_sc = spec.get("securityContext", {})
        for flag in ("hostNetwork", "hostPID", "hostIPC"):
            if spec.get(flag):
                problems.append(f"{_name(obj)}: {flag}")
        for volume in spec.get("volumes", []):
            if "hostPath" in volume:
                problems.append(f"{_name(obj)}: hostPath volume {volume['name']}")
        if spec.get("automountServiceAccountToken") is not False:
            problems.append(f"{_name(obj)}: automountServiceAccountToken is not false")
        for where, container in _containers(obj):
            sc = container.get("securityContext", {})
            if not (sc.get("runAsNonRoot", pod_sc.get("runAsNonRoot")) is True):
                problems.append(f"{where}: runAsNonRoot is not true")
            uid = sc.get("runAsUser", pod_sc.get("runAsUser"))
            if not (isinstance(uid, int) and uid > 0):
                problems.append(f"{where}: runAsUser {uid!r} is not a numeric non-root uid")
            if sc.get("allowPrivilegeEscalation") is not False:
                problems.append(f"{where}: allowPrivilegeEscalation is not false")
            if sc.get("privileged"):
                problems.append(f"{where}: privileged")
            if "ALL" not in sc.get("capabilities", {}).get("drop", []) or sc.get("capabilities", {}).get("add"):
                problems.append(f"{where}: capabilities do not drop ALL (or add some)")
            seccomp = sc.get("seccompProfile", pod_sc.get("seccompProfile", {})).get("type")
            if seccomp not in ("RuntimeDefault", "Localhost"):
                problems.append(f"{where}: seccompProfile {seccomp!r}")
            if sc.get("readOnlyRootFilesystem") is not True:
                problems.append(f"{where}: root filesystem is writable")
    assert not problems, f"{environment}: not Pod Security restricted:\n" + "\n".join(problems)


def test_app_images_run_as_uid_10001_and_postgres_as_999(rendered: tuple[str, list[dict[str, Any]]]) -> None:
    _, objects = rendered
    for obj in _workloads(objects):
        name = obj["metadata"]["labels"]["app.kubernetes.io/name"]
        for where, container in _containers(obj):
            expected = 999 if name == "database" else 10001
            uid = container.get("securityContext", {}).get("runAsUser", _pod_spec(obj)["securityContext"].get("runAsUser"))
            assert uid == expected, f"{where} runs as uid {uid}, expected {expected}"


def test_writable_paths_are_emptydirs(rendered: tuple[str, list[dict[str, Any]]]) -> None:
    _, objects = rendered
    needed = {
        f"{RELEASE}-backend": {"/tmp"},
        f"{RELEASE}-frontend": {"/tmp", "/app/.next/cache"},
        f"{RELEASE}-database": {"/tmp", "/var/run/postgresql", "/var/lib/postgresql/data"},
    }
    for obj in _workloads(objects):
        want = needed.get(obj["metadata"]["name"])
        if want is None:
            continue
        container = _pod_spec(obj)["containers"][0]
        mounted = {m["mountPath"] for m in container.get("volumeMounts", [])}
        assert want <= mounted, f"{_name(obj)} lacks writable mounts {want - mounted}"


def test_long_running_containers_have_all_three_probes(rendered: tuple[str, list[dict[str, Any]]]) -> None:
    _, objects = rendered
    servers = [o for o in objects if o["kind"] in ("Deployment", "StatefulSet")]
    assert servers
    for obj in servers:
        for where, container in _containers(obj):
            for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
                assert probe in container, f"{where} has no {probe}"


def test_backend_readiness_checks_the_database_and_liveness_does_not(rendered: tuple[str, list[dict[str, Any]]]) -> None:
    _, objects = rendered
    container = _pod_spec(_get(objects, "Deployment", f"{RELEASE}-backend"))["containers"][0]
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    frontend = _pod_spec(_get(objects, "Deployment", f"{RELEASE}-frontend"))["containers"][0]
    assert frontend["readinessProbe"]["httpGet"]["path"] == "/api/health"


def test_every_container_has_cpu_and_memory_requests_and_limits(rendered: tuple[str, list[dict[str, Any]]]) -> None:
    environment, objects = rendered
    missing = []
    for obj in _workloads(objects):
        for where, container in _containers(obj):
            resources = container.get("resources", {})
            for kind in ("requests", "limits"):
                for resource in ("cpu", "memory"):
                    if resource not in resources.get(kind, {}):
                        missing.append(f"{where}: {kind}.{resource}")
    assert not missing, f"{environment}: QoS would not be Burstable/Guaranteed:\n" + "\n".join(missing)


def test_rollouts_never_drop_below_desired_and_drain_connections(rendered: tuple[str, list[dict[str, Any]]]) -> None:
    _, objects = rendered
    for obj in _of_kind(objects, "Deployment"):
        rolling = obj["spec"]["strategy"]["rollingUpdate"]
        assert (rolling["maxUnavailable"], rolling["maxSurge"]) == (0, 1), _name(obj)
        spec = _pod_spec(obj)
        sleep = spec["containers"][0]["lifecycle"]["preStop"]["sleep"]["seconds"]
        assert 0 < sleep < spec["terminationGracePeriodSeconds"], f"{_name(obj)}: preStop {sleep}s vs grace period"


# --- labels, selectors, names, Services -------------------------------------------------------------


def test_every_object_carries_the_standard_labels(rendered: tuple[str, list[dict[str, Any]]]) -> None:
    _, objects = rendered
    for obj in objects:
        labels = obj["metadata"].get("labels", {})
        missing = [label for label in STANDARD_LABELS if label not in labels]
        assert not missing, f"{_name(obj)} lacks labels {missing}"
        assert labels["app.kubernetes.io/instance"] == RELEASE
        assert labels["app.kubernetes.io/part-of"] == "todo"
    for obj in _workloads(objects):
        assert "app.kubernetes.io/component" in _pod_labels(obj), f"{_name(obj)} pods have no component label"


def test_workload_selectors_match_their_pod_labels(rendered: tuple[str, list[dict[str, Any]]]) -> None:
    _, objects = rendered
    for obj in objects:
        if obj["kind"] in ("Deployment", "StatefulSet"):
            selector = obj["spec"]["selector"]["matchLabels"]
            assert _matches(selector, _pod_labels(obj)), f"{_name(obj)}: selector {selector} misses its pods"


def test_services_select_only_their_server_pods(rendered: tuple[str, list[dict[str, Any]]]) -> None:
    _, objects = rendered
    workloads = list(_workloads(objects))
    for service in _of_kind(objects, "Service"):
        selector = service["spec"]["selector"]
        selected = [_name(w) for w in workloads if _matches(selector, _pod_labels(w))]
        assert len(selected) == 1, f"{_name(service)} selects {selected}; it must select exactly one server"
        assert selected[0].split("/")[0] in ("Deployment", "StatefulSet"), f"{_name(service)} selects {selected}"


def test_services_have_predictable_names_types_and_ports(rendered: tuple[str, list[dict[str, Any]]]) -> None:
    environment, objects = rendered
    backend = _get(objects, "Service", f"{RELEASE}-backend")["spec"]
    assert backend["type"] == "ClusterIP" and backend["ports"][0]["port"] == 8000
    frontend = _get(objects, "Service", f"{RELEASE}-frontend")["spec"]
    assert frontend["ports"][0]["port"] == 3000
    if environment == "production":
        assert frontend["type"] == "ClusterIP"
        assert _get(objects, "Ingress", f"{RELEASE}-frontend")
        assert not [o for o in objects if o["metadata"]["name"].startswith(f"{RELEASE}-database")]
    else:
        assert frontend["type"] == "NodePort" and frontend["ports"][0]["nodePort"] == 30080
        database = _get(objects, "Service", f"{RELEASE}-database")["spec"]
        assert database["type"] == "ClusterIP" and database["ports"][0]["port"] == 5432
        headless = _get(objects, "Service", f"{RELEASE}-database-headless")["spec"]
        assert headless["clusterIP"] == "None"
        assert _get(objects, "StatefulSet", f"{RELEASE}-database")["spec"]["serviceName"] == f"{RELEASE}-database-headless"


def test_database_keeps_its_data_on_a_persistent_volume(umbrella: str) -> None:
    objects = charts.template(umbrella, [charts.values_file("embedded")], release=RELEASE)
    statefulset = _get(objects, "StatefulSet", f"{RELEASE}-database")
    claims = statefulset["spec"]["volumeClaimTemplates"]
    assert [c["metadata"]["name"] for c in claims] == ["data"]
    assert not any(v["name"] == "data" for v in _pod_spec(statefulset)["volumes"])


# --- configuration and credentials --------------------------------------------------------------


def test_configmaps_hold_no_secrets(rendered: tuple[str, list[dict[str, Any]]]) -> None:
    _, objects = rendered
    for configmap in _of_kind(objects, "ConfigMap"):
        for key, value in configmap.get("data", {}).items():
            assert not SECRET_LOOKING.search(key), f"{_name(configmap)} holds secret-looking key {key}"
            assert not re.search(r"://[^/\s:@]+:[^/\s@]+@", str(value)), f"{_name(configmap)}: {key} embeds credentials"


def test_no_workload_has_a_literal_credential_in_its_environment(rendered: tuple[str, list[dict[str, Any]]]) -> None:
    _, objects = rendered
    for obj in _workloads(objects):
        for where, container in _containers(obj):
            for item in container.get("env", []):
                if SECRET_LOOKING.search(item["name"]):
                    assert "secretKeyRef" in item.get("valueFrom", {}), f"{where}: {item['name']} is not from a Secret"


def test_charts_wire_the_release_together(rendered: tuple[str, list[dict[str, Any]]]) -> None:
    environment, objects = rendered
    backend = _pod_spec(_get(objects, "Deployment", f"{RELEASE}-backend"))["containers"][0]
    frontend = _pod_spec(_get(objects, "Deployment", f"{RELEASE}-frontend"))["containers"][0]
    database_secret = "todo-database-url" if environment == "production" else f"{RELEASE}-database"
    for container in (backend, frontend):
        ref = _env(container)["DATABASE_URL"]["secretKeyRef"]
        assert ref == {"name": database_secret, "key": "DATABASE_URL"}
    assert _env(frontend)["BETTER_AUTH_SECRET"]["secretKeyRef"]["name"] == f"{RELEASE}-frontend"
    backend_config = _configmap_data(objects, f"{RELEASE}-backend")
    assert backend_config["AUTH_MODE"] == "jwks"
    assert backend_config["AUTH_JWKS_URL"] == f"http://{RELEASE}-frontend:3000/api/auth/jwks"
    assert backend_config["DATABASE_SSLMODE"] == ("require" if environment == "production" else "disable")
    frontend_config = _configmap_data(objects, f"{RELEASE}-frontend")
    assert frontend_config["BACKEND_URL"] == f"http://{RELEASE}-backend:8000"
    expected_url = "https://todo.example.com" if environment == "production" else "http://127.0.0.1:30080"
    assert frontend_config["BETTER_AUTH_URL"] == expected_url
    if environment != "production":
        database_secret_obj = _get(objects, "Secret", f"{RELEASE}-database")
        assert set(database_secret_obj["data"]) == {"POSTGRES_PASSWORD", "DATABASE_URL"}


def test_external_database_url_is_stored_in_a_secret_the_app_reads(umbrella: str) -> None:
    url = "postgresql://neon:pw@example.invalid/todo?sslmode=require"
    objects = charts.template(
        umbrella,
        set_values={"database.enabled": "false", "global.externalDatabase.url": url},
        release=RELEASE,
    )
    secret = _get(objects, "Secret", f"{RELEASE}-external-database")
    assert set(secret["data"]) == {"DATABASE_URL"}
    backend = _pod_spec(_get(objects, "Deployment", f"{RELEASE}-backend"))["containers"][0]
    assert _env(backend)["DATABASE_URL"]["secretKeyRef"]["name"] == f"{RELEASE}-external-database"
    assert not [o for o in objects if o["kind"] == "StatefulSet"]


def test_generated_credentials_are_random_not_committed(umbrella: str) -> None:
    def secret_values() -> dict[str, str]:
        objects = charts.template(umbrella, release=RELEASE)
        return {
            f"{_name(s)}:{k}": v
            for s in _of_kind(objects, "Secret")
            for k, v in s["data"].items()
            if k in ("POSTGRES_PASSWORD", "BETTER_AUTH_SECRET", "AUTH_JWT_SECRET")
        }

    first, second = secret_values(), secret_values()
    assert len(first) == 3
    assert all(first[k] != second[k] for k in first), "a generated credential is the same on every render"


def test_image_pull_policy_follows_the_global_override(rendered: tuple[str, list[dict[str, Any]]]) -> None:
    environment, objects = rendered
    expected = {"embedded": "Never"}.get(environment, "IfNotPresent")
    for obj in _workloads(objects):
        for where, container in _containers(obj):
            assert container["imagePullPolicy"] == expected, where
            assert container["image"].split(":")[0] in ("todo-backend", "todo-frontend", "todo-database"), where


def test_images_from_a_registry_are_pulled_by_digest_with_the_pull_secret_everywhere(umbrella: str) -> None:
    # What deploy.py sets with --image-registry: each image by digest, and the imagePullSecret for every chart.
    from deployproof.release import image_values, pull_secret_values

    digests = {name: "sha256:" + f"{index}" * 64 for index, name in enumerate(charts.APP_CHARTS, 1)}
    images = {name: f"172.18.0.1:5443/team/todo-{name}:c0ffee@{digest}" for name, digest in digests.items()}
    objects = charts.template(umbrella, _values_files("kind"), set_values={**image_values(images), **pull_secret_values("todo-registry")},
                              release=RELEASE)
    pods = list(_workloads(objects))
    assert len(pods) >= 6  # Deployments, the StatefulSet, migration Jobs and the helm test pods
    for pod in pods:
        spec = _pod_spec(pod)
        assert spec.get("imagePullSecrets") == [{"name": "todo-registry"}], _name(pod)
        for container in spec["containers"] + spec.get("initContainers", []):
            repository, _, digest = container["image"].partition("@")
            name = repository.rsplit("/todo-", 1)[-1]
            assert digest == digests[name], f"{_name(pod)}: {container['image']}"
    assert not charts.schema_errors(objects)
    assert charts.rejection(umbrella, set_values={"backend.image.digest": "sha256:short"})


# --- migrations, tests, autoscaling, disruption, network ------------------------------------------


def test_migrations_run_after_install_and_before_upgrade(rendered: tuple[str, list[dict[str, Any]]]) -> None:
    _, objects = rendered
    jobs = {j["metadata"]["name"]: j for j in _of_kind(objects, "Job")}
    assert set(jobs) == {f"{RELEASE}-backend-migrate", f"{RELEASE}-frontend-migrate"}
    for name, job in jobs.items():
        assert job["metadata"]["annotations"]["helm.sh/hook"] == "post-install,pre-upgrade", name
        assert _pod_spec(job)["restartPolicy"] == "Never"
    # Both wait for the database first: on a fresh install it starts together with the Jobs' release.
    backend = _pod_spec(jobs[f"{RELEASE}-backend-migrate"])["containers"][0]
    assert "todo_backend.migrate" in " ".join(backend["command"]) and "waiting for database" in " ".join(backend["command"])
    frontend = _pod_spec(jobs[f"{RELEASE}-frontend-migrate"])["containers"][0]
    assert frontend["command"] == ["node", "migrate.mjs"]
    assert int(_env(frontend)["MIGRATE_WAIT_SECONDS"]) >= 60


def test_helm_test_pods_use_the_app_images(rendered: tuple[str, list[dict[str, Any]]]) -> None:
    environment, objects = rendered
    tests = [p for p in _of_kind(objects, "Pod") if p["metadata"]["annotations"].get("helm.sh/hook") == "test"]
    names = {p["metadata"]["name"] for p in tests}
    assert f"{RELEASE}-test-release" in names and f"{RELEASE}-backend-test-readyz" in names
    for pod in tests:
        assert pod["spec"]["restartPolicy"] == "Never"
        assert pod["spec"]["containers"][0]["image"].startswith("todo-"), _name(pod)


def test_hpa_targets_an_existing_deployment_that_starts_at_min_replicas(rendered: tuple[str, list[dict[str, Any]]]) -> None:
    environment, objects = rendered
    hpas = _of_kind(objects, "HorizontalPodAutoscaler")
    assert {h["metadata"]["name"] for h in hpas} == {f"{RELEASE}-backend", f"{RELEASE}-frontend"}
    for hpa in hpas:
        assert hpa["apiVersion"] == "autoscaling/v2"
        target = hpa["spec"]["scaleTargetRef"]
        deployment = _get(objects, target["kind"], target["name"])
        # Offline (no live Deployment to keep the HPA's count from) the chart starts at minReplicas.
        assert deployment["spec"]["replicas"] == hpa["spec"]["minReplicas"], _name(deployment)
        metric = hpa["spec"]["metrics"][0]["resource"]
        assert metric["name"] == "cpu" and metric["target"]["type"] == "Utilization"
        assert 1 <= hpa["spec"]["minReplicas"] <= hpa["spec"]["maxReplicas"]
        assert {"scaleUp", "scaleDown"} <= set(hpa["spec"]["behavior"])
    backend_hpa = _get(objects, "HorizontalPodAutoscaler", f"{RELEASE}-backend")["spec"]
    if environment == "embedded":
        assert backend_hpa["minReplicas"] == 2
        assert backend_hpa["behavior"]["scaleDown"]["stabilizationWindowSeconds"] <= 60


def test_pod_disruption_budgets_cover_the_scaled_deployments(rendered: tuple[str, list[dict[str, Any]]]) -> None:
    _, objects = rendered
    for name in (f"{RELEASE}-backend", f"{RELEASE}-frontend"):
        pdb = _get(objects, "PodDisruptionBudget", name)
        assert _matches(pdb["spec"]["selector"]["matchLabels"], _pod_labels(_get(objects, "Deployment", name)))


def test_network_policies_admit_only_the_intended_clients(rendered: tuple[str, list[dict[str, Any]]]) -> None:
    environment, objects = rendered
    workloads = list(_workloads(objects))

    def admitted(policy_name: str) -> set[str]:
        policy = _get(objects, "NetworkPolicy", policy_name)
        assert policy["spec"]["policyTypes"] == ["Ingress"]
        peers = [p["podSelector"]["matchLabels"] for rule in policy["spec"]["ingress"] for p in rule["from"]]
        return {w["metadata"]["name"] for w in workloads if any(_matches(peer, _pod_labels(w)) for peer in peers)}

    backend_clients = admitted(f"{RELEASE}-backend")
    assert f"{RELEASE}-frontend" in backend_clients
    assert f"{RELEASE}-test-release" in backend_clients and f"{RELEASE}-backend-test-readyz" in backend_clients
    assert not {f"{RELEASE}-database", f"{RELEASE}-frontend-migrate"} & backend_clients
    if environment != "production":
        database_clients = admitted(f"{RELEASE}-database")
        assert {f"{RELEASE}-backend", f"{RELEASE}-backend-migrate", f"{RELEASE}-frontend", f"{RELEASE}-frontend-migrate"} <= database_clients
        assert f"{RELEASE}-test-release" not in database_clients


# --- values: schema and documentation -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("set_values", "expected"),
    [
        ({"backend.replicaCount": "many"}, ["replicaCount", "integer"]),
        ({"backend.bogusKey": "1"}, ["bogusKey"]),
        ({"bogusTopLevel": "1"}, ["bogusTopLevel"]),
        ({"frontend.service.nodePort": "80"}, ["nodePort"]),
        ({"global.imagePullPolicy": "Sometimes"}, ["imagePullPolicy"]),
        ({"database.persistence.enabled": "maybe"}, ["persistence", "boolean"]),
        ({"backend.auth.mode": "none"}, ["mode"]),
        ({"frontend.betterAuth.rateLimit.signInMax": "0"}, ["signInMax"]),
    ],
    ids=["wrong-type", "unknown-subchart-key", "unknown-umbrella-key", "nodeport-range", "enum", "bool", "auth-mode",
         "rate-limit"],
)
def test_schema_rejects_bad_values_readably(umbrella: str, set_values: dict[str, str], expected: list[str]) -> None:
    message = charts.rejection(umbrella, set_values=set_values)
    assert "schema" in message.lower(), message
    for word in expected:
        assert word in message, f"{word!r} missing from helm's message:\n{message}"


def test_auth_rate_limit_is_on_everywhere_with_a_bounded_allowance_for_the_load_tests(rendered: tuple[str, list[dict[str, Any]]]) -> None:
    environment, objects = rendered
    data = next(o for o in _of_kind(objects, "ConfigMap") if o["metadata"]["name"] == f"{RELEASE}-frontend")["data"]
    assert "BETTER_AUTH_RATE_LIMIT" not in data, "rate limiting cannot be switched off"
    # Load tests sign up every simulated user from one address: a higher, bounded allowance on the test clusters.
    expected = "1000" if environment in ("embedded", "kind", "minikube") else "5"
    assert data["BETTER_AUTH_RATE_LIMIT_SIGN_IN_MAX"] == expected, f"{environment}: {data}"
    assert data["BETTER_AUTH_RATE_LIMIT_WINDOW_SECONDS"] == "10" and data["TRUSTED_PROXIES"] == ""


def test_inconsistent_values_fail_once_with_every_problem(umbrella: str) -> None:
    message = charts.rejection(
        umbrella,
        set_values={
            "backend.autoscaling.minReplicas": "5",
            "backend.autoscaling.maxReplicas": "2",
            "backend.auth.jwksUrl": "",
            "backend.terminationGracePeriodSeconds": "3",
        },
    )
    for phrase in ("minReplicas must not exceed", "auth.jwksUrl is required", "terminationGracePeriodSeconds must exceed"):
        assert phrase in message, f"{phrase!r} missing from:\n{message}"


def test_in_cluster_and_external_database_are_exclusive(umbrella: str) -> None:
    message = charts.rejection(umbrella, set_values={"global.externalDatabase.url": "postgresql://u:p@db.invalid/todo"})
    assert "database.enabled=false" in message, message


def test_database_disabled_needs_an_external_database(umbrella: str) -> None:
    message = charts.rejection(umbrella, set_values={"database.enabled": "false"})
    assert "global.externalDatabase" in message


@pytest.mark.parametrize("chart", (*charts.APP_CHARTS, charts.UMBRELLA))
def test_every_value_is_documented_by_a_comment_starting_with_its_name(chart: str) -> None:
    path = charts.chart_dir(chart) / "values.yaml"
    documented = set(re.findall(r"^\s*# ([A-Za-z0-9_.]+) -- ", path.read_text(), re.M))
    undocumented = [p for p in _values_paths(yaml.safe_load(path.read_text())) if p not in documented]
    assert not undocumented, f"{path}: values without a '# <name> -- …' comment: {undocumented}"


@pytest.mark.parametrize("chart", (*charts.APP_CHARTS, charts.UMBRELLA))
def test_schema_types_every_value_and_refuses_unknown_keys(chart: str) -> None:
    schema = json.loads((charts.chart_dir(chart) / "values.schema.json").read_text())
    values = yaml.safe_load((charts.chart_dir(chart) / "values.yaml").read_text())
    assert schema["additionalProperties"] is False
    untyped: list[str] = []
    open_objects: list[str] = []

    def walk(value: Any, node: dict[str, Any], path: str) -> None:
        if "type" not in node:
            untyped.append(path)
        if not isinstance(value, dict) or not value:
            return
        properties = node.get("properties")
        # A free-form map (labels, annotations, nodeSelector), or subchart values that the
        # subchart's own schema checks (the umbrella marks those with a $comment).
        if properties is None or "$comment" in node:
            return
        if node.get("additionalProperties") is not False and path != "global":
            open_objects.append(path)
        for key, child in value.items():
            if key not in properties:
                untyped.append(f"{path}.{key}" if path else key)
            else:
                walk(child, properties[key], f"{path}.{key}" if path else key)

    walk(values, schema, "")
    assert not untyped, f"{chart}: values without a type in values.schema.json: {untyped}"
    assert not open_objects, f"{chart}: objects that accept unknown keys: {open_objects}"


def test_chaos_selectors_are_the_workloads_own_and_miss_test_and_migration_pods(umbrella: str) -> None:
    """The resilience tests find a workload's pods by deployproof.chaos selectors: exactly its pods, never the
    release's helm test or migration pods, which share its name and instance labels."""
    from deployproof import chaos

    objects = charts.template(umbrella, [charts.values_file("embedded")], release=RELEASE)
    pod_labels = [o["metadata"].get("labels", {}) for o in objects if o["kind"] == "Pod"]
    pod_labels += [o["spec"]["template"]["metadata"]["labels"] for o in objects if o["kind"] == "Job"]
    assert pod_labels, "expected the helm test pods and migration jobs in the rendering"
    for name in ("backend", "frontend", "database"):
        part = chaos.component(RELEASE, name)
        wanted = dict(pair.split("=", 1) for pair in part.selector.split(","))
        workload = next(o for o in objects if o["kind"] == part.kind and o["metadata"]["name"] == part.workload)
        assert workload["spec"]["selector"]["matchLabels"] == wanted
        strays = [labels for labels in pod_labels if all(labels.get(k) == v for k, v in wanted.items())]
        assert not strays, f"{name}: the selector also matches {strays}"
