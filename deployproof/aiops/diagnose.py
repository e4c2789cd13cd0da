"""Failure diagnosis from a diagnostics folder: which pod, which reason, which likely fix.

Reads the layout deployproof.diagnostics writes (<folder>/<namespace>/{pods.txt, events.txt,
describe/pod-*.txt, logs/<pod>.<container>[.previous].log}) and nothing else, so it works
on a folder from any run, any machine, long after the cluster is gone. Pure Python: the
fallback of kubectl-ai's cluster diagnosis, and a first reading of every failed run.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from .findings import Finding, severity_rank
from .tables import parse_tables

# reason → (severity, likely fix). The reasons are Kubernetes' own words where it has one.
RULES: dict[str, tuple[str, str]] = {
    "CrashLoopBackOff": ("HIGH", "the container keeps exiting: read its previous log (below) — usually a missing or wrong setting "
                                 "(DATABASE_URL, secrets), an unreachable dependency, or a wrong command"),
    "ImagePullBackOff": ("HIGH", "the image cannot be pulled: there is no registry here — load the image into the cluster "
                                 "(the provider's load_images) and use imagePullPolicy IfNotPresent/Never with the exact tag"),
    "ErrImagePull": ("HIGH", "the image cannot be pulled: load it into the cluster and check repository:tag in the values"),
    "ErrImageNeverPull": ("HIGH", "imagePullPolicy Never and the image is not on the node: load exactly this repository:tag "
                                  "into the node's containerd (the provider's load_images) or fix the tag in the values"),
    "InvalidImageName": ("HIGH", "the image reference is malformed: check image.repository and image.tag in the values"),
    "OOMKilled": ("HIGH", "the container ran out of its memory limit: raise resources.limits.memory above the measured peak "
                          "(the right-sizing advisor gives it) or reduce the process' memory (workers, pool sizes)"),
    "CreateContainerConfigError": ("HIGH", "a referenced Secret/ConfigMap or key is missing, or runAsNonRoot fails for the image's "
                                           "user: check the names in env/envFrom and the image's USER"),
    "CreateContainerError": ("HIGH", "the runtime could not create the container: see the pod's events for the runtime's message"),
    "RunContainerError": ("HIGH", "the container could not start (command not found, permissions on a read-only root filesystem?)"),
    "ContainerError": ("HIGH", "the container exited with an error: read its log (below)"),
    # A startup probe fails by design until the app is up; it only matters when it ran out (a restart follows).
    "StartupProbeFailed": ("LOW", "expected while the app starts; if the container was restarted for it, raise startupProbe "
                                  "failureThreshold × periodSeconds above the measured start time, or find what slows the start"),
    "LivenessProbeFailed": ("HIGH", "liveness failures restart the container: make the liveness endpoint cheap (no dependency "
                                    "calls) and give slow starts a startupProbe"),
    "ReadinessProbeFailed": ("MEDIUM", "the pod is not taking traffic: its readiness endpoint fails — usually a dependency "
                                       "(the database behind /readyz) that is down or unreachable (NetworkPolicy?)"),
    "FailedScheduling": ("HIGH", "no node fits the pod: lower its requests, or add capacity; for unbound PVCs see the storage class"),
    "PVCPending": ("HIGH", "the claim is not bound: no StorageClass/provisioner matches — set the chart's storageClass or "
                           "install a provisioner (the embedded cluster pre-creates local PVs)"),
    "FailedMount": ("HIGH", "a volume could not be mounted: a missing Secret/ConfigMap, or a PV the node cannot reach"),
    "PodSecurityRejected": ("HIGH", "the namespace's Pod Security level refused the pod: set runAsNonRoot, drop ALL capabilities, "
                                    "allowPrivilegeEscalation false and seccompProfile RuntimeDefault in the chart"),
    "FailedCreate": ("HIGH", "the controller could not create pods: read the event message (quota, admission, service account)"),
    "Evicted": ("MEDIUM", "the node was short of memory or disk: raise requests to the measured use so the scheduler reserves it"),
    "JobFailed": ("HIGH", "a Job (a migration hook?) failed: read its pod's log; helm --wait-for-jobs fails the release on it"),
    "HPAMetricsUnavailable": ("MEDIUM", "the HPA cannot read CPU use: metrics-server is not ready, or the pods have no CPU requests"),
    "Restarted": ("MEDIUM", "the container restarted: read its previous log (below) and the last termination reason"),
    "NotReady": ("MEDIUM", "the container is running but not Ready: see its readiness probe events and log"),
    "Pending": ("MEDIUM", "the pod is not scheduled or not started yet: see its events (FailedScheduling, FailedMount)"),
}

WAITING_REASONS = {"CrashLoopBackOff", "ImagePullBackOff", "ErrImagePull", "ErrImageNeverPull", "InvalidImageName",
                   "CreateContainerConfigError", "CreateContainerError", "RunContainerError"}


@dataclass
class Problem:
    namespace: str
    object: str  # pod/<name>, persistentvolumeclaim/<name>, job.batch/<name> …
    container: str
    reason: str
    evidence: list[str] = field(default_factory=list)
    count: int = 1
    gone: bool = False  # only events tell of it: the pod was replaced since (a rollout, a kill, a scale-in)

    @property
    def severity(self) -> str:
        severity = RULES.get(self.reason, ("MEDIUM", ""))[0]
        # What happened to a pod that no longer exists is history, not the state to fix first.
        return "LOW" if self.gone and severity in ("HIGH", "MEDIUM") else severity

    @property
    def fix(self) -> str:
        return RULES.get(self.reason, ("", "see the events and logs"))[1]

    def line(self) -> str:
        where = f"{self.namespace}/{self.object}" + (f" [{self.container}]" if self.container else "")
        times = (f" ×{self.count}" if self.count > 1 else "") + (" (pod gone)" if self.gone else "")
        evidence = f" — {self.evidence[0]}" if self.evidence else ""
        return f"{self.severity:<6} {where}: {self.reason}{times}{evidence}\n       likely fix: {self.fix}"


@dataclass
class Diagnosis:
    folder: str
    namespaces: list[str]
    problems: list[Problem]

    @property
    def healthy(self) -> bool:
        return not any(p.severity in ("CRITICAL", "HIGH") for p in self.problems)

    def summary(self) -> str:
        if not self.problems:
            return f"no problem found in {self.folder} (namespaces: {', '.join(self.namespaces) or 'none'})"
        return "\n".join(p.line() for p in self.problems)

    def findings(self) -> list[Finding]:
        return [
            Finding("diagnosis", p.reason, p.severity, f"{p.object}" + (f"/{p.container}" if p.container else ""),
                    (p.evidence[0] if p.evidence else p.reason) + (f" (×{p.count})" if p.count > 1 else ""), p.fix,
                    details={"namespace": p.namespace, "evidence": p.evidence, "pod_gone": p.gone})
            for p in self.problems
        ]


def diagnose(folder: Path) -> Diagnosis:
    """Diagnose every namespace folder (one holding pods.txt) under `folder`, or `folder` itself."""
    folder = Path(folder)
    namespace_dirs = [folder] if (folder / "pods.txt").exists() else sorted(p.parent for p in folder.glob("*/pods.txt"))
    problems: dict[tuple[str, str, str, str], Problem] = {}

    def add(namespace: str, obj: str, container: str, reason: str, evidence: str = "") -> None:
        key = (namespace, obj, container, reason)
        if key in problems:
            problems[key].count += 1
            if evidence and evidence not in problems[key].evidence and len(problems[key].evidence) < 3:
                problems[key].evidence.append(evidence)
        else:
            problems[key] = Problem(namespace, obj, container, reason, [evidence] if evidence else [])

    for ns_dir in namespace_dirs:
        namespace = ns_dir.name
        _from_pods_table(ns_dir, namespace, add)
        for describe in sorted((ns_dir / "describe").glob("pod-*.txt")):
            _from_describe(describe, namespace, add)
        _from_events(ns_dir, namespace, add)
        current = _current_pods(ns_dir)
        for problem in problems.values():
            if problem.namespace == namespace and problem.object.startswith("pod/"):
                problem.gone = current is not None and problem.object not in current
                _attach_log(ns_dir, problem)
    # A pod's container-level reason explains its pod-level symptoms: drop the vaguer duplicates.
    specific = {(p.namespace, p.object) for p in problems.values() if p.reason not in ("Pending", "NotReady", "Restarted")}
    kept = [p for p in problems.values()
            if p.reason not in ("Pending", "NotReady") or (p.namespace, p.object) not in specific]
    kept.sort(key=lambda p: (severity_rank(p.severity), p.namespace, p.object, p.reason))
    return Diagnosis(str(folder), [d.name for d in namespace_dirs], kept)


def _from_pods_table(ns_dir: Path, namespace: str, add) -> None:
    text = _read(ns_dir / "pods.txt")
    for table in parse_tables(text):
        for row in table:
            name, status = row.get("NAME", ""), row.get("STATUS", "")
            if name.startswith("pod/"):
                bare = status.split(":", 1)[-1]  # Init:CrashLoopBackOff → CrashLoopBackOff
                if bare in RULES:
                    add(namespace, name, "", bare, f"status {status}")
                elif status in ("Error", "ContainerStatusUnknown"):
                    add(namespace, name, "", "ContainerError", f"status {status}")
                elif status in ("Pending", "ContainerCreating", "PodInitializing") or status.startswith("Init:"):
                    add(namespace, name, "", "Pending", f"status {status}")
                elif status == "Running" and _not_ready(row.get("READY", "")):
                    add(namespace, name, "", "NotReady", f"ready {row.get('READY')}")
                elif status == "Evicted":
                    add(namespace, name, "", "Evicted", "status Evicted")
            elif name.startswith("persistentvolumeclaim/") and status == "Pending":
                add(namespace, name, "", "PVCPending", "claim Pending")
            elif name.startswith("job") and status == "Failed":
                add(namespace, name, "", "JobFailed", "job Failed")
            elif name.startswith("horizontalpodautoscaler") and "<unknown>" in row.get("TARGETS", ""):
                add(namespace, name, "", "HPAMetricsUnavailable", f"targets {row.get('TARGETS')}")


def _current_pods(ns_dir: Path) -> set[str] | None:
    """Pods listed in pods.txt (None when there is no listing to compare with)."""
    text = _read(ns_dir / "pods.txt")
    if not text.strip():
        return None
    return {row["NAME"] for table in parse_tables(text) for row in table if row.get("NAME", "").startswith("pod/")}


def _not_ready(ready: str) -> bool:
    match = re.fullmatch(r"(\d+)/(\d+)", ready)
    return bool(match) and match.group(1) != match.group(2)


def _from_describe(path: Path, namespace: str, add) -> None:
    """Container states of one `kubectl describe pod`: waiting reasons, last terminations, restarts."""
    pod = "pod/" + path.stem.removeprefix("pod-")
    container, section, state = "", "", ""
    for line in _read(path).splitlines():
        if re.match(r"^(Init )?Containers:\s*$", line):
            section = "containers"
            continue
        if section and re.match(r"^\S", line):
            section = ""  # left the Containers: block
        if not section:
            continue
        named = re.match(r"^  ([a-z0-9]([-a-z0-9]*[a-z0-9])?):\s*$", line)
        if named:
            container, state = named.group(1), ""
            continue
        stripped = line.strip()
        if stripped.startswith("State:"):
            state = "now:" + stripped.split(":", 1)[1].strip()
        elif stripped.startswith("Last State:"):
            state = "last:" + stripped.split(":", 1)[1].strip()
        elif stripped.startswith("Reason:") and state:
            reason = stripped.split(":", 1)[1].strip()
            if state.startswith("now:Waiting") and reason in RULES:
                add(namespace, pod, container, reason, f"waiting: {reason}")
            elif state.startswith("last:Terminated") and reason == "OOMKilled":
                add(namespace, pod, container, "OOMKilled", "last terminated: OOMKilled (exit 137)")
            elif state.startswith("last:Terminated") and reason == "Error":
                add(namespace, pod, container, "Restarted", "last terminated: Error")
            elif state.startswith("now:Terminated") and reason == "OOMKilled":
                add(namespace, pod, container, "OOMKilled", "terminated: OOMKilled (exit 137)")
            elif state.startswith("now:Terminated") and reason == "Error":
                add(namespace, pod, container, "ContainerError", "terminated: Error")
        elif stripped.startswith("Exit Code:") and state.startswith(("last:Terminated", "now:Terminated")):
            code = stripped.split(":", 1)[1].strip()
            if code == "137":
                add(namespace, pod, container, "OOMKilled", "exit code 137 (killed: out of memory, or SIGKILL)")
        elif stripped.startswith("Restart Count:"):
            count = int(stripped.split(":", 1)[1].strip() or 0)
            if count:
                add(namespace, pod, container, "Restarted", f"{count} restarts")


EVENT_REASONS = [
    # (event reason, message pattern, our reason)
    ("Unhealthy", r"^Startup probe failed", "StartupProbeFailed"),
    ("Unhealthy", r"^Liveness probe failed", "LivenessProbeFailed"),
    ("Unhealthy", r"^Readiness probe failed", "ReadinessProbeFailed"),
    ("BackOff", r"restarting failed container", "CrashLoopBackOff"),
    ("BackOff", r"pulling image", "ImagePullBackOff"),
    ("Failed", r"ErrImageNeverPull|image .* is not present with pull policy of Never", "ErrImageNeverPull"),
    ("Failed", r"ErrImagePull|[Ff]ailed to pull image", "ErrImagePull"),
    ("Failed", r"InvalidImageName", "InvalidImageName"),
    ("Failed", r"CreateContainerConfigError|secret .* not found|configmap .* not found|couldn't find key", "CreateContainerConfigError"),
    ("FailedScheduling", r"", "FailedScheduling"),
    ("FailedMount", r"", "FailedMount"),
    ("FailedAttachVolume", r"", "FailedMount"),
    ("ProvisioningFailed", r"", "PVCPending"),
    ("FailedCreate", r"violates PodSecurity", "PodSecurityRejected"),
    ("FailedCreate", r"", "FailedCreate"),
    ("BackoffLimitExceeded", r"", "JobFailed"),
    ("Evicted", r"", "Evicted"),
    ("OOMKilling", r"", "OOMKilled"),
    ("FailedGetResourceMetric", r"", "HPAMetricsUnavailable"),
    ("FailedComputeMetricsReplicas", r"", "HPAMetricsUnavailable"),
]


def _from_events(ns_dir: Path, namespace: str, add) -> None:
    for table in parse_tables(_read(ns_dir / "events.txt")):
        for row in table:
            if row.get("TYPE") != "Warning":
                continue
            event_reason, obj, message = row.get("REASON", ""), row.get("OBJECT", ""), row.get("MESSAGE", "")
            for wanted, pattern, reason in EVENT_REASONS:
                if event_reason == wanted and re.search(pattern, message):
                    add(namespace, obj, "", reason, message[:300])
                    break


def _attach_log(ns_dir: Path, problem: Problem) -> None:
    """The last telling line of the container's (previous) log: the error that made it exit."""
    pod = problem.object.removeprefix("pod/")
    pattern = f"{pod}.{problem.container or '*'}"
    logs = sorted((ns_dir / "logs").glob(pattern + ".previous.log")) or sorted((ns_dir / "logs").glob(pattern + ".log"))
    for log in logs:
        line = last_error_line(_read(log))
        if line:
            evidence = f"log {log.name}: {line}"
            if evidence not in problem.evidence:
                problem.evidence.append(evidence)
            return


