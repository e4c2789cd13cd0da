"""The preflight (deployproof/preflight.py) against fake API objects: each check's verdicts, what a missing need makes
unproven (never passed, never failed), and a missing permission stopping the run before anything is built."""

from __future__ import annotations

import json
import textwrap
from types import SimpleNamespace

import pytest
from kubernetes.client.rest import ApiException

from deployproof import preflight
from deployproof.criteria import CRITERIA, NEEDS, claims_needing
from deployproof.errors import PrerequisiteError
from deployproof.preflight import (BLOCKED, MISSING, NOT_CHECKED, OK, UNKNOWN, Check, Preflight, check_metrics_api, check_permissions,
                                   check_pod_security, check_storage, check_version, chart_kinds, judge_pod_security, netpol_check,
                                   volume_claims)
from deployproof.report import Report
from deployproof.report_html import render


def api_error(status: int, reason: str, message: str = "") -> ApiException:
    error = ApiException(status=status, reason=reason)
    error.body = json.dumps({"kind": "Status", "message": message or reason})
    return error


def meta(name: str, namespace: str = "", annotations: dict | None = None) -> SimpleNamespace:
    return SimpleNamespace(name=name, namespace=namespace, annotations=annotations or {})


def listing(items: list) -> SimpleNamespace:
    return SimpleNamespace(items=items, metadata=SimpleNamespace(resource_version="1"))


# --- server version ---------------------------------------------------------------------------------------------

class FakeVersion:
    def __init__(self, git: str, major: str, minor: str) -> None:
        self.info = SimpleNamespace(git_version=git, major=major, minor=minor)

    def get_code(self):
        return self.info


@pytest.mark.parametrize(("git", "major", "minor"), [("v1.37.2", "1", "37"), ("v1.35.9-gke.100", "1", "35+"), ("v1.36.0", "1", "36")])
def test_a_supported_minor_is_ok_whatever_its_patch_or_vendor_suffix(git, major, minor):
    check = check_version(FakeVersion(git, major, minor))
    assert check.status == OK and git in check.result


def test_an_unsupported_minor_leaves_the_pinned_version_claim_unproven():
    check = check_version(FakeVersion("v1.31.4", "1", "31"))
    assert check.status == MISSING and "minor 1.31 is not supported" in check.result and "1.37, 1.36, 1.35" in check.result
    checked = Preflight("ctx", [check])
    assert checked.unprovable("tests_deploy/test_cluster.py::test_version_is_the_pinned_release").startswith("v1.31.4")
    assert checked.unprovable("tests_deploy/test_cluster.py::test_node_is_ready") is None  # the rest of the claim still runs


# --- the metrics API --------------------------------------------------------------------------------------------

class FakeCustom:
    def __init__(self, *answers) -> None:
        self.answers = list(answers)
        self.calls = 0

    def list_cluster_custom_object(self, group, version, plural):
        assert (group, version, plural) == ("metrics.k8s.io", "v1beta1", "nodes")
        self.calls += 1
        answer = self.answers[min(self.calls, len(self.answers)) - 1]
        if isinstance(answer, Exception):
            raise answer
        return answer


def test_a_metrics_api_that_answers_is_ok():
    check = check_metrics_api(FakeCustom({"items": [{"metadata": {"name": "n1"}}]}))
    assert check.status == OK and "1 node(s)" in check.result and check.effect == "-"


def test_no_metrics_api_makes_the_hpa_claims_unproven_with_that_reason():
    check = check_metrics_api(FakeCustom(api_error(404, "Not Found")))
    assert check.status == MISSING and check.result.startswith("no metrics API") and "metrics-server" in check.fix
    checked = Preflight("ctx", [check])
    hpa = "tests_resilience/test_hpa.py::test_backend_hpa_scales_out_under_load_spreads_requests_and_scales_back_in"
    assert checked.unprovable(hpa) == f"{check.result} (preflight: metrics API)"
    assert checked.unprovable("tests_deploy/test_deployment.py::test_service_types") is None
    assert check.effect.startswith("unproven: CLUSTER (1 claim), SC-3 (2 claims), SC-4 (2 claims)")


def test_forbidden_metrics_count_as_missing_and_a_starting_metrics_server_is_waited_for():
    assert check_metrics_api(FakeCustom(api_error(403, "Forbidden"))).result.startswith("no metrics API readable with these credentials")
    starting = FakeCustom(api_error(503, "Service Unavailable"), {"items": []})
    assert check_metrics_api(starting, timeout=10).status == OK and starting.calls == 2
    never = check_metrics_api(FakeCustom(api_error(503, "Service Unavailable")), timeout=0.5)
    assert never.status == MISSING and "did not answer within" in never.result and "503" in never.result


