"""Unit tests of deployproof.aiops (no cluster): detection on a fake machine, the real-tool path with fake tools,
the diagnosis summarizer on synthetic diagnostics folders, the right-sizing arithmetic, the acceptance file."""

from __future__ import annotations

import json
import stat
from pathlib import Path
from types import SimpleNamespace

import pytest

from deployproof.aiops import acceptance, advisors, rightsizing
from deployproof.aiops.detect import Detection, detect_gordon, detect_kagent, detect_kubectl_ai
from deployproof.aiops.diagnose import diagnose, last_error_line
from deployproof.aiops.findings import Finding
from deployproof.aiops.record import AiopsReport
from deployproof.aiops.severity import grade
from deployproof.aiops.tables import parse_tables
from deployproof.errors import DeployProofError

Mi = 2**20


# ---- a fake machine ------------------------------------------------------------------------------------------

def tool(bin_dir: Path, name: str, script: str) -> Path:
    path = bin_dir / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/sh\n" + script + "\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return path


@pytest.fixture
def machine(tmp_path):
    """An empty HOME and a PATH holding only what a test puts in bin/."""
    home, bin_dir = tmp_path / "home", tmp_path / "bin"
    home.mkdir()
    bin_dir.mkdir()
    return SimpleNamespace(home=home, bin=bin_dir, path=str(bin_dir), env={"HOME": str(home)})


DOCKER_WITH_GORDON = 'if [ "$1" = ai ] && [ "$2" = --help ]; then echo "Usage:  docker ai [OPTIONS] [PROMPT]"; exit 0; fi\necho "$@"'
DOCKER_WITHOUT_GORDON = 'echo "Usage:  docker [OPTIONS] COMMAND"'


def test_gordon_missing_without_docker(machine):
    found = detect_gordon(environ=machine.env, path=machine.path)
    assert not found.installed and not found.usable and "Docker Desktop" in found.why_not


def test_gordon_missing_when_docker_has_no_ai_plugin(machine):
    tool(machine.bin, "docker", DOCKER_WITHOUT_GORDON)
    found = detect_gordon(environ=machine.env, path=machine.path)
    assert not found.installed and "ai" in found.why_not


def test_gordon_plugin_that_does_not_answer_as_gordon_is_not_usable(machine):
    tool(machine.bin, "docker", DOCKER_WITHOUT_GORDON)
    tool(machine.home / ".docker" / "cli-plugins", "docker-ai", "exit 0")
    found = detect_gordon(environ=machine.env, path=machine.path)
    assert not found.usable and "docker ai --help" in found.why_not


def test_gordon_usable_with_plugin_and_its_help(machine):
    tool(machine.bin, "docker", DOCKER_WITH_GORDON)
    plugin = tool(machine.home / ".docker" / "cli-plugins", "docker-ai", "exit 0")
    found = detect_gordon(environ=machine.env, path=machine.path)
    assert found.usable and found.binary == str(plugin) and "Docker" in found.model


def test_kubectl_ai_missing(machine):
    found = detect_kubectl_ai(environ=machine.env, path=machine.path)
    assert not found.installed and "GEMINI_API_KEY" in found.why_not


def test_kubectl_ai_installed_without_a_model_is_not_usable(machine):
    tool(machine.bin, "kubectl-ai", "echo")
    found = detect_kubectl_ai(environ=machine.env, path=machine.path)
    assert found.installed and not found.usable and "no model" in found.why_not


def test_kubectl_ai_picks_the_provider_whose_key_is_set(machine):
    tool(machine.bin, "kubectl-ai", "echo")
    found = detect_kubectl_ai(environ={**machine.env, "OPENAI_API_KEY": "sk-test", "OPENAI_MODEL": "m1"}, path=machine.path)
    assert found.usable and found.settings == {"provider": "openai", "model": "m1"}


def test_kubectl_ai_config_file_chooses_provider_and_model(machine):
    tool(machine.bin, "kubectl-ai", "echo")
    config = machine.home / ".config" / "kubectl-ai" / "config.yaml"
    config.parent.mkdir(parents=True)
    config.write_text("llmProvider: anthropic\nmodel: some-model\n")
    without_key = detect_kubectl_ai(environ=machine.env, path=machine.path)
    assert not without_key.usable and "ANTHROPIC_API_KEY" in without_key.why_not
    found = detect_kubectl_ai(environ={**machine.env, "ANTHROPIC_API_KEY": "k"}, path=machine.path)
    assert found.usable and found.settings == {"provider": "anthropic", "model": "some-model"} and "config" in found.model


class FakeCustomApi:
    def __init__(self, objects: dict[str, list[dict]] | None = None, error: Exception | None = None, metrics: list[list[dict]] | None = None):
        self.objects, self.error, self.metrics = objects or {}, error, list(metrics or [])

    def list_namespaced_custom_object(self, group, version, namespace, plural, **_):
        if self.error:
            raise self.error
        if group == "metrics.k8s.io":
            return {"items": self.metrics.pop(0) if len(self.metrics) > 1 else (self.metrics[0] if self.metrics else [])}
        return {"items": self.objects.get(plural, [])}


