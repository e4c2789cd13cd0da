"""Chaos: disturb the release on purpose (kill a pod, restart a rollout, scale a workload away) and
watch it heal. Every wait is a watch (deployproof.waits.watch_until) and returns what it saw.

The callers measure: they take the time before the disturbance and after the watch returns.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from .progress import say
from .waits import watch_until

RESTARTED_AT = "kubectl.kubernetes.io/restartedAt"  # the annotation `kubectl rollout restart` sets


@dataclass(frozen=True)
class Component:
    """One part of the release as Kubernetes sees it: its workload and the label selecting its pods."""

    name: str  # backend | frontend | database
    kind: str  # Deployment | StatefulSet
    workload: str  # object name, "<release>-<name>"
    selector: str


# app.kubernetes.io/component of each workload's pods (the charts' selectorLabels): without it a selector
# also matches the release's helm test and migration pods, which share the name and instance labels.
WORKLOAD_COMPONENT = {"backend": "api", "frontend": "web", "database": "database"}


def component(release_name: str, name: str) -> Component:
    kind = "StatefulSet" if name == "database" else "Deployment"
    selector = (f"app.kubernetes.io/instance={release_name},app.kubernetes.io/name={name},"
                f"app.kubernetes.io/component={WORKLOAD_COMPONENT[name]}")
    return Component(name, kind, f"{release_name}-{name}", selector)


def is_ready(pod: Any) -> bool:
    return pod.metadata.deletion_timestamp is None and any(
        c.type == "Ready" and c.status == "True" for c in (pod.status.conditions or []))


def serving_pods(k8s: Any, namespace: str, part: Component) -> list[Any]:
    """The component's Ready pods (helm test and migration pods carry other names and never count)."""
    pods = k8s.core.list_namespaced_pod(namespace, label_selector=part.selector).items
    return [p for p in pods if is_ready(p) and (p.metadata.owner_references or [None])[0] is not None
            and p.metadata.owner_references[0].kind in ("ReplicaSet", "StatefulSet")]


def restart_counts(k8s: Any, namespace: str, part: Component) -> dict[str, int]:
    """pod name → restarts of its containers, for every pod of the component."""
    pods = k8s.core.list_namespaced_pod(namespace, label_selector=part.selector).items
    return {p.metadata.name: sum(s.restart_count for s in (p.status.container_statuses or [])) for p in pods}


def kill_pod(k8s: Any, namespace: str, pod: Any) -> str:
    """Delete one pod (graceful, as a node drain or an eviction would); returns its UID."""
    say(f"chaos: deleting pod {pod.metadata.name}")
    k8s.core.delete_namespaced_pod(pod.metadata.name, namespace)
    return pod.metadata.uid


def desired_replicas(k8s: Any, namespace: str, part: Component) -> int:
    """The replica count the component's workload wants now (its HPA may have changed it)."""
    read = k8s.apps.read_namespaced_deployment if part.kind == "Deployment" else k8s.apps.read_namespaced_stateful_set
    return read(part.workload, namespace).spec.replicas or 0


def wait_ready_replacements(k8s: Any, namespace: str, part: Component, count: int, gone_uid: str, timeout: float) -> list[str]:
    """Watch until `count` Ready pods of the component exist and none of them is the pod `gone_uid`
    (UIDs, not names: a StatefulSet's replacement has the old name) — or as many as the workload wants by then,
    if that is fewer: an HPA that an earlier load left scaled out may scale in during the wait (measured on kind:
    4 pods before the kill, the HPA at 2 a minute later, and a wait for 4 that could never end)."""

    def replaced(items: list[Any]) -> tuple[bool, list[str]]:
        ready = [p.metadata.name for p in items if p.metadata.uid != gone_uid and is_ready(p)]
        return len(ready) >= max(1, min(count, desired_replicas(k8s, namespace, part))), ready

    return watch_until(k8s.core.list_namespaced_pod, replaced, description=f"{count} Ready {part.name} pod(s) replacing the killed one",
                       timeout=timeout, namespace=namespace, label_selector=part.selector)