# --- the default StorageClass -------------------------------------------------------------------------------------

def storage_class(name: str, default: bool = False) -> SimpleNamespace:
    annotations = {"storageclass.kubernetes.io/is-default-class": "true"} if default else {}
    return SimpleNamespace(metadata=meta(name, annotations=annotations))


class FakeStorage:
    def __init__(self, classes: list | Exception) -> None:
        self.classes = classes

    def list_storage_class(self):
        if isinstance(self.classes, Exception):
            raise self.classes
        return listing(self.classes)


RENDERED = [
    {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "todo-frontend"}},
    {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "todo-backend"}},
    {"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "todo-database"},
     "spec": {"volumeClaimTemplates": [{"metadata": {"name": "data"}, "spec": {"accessModes": ["ReadWriteOnce"]}}]}},
    {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler", "metadata": {"name": "todo-backend"}},
    {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "todo-test"}},
]


def test_volume_claims_come_from_statefulsets_and_claims_of_the_rendered_chart():
    assert volume_claims(RENDERED) == [None]
    assert volume_claims([{"kind": "PersistentVolumeClaim", "spec": {"storageClassName": "fast"}}]) == ["fast"]


def test_the_database_claim_needs_a_default_storage_class():
    ok = check_storage(FakeStorage([storage_class("slow"), storage_class("standard", default=True)]), [None])
    assert ok.status == OK and ok.result == "for the volume claims: standard (default)"
    none = check_storage(FakeStorage([storage_class("slow")]), [None])
    assert none.status == BLOCKED and "no default StorageClass" in none.result and "(classes here: slow)" in none.result
    assert "is-default-class=true" in none.fix and "database.persistence.storageClass" in none.fix


def test_a_class_named_by_the_values_must_exist_and_unreadable_classes_decide_nothing():
    assert check_storage(FakeStorage([storage_class("fast")]), ["fast"]).status == OK
    missing = check_storage(FakeStorage([storage_class("standard", default=True)]), ["fast"])
    assert missing.status == BLOCKED and "StorageClass 'fast', named by the values, does not exist" in missing.result
    assert check_storage(FakeStorage([]), []).status == OK  # no claim, nothing needed
    assert check_storage(FakeStorage(api_error(403, "Forbidden")), [None]).status == UNKNOWN


# --- Pod Security admission ---------------------------------------------------------------------------------------

VIOLATION = ('pods "privileged" is forbidden: violates PodSecurity "restricted:latest": privileged (container "c" must not '
             'set securityContext.privileged=true)')


class FakeCore:
    """Namespaces and dry-run pods: `admit(pod)` returns None (admitted) or an ApiException to raise."""

    def __init__(self, admit, create_error: Exception | None = None, service_account: bool = True) -> None:
        self.admit, self.create_error, self.service_account = admit, create_error, service_account
        self.namespaces: dict[str, dict] = {}
        self.deleted: list[str] = []
        self.dry_runs: list[tuple[str, str]] = []

    def create_namespace(self, body):
        if self.create_error:
            raise self.create_error
        self.namespaces[body["metadata"]["name"]] = body

    def list_namespaced_service_account(self, namespace, **_):
        accounts = [SimpleNamespace(metadata=meta("default", namespace))] if self.service_account else []
        return listing(accounts)

    def create_namespaced_pod(self, namespace, body, dry_run=None):
        assert dry_run == "All", "the preflight must never create a pod"
        assert namespace in self.namespaces
        self.dry_runs.append((namespace, body["metadata"]["name"]))
        error = self.admit(body)
        if error:
            raise error

    def delete_namespace(self, name):
        self.deleted.append(name)


def psa(pod):
    return api_error(403, "Forbidden", VIOLATION) if pod["spec"]["containers"][0]["securityContext"].get("privileged") else None


