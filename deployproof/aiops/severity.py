"""One severity scale for the analyzers: our grading of their check ids.

checkov's open-source run reports no severities (those come from its hosted platform), and
kube-score grades only CRITICAL/WARNING, mostly hygiene. So the grade is ours, by what a
failure would cost here: HIGH where a security boundary is crossed (root, privileges, host
namespaces, capabilities, TLS verification turned off, RBAC escalation); LOW where the check
does not fit a registry-less cluster or is cosmetic; MEDIUM for everything else.
"""

from __future__ import annotations

HIGH = {
    # Dockerfiles: who the container runs as, what verifies what it downloads.
    "CKV_DOCKER_1", "CKV_DOCKER_3", "CKV_DOCKER_8",
    *(f"CKV2_DOCKER_{n}" for n in range(1, 18)),
    # Kubernetes: privileges, host namespaces, capabilities, root, RBAC escalation.
    "CKV_K8S_1", "CKV_K8S_2", "CKV_K8S_3", "CKV_K8S_4", "CKV_K8S_5", "CKV_K8S_6", "CKV_K8S_7",
    "CKV_K8S_16", "CKV_K8S_17", "CKV_K8S_18", "CKV_K8S_19", "CKV_K8S_20", "CKV_K8S_23", "CKV_K8S_24",
    "CKV_K8S_27", "CKV_K8S_28", "CKV_K8S_37", "CKV_K8S_39", "CKV_K8S_49",
    "CKV_K8S_155", "CKV_K8S_156", "CKV_K8S_157", "CKV_K8S_158",
    *(f"CKV2_K8S_{n}" for n in range(1, 6)),
    "container-security-context-privileged",
}

LOW = {
    "CKV_DOCKER_2",  # HEALTHCHECK: Kubernetes ignores it; the charts' probes do that job
    "CKV_DOCKER_5", "CKV_DOCKER_6", "CKV_DOCKER_9", "CKV_DOCKER_10", "CKV_DOCKER_11",
    "CKV_K8S_15", "container-image-pull-policy",  # pull policy Always needs a registry; ours are loaded into the node
    "CKV_K8S_21",  # namespace comes from `helm -n`
    "CKV_K8S_43",  # digests: our images are content-tagged and loaded, not pulled
    "CKV_K8S_40",  # high UIDs: the app runs as 10001; postgres keeps its conventional 999 (non-root)
    "container-ephemeral-storage-request-and-limit",
    "service-type",  # the plan asks for a NodePort frontend
    "horizontalpodautoscaler-replicas", "deployment-has-host-podantiaffinity", "statefulset-has-host-podantiaffinity",
    "pod-topology-spread-constraints",
}

PROBE_CHECKS = {"CKV_K8S_8", "CKV_K8S_9", "pod-probes"}
RUN_TO_COMPLETION = {"Job", "Pod", "CronJob"}  # our bare Pods are helm test hooks; Jobs are migrations


def grade(check_id: str, kind: str = "", tool_grade: str = "") -> str:
    """Severity of one failed check; `kind` is the object's kind (Kubernetes checks), `tool_grade` the tool's own."""
    if check_id in PROBE_CHECKS and kind in RUN_TO_COMPLETION:
        return "INFO"  # probes watch long-running servers; a run-to-completion pod has none to watch
    if check_id in HIGH:
        return "HIGH"
    if check_id in LOW:
        return "LOW"
    if tool_grade == "WARNING":
        return "LOW"
    return "MEDIUM"