def test_kagent_needs_cli_install_and_model(machine):
    assert not detect_kagent(environ=machine.env, path=machine.path).installed
    tool(machine.bin, "kagent", "echo")
    assert not detect_kagent(environ=machine.env, path=machine.path, custom_api=None).usable
    not_installed = detect_kagent(environ=machine.env, path=machine.path, custom_api=FakeCustomApi(error=RuntimeError("404")))
    assert not not_installed.usable and "kagent install" in not_installed.why_not
    no_model = detect_kagent(environ=machine.env, path=machine.path, custom_api=FakeCustomApi({"agents": [{"metadata": {"name": "k8s-agent"}}]}))
    assert not no_model.usable and "ModelConfig" in no_model.why_not
    ready = FakeCustomApi({"modelconfigs": [{"metadata": {"name": "default-model-config"}, "spec": {"provider": "OpenAI", "model": "gpt"}}],
                           "agents": [{"metadata": {"name": "k8s-agent"}}]})
    found = detect_kagent(environ={**machine.env, "KAGENT_URL": "http://127.0.0.1:8083"}, path=machine.path, custom_api=ready)
    assert found.usable and "OpenAI/gpt" in found.model and found.settings["url"] == "http://127.0.0.1:8083"


# ---- the real-tool path, with fake tools ---------------------------------------------------------------------

def test_a_usable_tool_that_answers_is_recorded_as_used(machine, tmp_path):
    fake = tool(machine.bin, "kubectl-ai", 'echo "pod todo-backend-x: CrashLoopBackOff; fix DATABASE_URL"; echo "$@" > "$(dirname "$0")/args"')
    detection = Detection("kubectl-ai", True, str(fake), "gemini", True, settings={"provider": "gemini", "model": ""})
    record, _ = advisors.cluster_diagnosis(detection, write_folder(tmp_path / "d", HEALTHY), kubeconfig=tmp_path / "kc", namespace="todo")
    assert record.status == advisors.USED and "CrashLoopBackOff" in record.answer.output
    args = (machine.bin / "args").read_text()
    assert "--quiet" in args and "--llm-provider gemini" in args and "--skip-permissions" not in args
    assert record.fallback_output  # the summarizer ran too


def test_a_failing_or_hanging_tool_falls_back(machine, tmp_path):
    folder = write_folder(tmp_path / "d", HEALTHY)
    failing = Detection("kubectl-ai", True, str(tool(machine.bin, "kubectl-ai", "echo quota exceeded >&2; exit 3")), "gemini", True, settings={})
    record, _ = advisors.cluster_diagnosis(failing, folder, kubeconfig=tmp_path / "kc", namespace="todo")
    assert record.status == advisors.FALLBACK and "quota exceeded" in record.answer.error and record.recorded
    hanging = Detection("kubectl-ai", True, str(tool(machine.bin, "slow-ai", "sleep 30")), "gemini", True, settings={})
    record, _ = advisors.cluster_diagnosis(hanging, folder, kubeconfig=tmp_path / "kc", namespace="todo", timeout=1)
    assert record.status == advisors.FALLBACK and "timed out" in record.answer.error


def test_a_missing_tool_is_not_called_and_the_fallback_answers(tmp_path):
    record, diagnosis = advisors.cluster_diagnosis(Detection("kubectl-ai", False, why_not="not on PATH"),
                                                   write_folder(tmp_path / "d", CRASHLOOP), kubeconfig=tmp_path / "kc", namespace="todo")
    assert record.answer is None and record.status == advisors.FALLBACK
    assert "CrashLoopBackOff" in record.fallback_output and not diagnosis.healthy


# ---- diagnosis on synthetic diagnostics folders --------------------------------------------------------------

def kubectl_table(header: list[str], rows: list[list[str]]) -> str:
    """Text aligned the way kubectl's tabwriter aligns it (column width + 3 spaces)."""
    widths = [max(len(r[i]) for r in [header, *rows]) + 3 for i in range(len(header))]
    return "\n".join("".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in [header, *rows]) + "\n"


POD_HEADER = ["NAME", "READY", "STATUS", "RESTARTS", "AGE", "IP", "NODE", "NOMINATED NODE", "READINESS GATES"]
EVENT_HEADER = ["LAST SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"]


def pod(name, ready, status, restarts="0"):
    return [f"pod/{name}", ready, status, restarts, "5m", "10.244.0.9", "node", "<none>", "<none>"]


def event(kind, reason, obj, message):
    return ["10s", kind, reason, obj, message]