def test_pod_security_is_ok_when_a_privileged_pod_is_refused_in_a_restricted_namespace_and_the_scratch_goes_away():
    core = FakeCore(psa)
    check = check_pod_security(core)
    assert check.status == OK and "server-side dry run" in check.result
    (namespace, body), = core.namespaces.items()
    assert namespace.startswith("dp-preflight-") and body["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
    assert [name for _, name in core.dry_runs] == ["privileged", "restricted"]
    assert core.deleted == [namespace]


def test_no_pod_security_admission_leaves_its_claim_unproven():
    check = check_pod_security(FakeCore(lambda pod: None))
    assert check.status == MISSING and "privileged pod is admitted" in check.result
    assert Preflight("ctx", [check]).unprovable("tests_deploy/test_cluster.py::test_restricted_namespace_rejects_a_privileged_pod")


def test_pod_security_cannot_be_judged_when_something_else_refuses_pods_or_no_scratch_namespace_is_allowed():
    webhook = check_pod_security(FakeCore(lambda pod: api_error(400, "Bad Request", "admission webhook denied the request")))
    assert webhook.status == UNKNOWN and "meeting `restricted` was refused too" in webhook.result
    other = judge_pod_security((403, "pods is forbidden: exceeded quota"), None)
    assert other.status == UNKNOWN and "not by Pod Security" in other.result
    core = FakeCore(psa, create_error=api_error(403, "Forbidden"))
    assert check_pod_security(core).status == UNKNOWN and core.deleted == []
    no_account = FakeCore(psa, service_account=False)
    assert check_pod_security(no_account, timeout=0.5).status == UNKNOWN and len(no_account.deleted) == 1


# --- permissions --------------------------------------------------------------------------------------------------

DISCOVERY = {
    "v1": [{"name": "namespaces", "kind": "Namespace", "namespaced": False}, {"name": "pods", "kind": "Pod", "namespaced": True},
           {"name": "pods/exec", "kind": "PodExecOptions", "namespaced": True}, {"name": "secrets", "kind": "Secret", "namespaced": True},
           {"name": "services", "kind": "Service", "namespaced": True}],
    "apps/v1": [{"name": "deployments", "kind": "Deployment", "namespaced": True},
                {"name": "statefulsets", "kind": "StatefulSet", "namespaced": True}],
    "autoscaling/v2": [{"name": "horizontalpodautoscalers", "kind": "HorizontalPodAutoscaler", "namespaced": True}],
}


def resources_of(api_version: str) -> list[dict]:
    if api_version not in DISCOVERY:
        raise LookupError(f"/apis/{api_version} answered 404")
    return DISCOVERY[api_version]


def test_chart_kinds_are_every_rendered_kind_once():
    assert chart_kinds(RENDERED) == [("apps/v1", "Deployment"), ("apps/v1", "StatefulSet"),
                                     ("autoscaling/v2", "HorizontalPodAutoscaler"), ("v1", "Pod"), ("v1", "Service")]


def test_every_permission_granted_is_one_ok_row_and_each_review_names_verb_group_resource_and_scope():
    asked: list[dict] = []
    checks = check_permissions(lambda attributes: asked.append(attributes) or True, resources_of, chart_kinds(RENDERED), "todo")
    assert [c.status for c in checks] == [OK]
    assert "deployments.apps" in checks[0].result and "horizontalpodautoscalers.autoscaling" in checks[0].result
    assert {"verb": "create", "group": "", "resource": "namespaces", "namespace": ""} in asked
    assert {"verb": "delete", "group": "apps", "resource": "statefulsets", "namespace": "todo"} in asked
    assert {"verb": "create", "group": "", "resource": "secrets", "namespace": "todo"} in asked  # helm's release records
    assert {"verb": "watch", "group": "", "resource": "pods", "namespace": "todo"} in asked  # helm --wait, the pod watch


def test_a_missing_permission_blocks_the_deployment_naming_the_verb_the_resource_and_the_fix():
    def allowed(attributes):
        return not (attributes["resource"] == "namespaces" and attributes["verb"] == "create") and \
            not (attributes["resource"] == "deployments" and attributes["verb"] in ("patch", "delete"))

    checks = {c.name: c for c in check_permissions(allowed, resources_of, chart_kinds(RENDERED), "todo")}
    assert set(checks) == {"permission: namespaces", "permission: deployments.apps"}
    assert checks["permission: namespaces"].result == "may not create namespaces (cluster-wide)"
    assert "ClusterRole allowing get, create, patch, delete on namespaces" in checks["permission: namespaces"].fix
    assert checks["permission: deployments.apps"].result == "may not patch, delete deployments.apps in namespace todo"
    assert "RoleBinding in namespace todo" in checks["permission: deployments.apps"].fix
    checked = Preflight("ctx", list(checks.values()))
    with pytest.raises(PrerequisiteError) as stopped:
        checked.stop_if_blocked()
    assert "may not create namespaces" in stopped.value.cause and "may not patch, delete deployments.apps" in stopped.value.cause
    assert "--kube-context" in stopped.value.fix


def test_a_kind_the_server_does_not_serve_blocks_too():
    checks = check_permissions(lambda attributes: True, resources_of, [("policy/v1", "PodDisruptionBudget")], "todo")
    assert [(c.name, c.status) for c in checks] == [("API policy/v1 PodDisruptionBudget", BLOCKED)]
    assert "does not serve policy/v1 PodDisruptionBudget" in checks[0].result


# --- the table, the report, the gate ---------------------------------------------------------------------------------

def test_netpol_rows_follow_the_probe_and_no_enforcement_leaves_netpol_unproven():
    assert netpol_check(True, "a deny-all policy cut probe server pod 10.244.0.9:8080 (timeout) 1.2s after it was created").status == OK
    missing = netpol_check(False, "unproven: this cluster does not enforce NetworkPolicies: a deny-all policy left … reachable")
    assert missing.status == MISSING and missing.result.startswith("this cluster does not enforce")
    assert missing.effect == "unproven: NETPOL (4 claims)"
    for test in CRITERIA["NETPOL"].required_tests():
        assert Preflight("ctx", [missing]).unprovable(test)
    assert netpol_check(None, "the probe could not judge: …").status == UNKNOWN
    assert preflight.NETPOL_NOT_PROBED.status == NOT_CHECKED


def test_put_replaces_a_row_of_the_same_name():
    checked = Preflight("ctx", [preflight.NETPOL_NOT_PROBED, Check("server version", OK, "v1.37.2")])
    checked.put(netpol_check(True, "cut"))
    assert [c.name for c in checked.checks] == ["server version", "NetworkPolicy enforcement"]


def test_only_missing_needs_make_tests_unproven_unknown_and_blocked_do_not():
    for status in (OK, UNKNOWN, NOT_CHECKED, BLOCKED):
        checked = Preflight("ctx", [Check("metrics API", status, "…", need="metrics")])
        assert all(checked.unprovable(test) is None for test in NEEDS["metrics"])


def test_every_need_names_tests_of_the_criteria_map_and_affects_a_claim():
    mapped = {t for c in CRITERIA.values() for claim in c.claims for t in claim.tests}
    for need, tests in NEEDS.items():
        assert set(tests) <= mapped, f"{need}: {set(tests) - mapped}"
        assert claims_needing(need)


def test_the_table_and_the_report_rows_show_status_result_and_effect(tmp_path):
    checked = Preflight("kind-deployproof", [check_version(FakeVersion("v1.37.2", "1", "37")),
                                             check_metrics_api(FakeCustom(api_error(404, "Not Found")))], took_s=1.4)
    table = checked.table()
    assert table.splitlines()[0] == "preflight of context kind-deployproof (1.4s):"
    assert "server version  ok       v1.37.2 (minor 1.37 is supported)" in table
    assert "→ unproven: CLUSTER (1 claim), SC-3 (2 claims), SC-4 (2 claims)" in table
    report = Report()
    report.preflight = checked.rows()
    assert report.preflight[1] == {"check": "metrics API", "status": MISSING, "result": checked.checks[1].result,
                                   "effect": checked.checks[1].effect}
    page = render(report.to_dict(), report_dir=tmp_path, history=[])
    section = page[page.index('<section id="preflight">'):]
    assert "<th>check</th><th>status</th><th>result</th><th>effect</th>" in section and section.count("<tr>") == 3


def test_run_puts_every_check_in_order_against_fakes(monkeypatch):
    monkeypatch.setattr(preflight, "rendered", lambda release: RENDERED)
    monkeypatch.setattr(preflight, "api_resources", lambda api_client: resources_of)
    monkeypatch.setattr(preflight, "access_reviewer", lambda api_client: lambda attributes: True)
    monkeypatch.setattr("kubernetes.client.StorageV1Api", lambda api_client: FakeStorage([storage_class("standard", default=True)]))
    clients = SimpleNamespace(version=FakeVersion("v1.36.3", "1", "36"), api_client=object(), core=FakeCore(psa),
                              custom=FakeCustom({"items": [{}]}))
    release = SimpleNamespace(context="kind-deployproof", namespace="todo")
    checked = preflight.run(clients, release)
    assert [(c.name, c.status) for c in checked.checks] == [
        ("server version", OK), ("permissions (SelfSubjectAccessReview)", OK), ("default StorageClass", OK), ("metrics API", OK),
        ("Pod Security admission", OK), ("NetworkPolicy enforcement", NOT_CHECKED)]
    assert not checked.blocked() and checked.context == "kind-deployproof"


# --- the gate: a test needing what the preflight found missing is skipped as unproven (a real pytest run) -------------

def test_tests_needing_a_missing_need_are_skipped_unproven_so_their_claim_is_unproven_not_failed(pytester, monkeypatch):
    import os
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(root), os.environ.get("PYTHONPATH", "")])))
    pytester.makepyprojecttoml('[tool.pytest.ini_options]\ntestpaths = ["tests_deploy"]\n')
    pytester.makeconftest('''
        import pytest
        from deployproof.preflight import MISSING, Check, Preflight

        pytest_plugins = ["fixtures.cluster"]

        @pytest.fixture(scope="session")
        def preflight():
            return Preflight("fake", [Check("metrics API", MISSING, "no metrics API: metrics.k8s.io is not served", need="metrics")])
    ''')
    pytester.mkdir("tests_deploy")
    (pytester.path / "tests_deploy" / "test_cluster.py").write_text(textwrap.dedent('''
        import pytest

        def test_node_is_ready():
            pass

        def test_metrics_api_reports_nodes_and_pods():
            pytest.fail("must not run: the cluster has no metrics API")

        def test_hpa_shows_current_cpu_utilisation():
            pytest.fail("must not run: the cluster has no metrics API")
    '''))
    result = pytester.runpytest_subprocess("--criteria", "CLUSTER", "-rs")
    assert result.ret == 1, result.stdout.str()  # not every claim proven: the gate fails, without a failed test
    result.stdout.fnmatch_lines(["*unproven: no metrics API: metrics.k8s.io is not served (preflight: metrics API)*"])
    data = json.loads((pytester.path / "reports" / "success-criteria.json").read_text())
    cluster = next(c for c in data["criteria"] if c["criterion"] == "CLUSTER")
    assert cluster["verdict"] == "partial" and cluster["failed"] == []
    claims = {claim["text"]: claim["verdict"] for claim in cluster["claims"]}
    assert claims["metrics API and HPA see CPU use"] == "unproven"
    assert any("test_hpa_shows_current_cpu_utilisation (skipped: unproven: no metrics API" in m for m in cluster["missing"])


