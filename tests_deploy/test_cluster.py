"""The cluster under the app is real and conformant: node, API, DNS, NodePorts, metrics, HPA, self-healing, Pod Security."""

from __future__ import annotations

import time

import httpx
import pytest
from kubernetes import client
from kubernetes.client.rest import ApiException

from deployproof import versions
from deployproof.waits import poll_until, watch_until

pytestmark = [pytest.mark.deploy, pytest.mark.criterion("CLUSTER")]

ECHO_NODE_PORT = versions.ECHO_NODE_PORT
RESTRICTED_CONTAINER = client.V1SecurityContext(
    allow_privilege_escalation=False,
    capabilities=client.V1Capabilities(drop=["ALL"]),
    read_only_root_filesystem=True,
)
RESTRICTED_POD = client.V1PodSecurityContext(run_as_non_root=True, run_as_user=65532, seccomp_profile=client.V1SeccompProfile(type="RuntimeDefault"))


def _echo_container(image: str, args: list[str] | None = None) -> client.V1Container:
    return client.V1Container(
        name="echo", image=image, image_pull_policy="IfNotPresent", args=args,
        ports=[client.V1ContainerPort(container_port=8080)],
        resources=client.V1ResourceRequirements(requests={"cpu": "50m", "memory": "16Mi"}, limits={"cpu": "500m", "memory": "64Mi"}),
        security_context=RESTRICTED_CONTAINER,
    )


def _ready_replicas(name: str, want: int):
    def predicate(deployments):
        for d in deployments:
            if d.metadata.name == name:
                ready = d.status.ready_replicas or 0
                return ready >= want and (d.status.updated_replicas or 0) >= want, f"{name}: {ready}/{want} ready"
        return False, f"{name}: not found"

    return predicate


@pytest.fixture(scope="module")
def echo(k8s, scratch_namespace, echo_image):
    """A 2-replica Deployment of the locally built echo image behind a NodePort Service."""
    labels = {"app": "echo"}
    deployment = client.V1Deployment(
        metadata=client.V1ObjectMeta(name="echo", labels=labels),
        spec=client.V1DeploymentSpec(
            replicas=2,
            selector=client.V1LabelSelector(match_labels=labels),
            template=client.V1PodTemplateSpec(
                metadata=client.V1ObjectMeta(labels=labels),
                spec=client.V1PodSpec(security_context=RESTRICTED_POD, containers=[_echo_container(echo_image)],
                                      automount_service_account_token=False),
            ),
        ),
    )
    service = client.V1Service(
        metadata=client.V1ObjectMeta(name="echo"),
        spec=client.V1ServiceSpec(type="NodePort", selector=labels,
                                  ports=[client.V1ServicePort(port=8080, target_port=8080, node_port=ECHO_NODE_PORT)]),
    )
    begun = time.monotonic()
    k8s.apps.create_namespaced_deployment(scratch_namespace, deployment)
    k8s.core.create_namespaced_service(scratch_namespace, service)
    watch_until(k8s.apps.list_namespaced_deployment, _ready_replicas("echo", 2), description="echo Deployment 2/2 Ready",
                timeout=180, namespace=scratch_namespace)
    return {"namespace": scratch_namespace, "ready_s": round(time.monotonic() - begun, 1)}


def test_node_is_ready(k8s):
    nodes = k8s.core.list_node().items
    assert nodes, "the cluster has no node"
    for node in nodes:
        ready = {c.type: c.status for c in node.status.conditions}
        assert ready.get("Ready") == "True", f"node {node.metadata.name} conditions: {ready}"


def test_apiserver_readyz(k8s):
    method, url, headers, body, _ = k8s.api_client.param_serialize("GET", "/readyz", auth_settings=["BearerToken"])
    response = k8s.api_client.call_api(method, url, headers, body)
    response.read()
    assert response.status == 200 and response.data.decode().strip() == "ok", response.data


def test_version_is_the_pinned_release(k8s, cluster, settings):
    """/version and every node's kubelet run the release chosen by --kubernetes-version (default: the newest pinned)."""
    version = k8s.version.get_code().git_version
    assert settings.kubernetes_version in versions.SUPPORTED_KUBERNETES
    if cluster.name in ("embedded", "minikube", "kind"):
        assert version == settings.kubernetes_version, f"/version says {version}, selected {settings.kubernetes_version}"
        kubelets = {n.metadata.name: n.status.node_info.kubelet_version for n in k8s.core.list_node().items}
        assert set(kubelets.values()) == {settings.kubernetes_version}, kubelets
    else:
        assert version.startswith("v1."), version


def test_deployment_of_a_locally_built_image_becomes_ready(echo, figures):
    figures["echo_ready_s"] = echo["ready_s"]
    assert echo["ready_s"] < 180