def describe(container: str, state: str, last: str = "", restarts: int = 0, exit_code: str = "") -> str:
    last_block = f"    Last State:     Terminated\n      Reason:       {last}\n      Exit Code:    {exit_code}\n" if last else ""
    return (f"Name:         x\nNamespace:    todo\nContainers:\n  {container}:\n    Image:          todo-backend:abc\n"
            f"    State:          {state.split(':')[0]}\n" + (f"      Reason:       {state.split(':')[1]}\n" if ":" in state else "")
            + last_block + f"    Ready:          False\n    Restart Count:  {restarts}\nConditions:\n  Type   Status\n"
            "Events:\n  Type    Reason   Age  From  Message\n")


HEALTHY = {
    "todo/pods.txt": kubectl_table(POD_HEADER, [pod("todo-backend-1", "1/1", "Running"), pod("todo-database-0", "1/1", "Running")])
    + "\n" + kubectl_table(["NAME", "STATUS", "VOLUME", "CAPACITY"], [["persistentvolumeclaim/data-todo-database-0", "Bound", "pv-0", "5Gi"]]),
    "todo/events.txt": kubectl_table(EVENT_HEADER, [event("Normal", "Scheduled", "pod/todo-backend-1", "Successfully assigned todo/x")]),
}
CRASHLOOP = {
    "todo/pods.txt": kubectl_table(POD_HEADER, [pod("todo-backend-1", "0/1", "CrashLoopBackOff", "4 (20s ago)")]),
    "todo/events.txt": kubectl_table(EVENT_HEADER, [event("Warning", "BackOff", "pod/todo-backend-1", "Back-off restarting failed container backend in pod todo-backend-1")]),
    "todo/describe/pod-todo-backend-1.txt": describe("backend", "Waiting:CrashLoopBackOff", "Error", 4, "1"),
    "todo/logs/todo-backend-1.backend.previous.log": "INFO starting\nTraceback (most recent call last):\n  File x\n"
                                                      "pydantic_core.ValidationError: DATABASE_URL field required\n",
}


def write_folder(root: Path, files: dict[str, str]) -> Path:
    for relative, text in files.items():
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        (root / relative).write_text(text)
    return root


def reasons(diagnosis) -> set[tuple[str, str]]:
    return {(p.object, p.reason) for p in diagnosis.problems}


def test_kubectl_tables_are_read_by_column():
    rows = parse_tables(HEALTHY["todo/pods.txt"])
    assert rows[0][0]["NOMINATED NODE"] == "<none>" and rows[0][1]["STATUS"] == "Running"
    assert rows[1][0] == {"NAME": "persistentvolumeclaim/data-todo-database-0", "STATUS": "Bound", "VOLUME": "pv-0", "CAPACITY": "5Gi"}


def test_healthy_folder_has_no_problem(tmp_path):
    diagnosis = diagnose(write_folder(tmp_path, HEALTHY))
    assert diagnosis.healthy and diagnosis.problems == [] and diagnosis.namespaces == ["todo"]
    assert "no problem found" in diagnosis.summary()


def test_crashloop_names_pod_container_reason_log_line_and_fix(tmp_path):
    diagnosis = diagnose(write_folder(tmp_path, CRASHLOOP))
    crash = next(p for p in diagnosis.problems if p.reason == "CrashLoopBackOff" and p.container == "backend")
    assert crash.object == "pod/todo-backend-1" and crash.severity == "HIGH"
    assert any("DATABASE_URL field required" in e for e in crash.evidence)
    assert "DATABASE_URL" in crash.fix
    assert ("pod/todo-backend-1", "Restarted") in reasons(diagnosis)
    assert not diagnosis.healthy and "likely fix:" in diagnosis.summary()


def test_image_pull_failures(tmp_path):
    folder = write_folder(tmp_path, {
        "todo/pods.txt": kubectl_table(POD_HEADER, [pod("todo-frontend-1", "0/1", "ErrImageNeverPull"), pod("todo-backend-1", "0/1", "ImagePullBackOff")]),
        "todo/events.txt": kubectl_table(EVENT_HEADER, [
            event("Warning", "Failed", "pod/todo-frontend-1", 'Error: ErrImageNeverPull: Container image "todo-frontend:1" is not present with pull policy of Never'),
            event("Warning", "BackOff", "pod/todo-backend-1", 'Back-off pulling image "todo-backend:2"')]),
    })
    found = reasons(diagnose(folder))
    assert {("pod/todo-frontend-1", "ErrImageNeverPull"), ("pod/todo-backend-1", "ImagePullBackOff")} <= found


def test_oomkilled_from_the_last_state(tmp_path):
    folder = write_folder(tmp_path, {
        "todo/pods.txt": kubectl_table(POD_HEADER, [pod("todo-backend-1", "1/1", "Running", "2 (1m ago)")]),
        "todo/describe/pod-todo-backend-1.txt": describe("backend", "Running", "OOMKilled", 2, "137"),
    })
    oom = [p for p in diagnose(folder).problems if p.reason == "OOMKilled"]
    assert oom and oom[0].container == "backend" and "limits.memory" in oom[0].fix