ERROR_WORDS = re.compile(r"error|exception|fatal|panic|refused|denied|not found|no such|killed|traceback|failed", re.I)


def last_error_line(log: str) -> str:
    lines = [line.strip() for line in log.splitlines() if line.strip()]
    for line in reversed(lines[-200:]):
        if ERROR_WORDS.search(line):
            return line[:300]
    return lines[-1][:300] if lines else ""


def _read(path: Path) -> str:
    try:
        return path.read_text(errors="replace")
    except OSError:
        return ""


def live_pod_troubles(pods: list) -> dict[str, str]:
    """What the API says is wrong with each pod (kubernetes-client V1Pods): pod name → the first trouble seen.

    An independent reading of the same namespace, to hold a diagnosis against: finished pods (helm test
    hooks, migration Jobs) and pods being deleted are left out.
    """
    troubles: dict[str, str] = {}
    for pod in pods:
        if pod.status.phase == "Succeeded" or pod.metadata.deletion_timestamp is not None:
            continue
        statuses = pod.status.container_statuses or []
        waiting = [s.state.waiting.reason for s in statuses if s.state and s.state.waiting and s.state.waiting.reason
                   and s.state.waiting.reason not in ("ContainerCreating", "PodInitializing")]
        ready = any(c.type == "Ready" and c.status == "True" for c in (pod.status.conditions or []))
        if waiting:
            troubles[pod.metadata.name] = waiting[0]
        elif pod.status.phase == "Pending":
            troubles[pod.metadata.name] = "Pending"
        elif any(s.restart_count for s in statuses):
            troubles[pod.metadata.name] = "Restarted"
        elif not ready:
            troubles[pod.metadata.name] = "NotReady"
    return troubles


def unexplained(diagnosis: Diagnosis, troubles: dict[str, str]) -> dict[str, str]:
    """The troubled pods (from live_pod_troubles) that the diagnosis does not name."""
    named = {p.object.removeprefix("pod/") for p in diagnosis.problems if p.object.startswith("pod/")}
    return {name: trouble for name, trouble in troubles.items() if name not in named}