def test_pod_resolves_a_service_by_dns_name(k8s, echo, echo_image):
    namespace = echo["namespace"]
    url = f"http://echo.{namespace}.svc.cluster.local:8080/"
    job = client.V1Job(
        metadata=client.V1ObjectMeta(name="dns-check"),
        spec=client.V1JobSpec(
            backoff_limit=0,
            template=client.V1PodTemplateSpec(spec=client.V1PodSpec(
                restart_policy="Never", security_context=RESTRICTED_POD, automount_service_account_token=False,
                containers=[_echo_container(echo_image, ["-fetch", url])],
            )),
        ),
    )
    k8s.batch.create_namespaced_job(namespace, job)

    def finished(jobs):
        for j in jobs:
            if j.metadata.name == "dns-check":
                return bool(j.status.succeeded or j.status.failed), f"succeeded={j.status.succeeded} failed={j.status.failed}"
        return False, "job not found"

    watch_until(k8s.batch.list_namespaced_job, finished, description="DNS check Job to finish", timeout=120, namespace=namespace)
    pod = k8s.core.list_namespaced_pod(namespace, label_selector="job-name=dns-check").items[0]
    logs = k8s.core.read_namespaced_pod_log(pod.metadata.name, namespace)
    assert "status 200: hello from echo-" in logs, f"the pod could not reach {url}: {logs}"


def test_node_port_answers_on_the_host(cluster, echo, figures):
    url = cluster.node_port_url(ECHO_NODE_PORT)

    def answers():
        response = httpx.get(url, timeout=5)
        return response.status_code == 200 and response.text.startswith("hello from echo-"), f"{response.status_code} {response.text[:80]}"

    begun = time.monotonic()
    poll_until(answers, description=f"NodePort {url}", timeout=60)
    figures["nodeport_first_answer_s"] = round(time.monotonic() - begun, 2)


def test_metrics_api_reports_nodes_and_pods(k8s, echo, figures):
    def node_metrics():
        items = k8s.custom.list_cluster_custom_object("metrics.k8s.io", "v1beta1", "nodes")["items"]
        return bool(items) and bool(items[0]["usage"]["cpu"]), items

    # A fresh metrics-server reports a node after its first scrapes (resolution 15 s).
    begun = time.monotonic()
    poll_until(node_metrics, description="node metrics from the metrics API", timeout=120)
    figures["node_metrics_after_s"] = round(time.monotonic() - begun, 1)

    def pod_metrics():
        items = k8s.custom.list_namespaced_custom_object("metrics.k8s.io", "v1beta1", echo["namespace"], "pods")["items"]
        return len(items) >= 2, [i["metadata"]["name"] for i in items]

    begun = time.monotonic()
    names = poll_until(pod_metrics, description="pod metrics of the echo pods", timeout=120)
    figures["pod_metrics_after_s"] = round(time.monotonic() - begun, 1)
    assert all(n.startswith("echo-") for n in names)


def test_hpa_shows_current_cpu_utilisation(k8s, echo, figures):
    namespace = echo["namespace"]
    hpa = client.V2HorizontalPodAutoscaler(
        metadata=client.V1ObjectMeta(name="echo"),
        spec=client.V2HorizontalPodAutoscalerSpec(
            scale_target_ref=client.V2CrossVersionObjectReference(api_version="apps/v1", kind="Deployment", name="echo"),
            min_replicas=2, max_replicas=3,
            metrics=[client.V2MetricSpec(type="Resource", resource=client.V2ResourceMetricSource(
                name="cpu", target=client.V2MetricTarget(type="Utilization", average_utilization=80)))],
        ),
    )
    k8s.autoscaling.create_namespaced_horizontal_pod_autoscaler(namespace, hpa)

    def has_current(hpas):
        for h in hpas:
            for metric in (h.status.current_metrics or []):
                if metric.resource and metric.resource.current.average_utilization is not None:
                    return True, metric.resource.current.average_utilization
        return False, [h.status.conditions for h in hpas]

    begun = time.monotonic()
    utilisation = watch_until(k8s.autoscaling.list_namespaced_horizontal_pod_autoscaler, has_current,
                              description="HPA current CPU utilisation (not <unknown>)", timeout=150, namespace=namespace)
    figures["hpa_metric_after_s"] = round(time.monotonic() - begun, 1)
    figures["hpa_cpu_utilisation_pct"] = utilisation


def test_deleted_pod_is_replaced(k8s, echo, figures):
    namespace = echo["namespace"]
    victim = k8s.core.list_namespaced_pod(namespace, label_selector="app=echo").items[0].metadata.name
    begun = time.monotonic()
    k8s.core.delete_namespaced_pod(victim, namespace, grace_period_seconds=0)

    def replaced(pods):
        ready = [p.metadata.name for p in pods if p.metadata.name != victim and p.metadata.deletion_timestamp is None
                 and any(c.type == "Ready" and c.status == "True" for c in (p.status.conditions or []))]
        return len(ready) >= 2, ready

    watch_until(k8s.core.list_namespaced_pod, replaced, description=f"a Ready replacement for {victim}", timeout=120,
                namespace=namespace, label_selector="app=echo")
    figures["pod_replaced_ready_s"] = round(time.monotonic() - begun, 1)


def test_restricted_namespace_rejects_a_privileged_pod(k8s, scratch_namespace, echo_image):
    pod = client.V1Pod(
        metadata=client.V1ObjectMeta(name="privileged"),
        spec=client.V1PodSpec(containers=[client.V1Container(
            name="p", image=echo_image, security_context=client.V1SecurityContext(privileged=True))]),
    )
    with pytest.raises(ApiException) as rejected:
        k8s.core.create_namespaced_pod(scratch_namespace, pod)
    assert rejected.value.status == 403 and "violates PodSecurity" in rejected.value.body