def test_probe_failures_scheduling_and_pvc_pending(tmp_path):
    folder = write_folder(tmp_path, {
        "todo/pods.txt": kubectl_table(POD_HEADER, [pod("todo-backend-1", "0/1", "Running"), pod("todo-database-0", "0/1", "Pending")])
        + "\n" + kubectl_table(["NAME", "STATUS", "VOLUME"], [["persistentvolumeclaim/data-todo-database-0", "Pending", ""]]),
        "todo/events.txt": kubectl_table(EVENT_HEADER, [
            event("Warning", "Unhealthy", "pod/todo-backend-1", 'Readiness probe failed: HTTP probe failed with statuscode: 503'),
            event("Warning", "Unhealthy", "pod/todo-backend-1", 'Liveness probe failed: Get "http://10.0.0.1:8000/healthz": context deadline exceeded'),
            event("Warning", "FailedScheduling", "pod/todo-database-0", "0/1 nodes are available: pod has unbound immediate PersistentVolumeClaims."),
            event("Warning", "ProvisioningFailed", "persistentvolumeclaim/data-todo-database-0", 'storageclass.storage.k8s.io "fast" not found'),
        ]),
    })
    diagnosis = diagnose(folder)
    found = reasons(diagnosis)
    assert {("pod/todo-backend-1", "ReadinessProbeFailed"), ("pod/todo-backend-1", "LivenessProbeFailed"),
            ("pod/todo-database-0", "FailedScheduling"), ("persistentvolumeclaim/data-todo-database-0", "PVCPending")} <= found
    # the vague "Pending"/"NotReady" give way to the specific reasons for the same pod
    assert ("pod/todo-database-0", "Pending") not in found and ("pod/todo-backend-1", "NotReady") not in found
    assert [f.check_id for f in diagnosis.findings()][0] in ("FailedScheduling", "LivenessProbeFailed", "PVCPending")


def test_repeated_events_are_counted_once(tmp_path):
    message = 'Startup probe failed: Get "http://10.0.0.1:8000/healthz": connection refused'
    folder = write_folder(tmp_path, {**HEALTHY, "todo/events.txt": kubectl_table(EVENT_HEADER, [event("Warning", "Unhealthy", "pod/todo-backend-1", message)] * 3)})
    problems = diagnose(folder).problems
    assert len(problems) == 1 and problems[0].count == 3 and problems[0].severity == "LOW"


def test_last_error_line_prefers_the_error():
    assert last_error_line("a\nERROR: could not connect\nshutting down\n") == "ERROR: could not connect"
    assert last_error_line("just\nlines\n") == "lines" and last_error_line("") == ""


# ---- right-sizing arithmetic ---------------------------------------------------------------------------------

def test_quantities_and_formatting():
    assert rightsizing.quantity("250m") == pytest.approx(0.25)
    assert rightsizing.quantity("1614694n") == pytest.approx(0.001614694)
    assert rightsizing.quantity("84592Ki") == 84592 * 1024
    assert rightsizing.quantity("1Gi") == 2**30 and rightsizing.quantity(None) == 0.0
    assert rightsizing.format_cpu(0.25) == "250m" and rightsizing.format_memory(96 * Mi) == "96Mi"


def test_percentile_nearest_rank():
    values = [float(v) for v in range(1, 21)]
    assert rightsizing.percentile(values, 95) == 19 and rightsizing.percentile(values, 50) == 10
    assert rightsizing.percentile([], 95) == 0.0 and rightsizing.percentile([3.0], 95) == 3.0


def spec(**kw):
    base = dict(workload="Deployment/todo-backend", container="backend", replicas=2, selector={"app": "b"},
                cpu_request=0.1, cpu_limit=0.5, memory_request=128 * Mi, memory_limit=256 * Mi,
                hpa=rightsizing.HpaSpec("todo-backend", 2, 4, 50))
    base.update(kw)
    return rightsizing.ContainerSpec(**base)


def test_recommendation_from_measured_use():
    usage = rightsizing.Usage(points=10, pods=2, cpu_mean=0.06, cpu_p95=0.08, cpu_max=0.12, memory_p95=90 * Mi, memory_max=100 * Mi)
    r = rightsizing.recommend(spec(), usage)
    assert r.recommended == {"cpu_request": "100m", "cpu_limit": "200m", "memory_request": "120Mi", "memory_limit": "152Mi"}
    assert r.cpu_request_ratio == 1.25 and r.memory_request_ratio == 1.28 and r.flags == []
    # HPA: 60m mean on a 100m request is 60% against a 50% target → ceil(2 × 60 / 50) = 3 replicas
    assert r.hpa["measured_utilisation_pct"] == 60.0 and r.hpa["desired_replicas_at_measured_load"] == 3
    assert r.hpa["recommended_target_cpu_pct"] == 60