# --- the two raw API calls, through the real kubernetes client against a stand-in API server ------------------------

def test_discovery_and_access_reviews_go_over_http_as_the_api_server_expects():
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from kubernetes import client

    reviews: list[dict] = []

    class FakeApiServer(BaseHTTPRequestHandler):
        def _answer(self, status: int, body: dict) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self):
            if self.path == "/apis/apps/v1":
                return self._answer(200, {"kind": "APIResourceList", "groupVersion": "apps/v1", "resources": DISCOVERY["apps/v1"]})
            return self._answer(404, {"kind": "Status", "code": 404})

        def do_POST(self):
            assert self.path == "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews"
            review = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            reviews.append(review)
            allowed = review["spec"]["resourceAttributes"]["verb"] != "delete"
            return self._answer(201, {**review, "status": {"allowed": allowed}})

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeApiServer)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        configuration = client.Configuration(host=f"http://127.0.0.1:{server.server_address[1]}")
        with client.ApiClient(configuration) as api_client:
            resources_of = preflight.api_resources(api_client)
            assert [r["name"] for r in resources_of("apps/v1")] == ["deployments", "statefulsets"]
            with pytest.raises(LookupError, match="404"):
                resources_of("policy/v1")
            allowed = preflight.access_reviewer(api_client)
            assert allowed({"verb": "create", "group": "apps", "resource": "deployments", "namespace": "todo"}) is True
            assert allowed({"verb": "delete", "group": "", "resource": "namespaces", "namespace": ""}) is False
    finally:
        server.shutdown()
    assert reviews[0]["apiVersion"] == "authorization.k8s.io/v1" and reviews[0]["kind"] == "SelfSubjectAccessReview"
    assert reviews[0]["spec"]["resourceAttributes"] == {"verb": "create", "group": "apps", "resource": "deployments", "namespace": "todo"}
    assert reviews[1]["spec"]["resourceAttributes"] == {"verb": "delete", "resource": "namespaces"}  # core group, cluster-wide


def test_missing_names_the_reason_of_a_need():
    checked = Preflight("ctx", [Check("metrics API", MISSING, "no metrics API: 404", need="metrics"),
                                Check("Pod Security admission", UNKNOWN, "…", need="pod-security")])
    assert checked.missing("metrics") == "no metrics API: 404 (preflight: metrics API)"
    assert checked.missing("pod-security") is None and checked.missing("netpol") is None