def restart_rollout(k8s: Any, namespace: str, deployment: str) -> int:
    """`kubectl rollout restart`: change a pod-template annotation, so the Deployment rolls every pod
    with its own strategy; returns the generation to wait for."""
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    say(f"chaos: rolling restart of deployment {deployment} ({RESTARTED_AT}={stamp})")
    patched = k8s.apps.patch_namespaced_deployment(
        deployment, namespace, {"spec": {"template": {"metadata": {"annotations": {RESTARTED_AT: stamp}}}}})
    return patched.metadata.generation


def wait_rollout_complete(k8s: Any, namespace: str, deployment: str, generation: int, timeout: float) -> dict[str, int]:
    """Watch until the Deployment has rolled out `generation`: every replica updated, available, none old left."""

    def complete(items: list[Any]) -> tuple[bool, Any]:
        if not items:
            return False, "deployment not found"
        status, wanted = items[0].status, items[0].spec.replicas or 0
        seen = {"observed": status.observed_generation or 0, "wanted": wanted, "updated": status.updated_replicas or 0,
                "available": status.available_replicas or 0, "total": status.replicas or 0}
        done = (seen["observed"] >= generation and seen["updated"] == wanted and seen["available"] == wanted
                and seen["total"] == wanted)
        return done, seen

    return watch_until(k8s.apps.list_namespaced_deployment, complete, description=f"rollout of {deployment} generation {generation}",
                       timeout=timeout, namespace=namespace, field_selector=f"metadata.name={deployment}")


def scale_statefulset(k8s: Any, namespace: str, name: str, replicas: int) -> None:
    say(f"chaos: scaling statefulset {name} to {replicas}")
    k8s.apps.patch_namespaced_stateful_set_scale(name, namespace, {"spec": {"replicas": replicas}})


def wait_statefulset_ready(k8s: Any, namespace: str, name: str, replicas: int, timeout: float) -> dict[str, int]:
    """Watch until the StatefulSet has exactly `replicas` pods, all Ready (0 = every pod gone)."""

    def settled(items: list[Any]) -> tuple[bool, Any]:
        if not items:
            return False, "statefulset not found"
        status = items[0].status
        seen = {"replicas": status.replicas or 0, "ready": status.ready_replicas or 0, "spec": items[0].spec.replicas}
        return seen["spec"] == replicas and seen["replicas"] == replicas and seen["ready"] == replicas, seen

    return watch_until(k8s.apps.list_namespaced_stateful_set, settled, description=f"statefulset {name} at {replicas} Ready replica(s)",
                       timeout=timeout, namespace=namespace, field_selector=f"metadata.name={name}")


def wait_component_unready(k8s: Any, namespace: str, part: Component, timeout: float) -> list[str]:
    """Watch until no pod of the component is Ready (readiness took them out of the Service); returns their names."""

    def unready(items: list[Any]) -> tuple[bool, list[str]]:
        pods = [p for p in items if p.metadata.deletion_timestamp is None]
        return bool(pods) and not any(is_ready(p) for p in pods), [p.metadata.name for p in pods if is_ready(p)]

    return watch_until(k8s.core.list_namespaced_pod, unready, description=f"every {part.name} pod out of the Service (not Ready)",
                       timeout=timeout, namespace=namespace, label_selector=part.selector)


def wait_no_terminating(k8s: Any, namespace: str, part: Component, timeout: float) -> list[str]:
    """Watch until no pod of the component is terminating (old pods finished their preStop and shut down)."""

    def settled(items: list[Any]) -> tuple[bool, list[str]]:
        leaving = [p.metadata.name for p in items if p.metadata.deletion_timestamp is not None]
        return not leaving, leaving

    return watch_until(k8s.core.list_namespaced_pod, settled, description=f"every old {part.name} pod gone",
                       timeout=timeout, namespace=namespace, label_selector=part.selector)