def test_over_and_under_requests_are_flagged():
    idle = rightsizing.Usage(points=6, pods=1, cpu_mean=0.002, cpu_p95=0.002, cpu_max=0.003, memory_p95=20 * Mi, memory_max=20 * Mi)
    r = rightsizing.recommend(spec(cpu_request=0.25, memory_request=512 * Mi), idle)
    assert r.cpu_request_ratio == 125.0 and r.memory_request_ratio == 25.6
    assert len([f for f in r.flags if "over-requested" in f]) == 2
    assert r.recommended["cpu_request"] == "10m" and r.recommended["memory_request"] == "32Mi"  # the floors
    busy = rightsizing.Usage(points=6, pods=1, cpu_mean=0.4, cpu_p95=0.45, cpu_max=0.5, memory_p95=240 * Mi, memory_max=250 * Mi)
    r = rightsizing.recommend(spec(cpu_request=0.1), busy)
    assert any("under-requested" in f and f.startswith("cpu") for f in r.flags)
    assert any("OOMKilled risk" in f for f in r.flags) and any("throttled" in f for f in r.flags)
    assert r.hpa["desired_replicas_at_measured_load"] == 4  # capped at maxReplicas
    assert rightsizing.findings([r], "a test")[0].severity == "LOW"


def test_missing_requests_are_flagged():
    usage = rightsizing.Usage(points=2, pods=1, cpu_mean=0.01, cpu_p95=0.01, cpu_max=0.01, memory_p95=10 * Mi, memory_max=10 * Mi)
    r = rightsizing.recommend(spec(cpu_request=None, memory_request=None, hpa=None), usage)
    assert r.cpu_request_ratio is None and sum("no " in f for f in r.flags) == 2 and r.hpa == {}


def pod_metrics(name, labels, timestamp, cpu, memory, container="backend"):
    return {"metadata": {"name": name, "labels": labels}, "timestamp": timestamp, "window": "15s",
            "containers": [{"name": container, "usage": {"cpu": cpu, "memory": memory}}]}


def test_sampler_keeps_each_point_once_and_advise_matches_by_selector():
    backend, other = {"app": "b"}, {"app": "x"}
    polls = [
        [pod_metrics("b-1", backend, "t1", "20m", "100Mi"), pod_metrics("x-1", other, "t1", "5m", "10Mi", "sidecar")],
        [pod_metrics("b-1", backend, "t1", "20m", "100Mi")],  # the same window read again
        [pod_metrics("b-1", backend, "t2", "40m", "110Mi"), pod_metrics("b-2", backend, "t2", "60m", "90Mi")],
    ]
    sampler = rightsizing.MetricsSampler(FakeCustomApi(metrics=polls), "todo", interval=3600)
    for _ in polls:
        sampler.poll()
    assert len(sampler.samples) == 4 and sampler.polls == 3
    [r] = rightsizing.advise(sampler, [spec()])
    assert r.usage.points == 3 and r.usage.pods == 2
    assert r.usage.cpu_mean == pytest.approx(0.04) and r.usage.cpu_max == pytest.approx(0.06) and r.usage.memory_max == 110 * Mi
    assert "Deployment/todo-backend/backend" in rightsizing.table([r])


def test_sampler_as_context_manager_survives_api_errors():
    with rightsizing.MetricsSampler(FakeCustomApi(error=RuntimeError("503")), "todo", interval=3600) as sampler:
        pass
    assert sampler.samples == [] and len(sampler.errors) == 2 and sampler.duration_s >= 0


def test_live_workloads_reads_resources_and_hpa_targets():
    def container(name, requests, limits):
        return SimpleNamespace(name=name, resources=SimpleNamespace(requests=requests, limits=limits))

    def workload(name, containers):
        return SimpleNamespace(metadata=SimpleNamespace(name=name), status=SimpleNamespace(ready_replicas=2),
                               spec=SimpleNamespace(replicas=2, selector=SimpleNamespace(match_labels={"app": name}),
                                                    template=SimpleNamespace(spec=SimpleNamespace(containers=containers))))

    apps = SimpleNamespace(
        list_namespaced_deployment=lambda ns: SimpleNamespace(items=[workload("todo-backend", [container("backend", {"cpu": "100m", "memory": "192Mi"}, {"cpu": "1", "memory": "384Mi"})])]),
        list_namespaced_stateful_set=lambda ns: SimpleNamespace(items=[workload("todo-database", [container("postgresql", None, None)])]))
    metric = SimpleNamespace(type="Resource", resource=SimpleNamespace(name="cpu", target=SimpleNamespace(average_utilization=50)))
    hpa = SimpleNamespace(metadata=SimpleNamespace(name="todo-backend"),
                          spec=SimpleNamespace(metrics=[metric], min_replicas=2, max_replicas=4,
                                               scale_target_ref=SimpleNamespace(kind="Deployment", name="todo-backend")))
    autoscaling = SimpleNamespace(list_namespaced_horizontal_pod_autoscaler=lambda ns: SimpleNamespace(items=[hpa]))
    backend, database = rightsizing.live_workloads(apps, autoscaling, "todo")
    assert backend.cpu_request == pytest.approx(0.1) and backend.memory_limit == 384 * Mi and backend.hpa.target_cpu_pct == 50
    assert database.workload == "StatefulSet/todo-database" and database.cpu_request is None and database.hpa is None


# ---- acceptance, severity and the report -----------------------------------------------------------------------

def finding(check="CKV_DOCKER_3", target="dockerfiles/base/python.Dockerfile", severity="HIGH", tool_name="checkov"):
    return Finding(tool_name, check, severity, target, "message")


def test_acceptance_file_matches_check_and_target_with_wildcards(tmp_path):
    path = tmp_path / "accepted.yaml"
    path.write_text("accepted:\n"
                    "  - {check: CKV_DOCKER_3, target: dockerfiles/base/*.Dockerfile, reason: base images only}\n"
                    "  - {check: pod-probes-identical, target: Deployment/todo-frontend, reason: same endpoint by design}\n"
                    "  - {check: CKV_K8S_99, target: Deployment/nothing, reason: stale}\n")
    entries = acceptance.load(path)
    findings = [finding(), finding(target="dockerfiles/backend.Dockerfile"),
                finding("pod-probes-identical", "Deployment/todo-frontend/frontend", "MEDIUM", "kube-score")]
    stale = acceptance.apply(findings, entries)
    assert findings[0].accepted == "base images only" and not findings[0].blocking
    assert not findings[1].accepted and findings[1].blocking  # the app image is not covered
    assert findings[2].accepted == "same endpoint by design"  # an object covers its containers
    assert [a.check for a in stale] == ["CKV_K8S_99"]


def test_acceptance_without_reason_is_refused(tmp_path):
    path = tmp_path / "accepted.yaml"
    path.write_text("accepted:\n  - {check: CKV_DOCKER_3, target: '*'}\n")
    with pytest.raises(DeployProofError, match="missing reason"):
        acceptance.load(path)
    assert acceptance.load(tmp_path / "absent.yaml") == []


def test_the_repository_acceptance_file_is_valid_and_reasoned():
    entries = acceptance.load()
    assert entries and all(len(e.reason) > 40 for e in entries)


def test_severity_grades():
    assert grade("CKV_K8S_16", "Deployment") == "HIGH" and grade("CKV_DOCKER_8") == "HIGH"
    assert grade("CKV_K8S_43", "Deployment") == "LOW" and grade("CKV_K8S_35", "Deployment") == "MEDIUM"
    assert grade("CKV_K8S_8", "Job") == "INFO" and grade("CKV_K8S_8", "Deployment") == "MEDIUM"
    assert grade("pod-networkpolicy", "Deployment", "CRITICAL") == "MEDIUM" and grade("anything", "Pod", "WARNING") == "LOW"


def test_report_gate_and_files(tmp_path):
    high = finding(target="dockerfiles/backend.Dockerfile")
    accepted = finding()
    accepted.accepted = "base image"
    diagnosis_high = Finding("diagnosis", "CrashLoopBackOff", "HIGH", "pod/x", "crash")
    records = [advisors.ToolRecord("gordon", "Dockerfile review", Detection("gordon", False, why_not="no docker ai"),
                                   advisors.FALLBACK, None, "checkov", "checkov: 3 passed, 2 failed", [high, accepted]),
               advisors.ToolRecord("kubectl-ai", "cluster diagnosis", Detection("kubectl-ai", False, why_not="absent"),
                                   advisors.FALLBACK, None, "summarizer", "HIGH pod/x: CrashLoopBackOff", [diagnosis_high])]
    report = AiopsReport(records)
    assert report.blocking == [high]  # live-state diagnoses are reported, but only image/chart findings gate
    paths = report.write(tmp_path)
    data = json.loads(paths["json"].read_text())
    assert [t["status"] for t in data["tools"]] == ["fallback ran", "fallback ran"]
    assert data["findings_by_severity"] == {"HIGH": 3} and len(data["gate"]["blocking"]) == 1
    text = paths["markdown"].read_text()
    assert "fallback ran" in text and "1 unaccepted HIGH/CRITICAL" in text and "base image" in text


def test_problems_of_pods_that_are_gone_are_history(tmp_path):
    folder = write_folder(tmp_path, {**HEALTHY, "todo/events.txt": kubectl_table(EVENT_HEADER, [
        event("Warning", "Unhealthy", "pod/todo-backend-old", "Readiness probe failed: connection refused"),
        event("Warning", "Unhealthy", "pod/todo-backend-1", "Readiness probe failed: HTTP probe failed with statuscode: 503")])})
    problems = {p.object: p for p in diagnose(folder).problems}
    assert problems["pod/todo-backend-old"].gone and problems["pod/todo-backend-old"].severity == "LOW"
    assert not problems["pod/todo-backend-1"].gone and problems["pod/todo-backend-1"].severity == "MEDIUM"
    assert "(pod gone)" in problems["pod/todo-backend-old"].line()


def test_gordon_and_kagent_are_asked_read_only_with_what_they_need(machine, tmp_path):
    from deployproof.aiops import assistants

    record_args = 'printf "%s\\n" "$@" > "$(dirname "$0")/$(basename "$0").args"; echo "advice: add a USER"'
    docker = tool(machine.bin, "docker", record_args)
    dockerfile = tmp_path / "repo" / "dockerfiles" / "app.Dockerfile"
    dockerfile.parent.mkdir(parents=True)
    dockerfile.write_text("FROM scratch\nCOPY app /app\n")
    answer = assistants.gordon_review_dockerfiles(Detection("gordon", True, "plugin", "Docker", True, settings={"docker": str(docker)}),
                                                  [dockerfile], tmp_path / "repo", timeout=10)
    sent = (machine.bin / "docker.args").read_text()
    assert answer.ok and answer.output == "advice: add a USER"
    assert sent.startswith("ai\n") and "# dockerfiles/app.Dockerfile" in sent and "COPY app /app" in sent and "read-only" in sent

    kagent = tool(machine.bin, "kagent", record_args)
    detection = Detection("kagent", True, str(kagent), "m", True, settings={"namespace": "kagent", "agent": "k8s-agent", "url": "http://127.0.0.1:8083"})
    answer = assistants.kagent_optimize(detection, "todo", timeout=10)
    sent = (machine.bin / "kagent.args").read_text().splitlines()
    assert answer.ok and sent[:5] == ["invoke", "--namespace", "kagent", "--agent", "k8s-agent"]
    assert sent[sent.index("--kagent-url") + 1] == "http://127.0.0.1:8083" and "namespace todo" in sent[-1]


# ---- "used" means answered; fallbacks parsed, counted and graded ----------------------------------------------

def test_a_tool_that_exits_0_with_nothing_to_say_is_not_used(machine, tmp_path):
    silent = Detection("kubectl-ai", True, str(tool(machine.bin, "kubectl-ai", "echo '   '")), "gemini", True, settings={})
    record, _ = advisors.cluster_diagnosis(silent, write_folder(tmp_path / "d", HEALTHY), kubeconfig=tmp_path / "kc", namespace="todo")
    assert record.answer.returncode == 0 and not record.answer.answered and record.status == advisors.FALLBACK
    assert record.recorded  # by the fallback, not by the silent tool


def test_an_answer_counts_only_within_its_timeout_and_with_exit_0():
    from deployproof.aiops.assistants import Answer

    assert Answer("t", "task", "cmd", True, 2.0, "advice", returncode=0, timeout_s=5).answered
    assert not Answer("t", "task", "cmd", True, 6.0, "advice", returncode=0, timeout_s=5).answered
    assert not Answer("t", "task", "cmd", False, 1.0, "advice", "boom", returncode=2, timeout_s=5).answered
    assert not Answer("t", "task", "cmd", False, 5.0, "", "timed out after 5s", returncode=None, timeout_s=5).answered


def test_a_stand_in_run_that_hung_after_its_answer_counts_only_if_its_log_says_the_agent_finished(tmp_path):
    from deployproof.aiops.assistants import AGENT_EXITED_LOG_LINE, Answer, _agent_exited

    hung = Answer("kubectl-ai", "cluster diagnosis", "cmd", True, 60.0, "Every pod is Running and Ready",
                  "answered, then did not exit: stopped after 60s", None, 60.0, stopped_after_answer=True)
    log = tmp_path / "kubectl-ai.log"
    log.write_text(f'I1130 conversation.go:338] "RunOnce mode, exiting agent loop"\nI1130 conversation.go:165] {AGENT_EXITED_LOG_LINE}\n')
    kept = _agent_exited(hung, log)
    assert kept.answered and "its agent had exited" in kept.error
    log.write_text('I1130 conversation.go:165] Agent state changing from idle to running\n')
    partial = _agent_exited(hung, log)
    assert not partial.answered and "may be partial" in partial.error
    assert not _agent_exited(hung, tmp_path / "missing.log").answered
    finished = Answer("kubectl-ai", "cluster diagnosis", "cmd", True, 0.4, "ok", returncode=0, timeout_s=60.0)
    assert _agent_exited(finished, tmp_path / "missing.log") is finished  # a run that exited needs no log


def test_a_tool_that_answers_and_then_hangs_is_stopped_and_its_printed_answer_kept(tmp_path):
    from deployproof.aiops.assistants import _ask

    hangs = tmp_path / "hangs"
    hangs.write_text("#!/bin/sh\necho 'every pod is Running and Ready'\nexec sleep 60\n")
    hangs.chmod(0o755)
    answer = _ask("t", "task", [str(hangs), "prompt"], timeout=1)
    assert answer.answered and answer.stopped_after_answer and answer.output == "every pod is Running and Ready"
    assert "did not exit" in answer.error
    silent = tmp_path / "silent"
    silent.write_text("#!/bin/sh\nexec sleep 60\n")
    silent.chmod(0o755)
    nothing = _ask("t", "task", [str(silent), "prompt"], timeout=1)
    assert not nothing.answered and "timed out" in nothing.error


def test_a_tool_run_is_graded_by_its_worst_unaccepted_finding():
    from deployproof.aiops.findings import letter_grade

    accepted_high = finding()
    accepted_high.accepted = "reason"
    assert letter_grade([]) == "A" and letter_grade([finding(severity="LOW"), finding(severity="INFO")]) == "A"
    assert letter_grade([finding(severity="MEDIUM")]) == "B" and letter_grade([accepted_high]) == "B"
    assert letter_grade([finding(severity="LOW"), finding(severity="HIGH")]) == "F"


CHECKOV_JSON = {
    "check_type": "dockerfile",
    "results": {
        "passed_checks": [{"check_id": "CKV_DOCKER_7", "file_path": "/backend.Dockerfile", "check_name": "tag"}],
        "failed_checks": [
            {"check_id": "CKV_DOCKER_3", "file_path": "/base/python.Dockerfile", "check_name": "no USER", "guideline": "add USER"},
            {"check_id": "CKV_DOCKER_2", "file_path": "/backend.Dockerfile", "check_name": "no HEALTHCHECK"},
        ],
    },
    "summary": {"passed": 1, "failed": 2, "skipped": 0},
}


def _fake_checkov(monkeypatch, tmp_path, output: dict) -> None:
    from deployproof.aiops import analyzers, toolcache

    payload = tmp_path / "checkov.json"
    payload.write_text(json.dumps(output))
    exe = tool(tmp_path / "bin", "checkov", f"cat {payload}; exit 1")
    monkeypatch.setattr(toolcache, "checkov", lambda: exe)
    monkeypatch.setattr(analyzers.versions, "CHECKOV", "test")


def test_checkov_findings_are_parsed_counted_graded_and_checked_against_its_own_summary(monkeypatch, tmp_path):
    from deployproof.aiops import analyzers

    _fake_checkov(monkeypatch, tmp_path, CHECKOV_JSON)
    run = analyzers.review_dockerfiles()
    assert run.parsed_all and run.reported_failed == 2 and len(run.findings) == 2
    assert run.counts == {"HIGH": 1, "LOW": 1} and run.grade == "F"
    assert run.subjects == ["dockerfiles/backend.Dockerfile", "dockerfiles/base/python.Dockerfile"]
    assert run.as_dict()["by_severity"] == {"HIGH": 1, "LOW": 1} and run.as_dict()["grade"] == "F"

    lossy = json.loads(json.dumps(CHECKOV_JSON))
    lossy["summary"]["failed"] = 3  # a failure the parser did not see (a format change): the run says so
    _fake_checkov(monkeypatch, tmp_path, lossy)
    assert not analyzers.review_dockerfiles().parsed_all


def _pod(name, phase="Running", ready=True, restarts=0, waiting=None, deleting=False):
    state = SimpleNamespace(waiting=SimpleNamespace(reason=waiting) if waiting else None)
    return SimpleNamespace(
        metadata=SimpleNamespace(name=name, deletion_timestamp="now" if deleting else None),
        status=SimpleNamespace(phase=phase, conditions=[SimpleNamespace(type="Ready", status="True" if ready else "False")],
                               container_statuses=[SimpleNamespace(restart_count=restarts, state=state)]))


def test_the_apis_reading_of_pods_holds_the_diagnosis_to_account(tmp_path):
    from deployproof.aiops.diagnose import live_pod_troubles, unexplained

    pods = [_pod("todo-backend-1", ready=False, restarts=4, waiting="CrashLoopBackOff"), _pod("todo-database-0"),
            _pod("todo-frontend-2", ready=False), _pod("todo-test", phase="Succeeded", ready=False),
            _pod("todo-backend-old", ready=False, deleting=True), _pod("todo-frontend-3", restarts=1)]
    troubles = live_pod_troubles(pods)
    assert troubles == {"todo-backend-1": "CrashLoopBackOff", "todo-frontend-2": "NotReady", "todo-frontend-3": "Restarted"}
    diagnosis = diagnose(write_folder(tmp_path / "d", CRASHLOOP))
    assert unexplained(diagnosis, troubles) == {"todo-frontend-2": "NotReady", "todo-frontend-3": "Restarted"}
    assert unexplained(diagnose(write_folder(tmp_path / "h", HEALTHY)), {}) == {}


def test_rendered_objects_keep_a_number_like_label_a_string_for_go_parsers():
    """An image content tag can be all digits (0755583421306815 was, in a rehearsal): kube-score read it as a float."""
    import yaml

    from deployproof.aiops.analyzers import dump_for_go

    labels = {"app.kubernetes.io/version": "0755583421306815", "tag": "1e10", "name": "todo-frontend", "build": "deadbeef"}
    text = dump_for_go({"metadata": {"labels": labels}, "spec": {"replicas": 1}})
    assert "'0755583421306815'" in text and "'1e10'" in text and "name: todo-frontend" in text
    assert "replicas: 1" in text and yaml.safe_load(text)["metadata"]["labels"] == labels
