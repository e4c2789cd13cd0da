"""The HorizontalPodAutoscaler as the tests see it: its spec in figures, and watches for the moments
that matter (settled at min, scaled out, new pods Ready, scaled back in).

The HPA controller re-evaluates every 15 s (kube-controller-manager's default sync period) on
metrics-server data with a 15 s resolution; SCALE_IN_SLACK_S is the lag a scale-in may add on top
of the behaviour's stabilization window.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from .progress import say
from .waits import watch_until

HPA_SYNC_S = 15
METRICS_RESOLUTION_S = 15
# A scale-in decision comes at most one sync after the window has passed, on metrics up to two
# resolutions old (the last busy sample must age out first), plus one sync of margin.
SCALE_IN_SLACK_S = 2 * HPA_SYNC_S + 2 * METRICS_RESOLUTION_S


@dataclass(frozen=True)
class ScaleDownPolicy:
    """One of behavior.scaleDown.policies: at most `value` pods (kind "Pods") or percent of the current count
    (kind "Percent") removed per `period_s`."""

    kind: str
    value: int
    period_s: int

    def allowed(self, current: int) -> int:
        return self.value if self.kind == "Pods" else math.ceil(current * self.value / 100)


# Kubernetes' scale-down default: 100 % of the pods per 15 s (no rate limit beyond the stabilization window).
DEFAULT_SCALE_DOWN = (ScaleDownPolicy("Percent", 100, 15),)


@dataclass(frozen=True)
class HpaSpec:
    name: str
    target: str  # the scaled Deployment
    min_replicas: int
    max_replicas: int
    target_cpu_percent: int | None
    scale_down_window_s: int  # behavior.scaleDown.stabilizationWindowSeconds (Kubernetes' default 300)
    scale_down_policies: tuple[ScaleDownPolicy, ...] = DEFAULT_SCALE_DOWN
    scale_down_select: str = "Max"  # behavior.scaleDown.selectPolicy: Max, Min or Disabled

    def scale_down_steps_s(self, from_replicas: int) -> int:
        """Seconds the scale-down policies need after the first removal to go from `from_replicas` to minReplicas:
        each later removal waits one period of the policy that allows it (the chart's 1 pod per minute from 4 pods
        to 1 is 120 s)."""
        current, seconds, first = from_replicas, 0, True
        while current > self.min_replicas:
            choices = [(policy.allowed(current), policy.period_s) for policy in self.scale_down_policies]
            # Max: the policy allowing most (on a tie, the shorter period); Min: the one allowing least (the longer).
            removed, period = (min if self.scale_down_select == "Min" else max)(choices, key=lambda c: (c[0], -c[1]))
            if not first:
                seconds += period
            current, first = max(self.min_replicas, current - max(1, removed)), False
        return seconds

    def scale_in_bound_s(self, from_replicas: int) -> int:
        """The longest a scale-in from `from_replicas` may take: the stabilization window, the policies' steps, and
        the lag of the HPA's sync and the metrics' resolution."""
        return self.scale_down_window_s + self.scale_down_steps_s(from_replicas) + SCALE_IN_SLACK_S


def read_hpa(k8s: Any, namespace: str, name: str) -> HpaSpec:
    hpa = k8s.autoscaling.read_namespaced_horizontal_pod_autoscaler(name, namespace)
    spec = hpa.spec
    cpu = next((m.resource.target.average_utilization for m in (spec.metrics or [])
                if m.type == "Resource" and m.resource.name == "cpu"), None)
    down = spec.behavior.scale_down if spec.behavior and spec.behavior.scale_down else None
    window = down.stabilization_window_seconds if down and down.stabilization_window_seconds is not None else 300
    policies = tuple(ScaleDownPolicy(p.type, p.value, p.period_seconds) for p in (down.policies or [])) if down else ()
    select = (down.select_policy if down and down.select_policy else "Max")
    return HpaSpec(name, spec.scale_target_ref.name, spec.min_replicas or 1, spec.max_replicas, cpu, window,
                   policies or DEFAULT_SCALE_DOWN, select)


def hpa_of(k8s: Any, namespace: str, deployment: str) -> HpaSpec | None:
    """The HPA scaling `deployment`, or None when it is not autoscaled."""
    for hpa in k8s.autoscaling.list_namespaced_horizontal_pod_autoscaler(namespace).items:
        ref = hpa.spec.scale_target_ref
        if ref.kind == "Deployment" and ref.name == deployment:
            return read_hpa(k8s, namespace, hpa.metadata.name)
    return None


def cpu_utilization(hpa: Any) -> int | None:
    """The HPA's current average CPU utilization in percent of requests (None before metrics arrive)."""
    for metric in hpa.status.current_metrics or []:
        if metric.type == "Resource" and metric.resource and metric.resource.name == "cpu":
            return metric.resource.current.average_utilization
    return None


def _hpa_watch(k8s: Any, namespace: str, spec: HpaSpec, predicate, description: str, timeout: float) -> Any:
    return watch_until(k8s.autoscaling.list_namespaced_horizontal_pod_autoscaler, predicate, description=description,
                       timeout=timeout, namespace=namespace, field_selector=f"metadata.name={spec.name}")


def _deployment_watch(k8s: Any, namespace: str, spec: HpaSpec, predicate, description: str, timeout: float) -> Any:
    return watch_until(k8s.apps.list_namespaced_deployment, predicate, description=description, timeout=timeout,
                       namespace=namespace, field_selector=f"metadata.name={spec.target}")


def settle_at_min(k8s: Any, namespace: str, spec: HpaSpec, timeout: float) -> dict[str, Any]:
    """Bring the target to minReplicas and wait until the HPA agrees: desired = min, CPU below target,
    every pod Ready. Scales the Deployment down directly (a previous test may have left it scaled out)
    rather than waiting out the stabilization window; the HPA would scale it up again if busy."""
    deployment = k8s.apps.read_namespaced_deployment(spec.target, namespace)
    if (deployment.spec.replicas or 0) > spec.min_replicas:
        say(f"scaling {spec.target} from {deployment.spec.replicas} to its HPA's minReplicas {spec.min_replicas}")
        k8s.apps.patch_namespaced_deployment_scale(spec.target, namespace, {"spec": {"replicas": spec.min_replicas}})

    def quiet(items: list[Any]) -> tuple[bool, Any]:
        if not items:
            return False, "hpa not found"
        hpa = items[0]
        cpu = cpu_utilization(hpa)
        seen = {"desired": hpa.status.desired_replicas, "current": hpa.status.current_replicas, "cpu_percent": cpu}
        calm = cpu is not None and spec.target_cpu_percent is not None and cpu < spec.target_cpu_percent
        return hpa.status.desired_replicas == spec.min_replicas and calm, seen

    seen = _hpa_watch(k8s, namespace, spec, quiet, f"HPA {spec.name} at minReplicas {spec.min_replicas} with CPU below target", timeout)
    _deployment_watch(k8s, namespace, spec, lambda items: _ready_exactly(items, spec.min_replicas),
                      f"{spec.target} at {spec.min_replicas} Ready replicas", timeout)
    return seen


def _ready_exactly(items: list[Any], replicas: int) -> tuple[bool, Any]:
    if not items:
        return False, "deployment not found"
    status = items[0].status
    seen = {"spec": items[0].spec.replicas, "ready": status.ready_replicas or 0, "total": status.replicas or 0}
    return seen["spec"] == replicas and seen["ready"] == replicas and seen["total"] == replicas, seen


@contextmanager
def held_at(k8s: Any, namespace: str, specs: list[HpaSpec], replicas: dict[str, int]) -> Iterator[None]:
    """Hold each HPA's target at `replicas[target]` (its minReplicas = maxReplicas = that count) for the block, and
    give every HPA its own bounds back afterwards, whatever happened in it. For a measurement at a fixed capacity:
    a knee read while the HPA adds pods mixes the app's capacity with the cost of starting pods on the node."""
    held: list[HpaSpec] = []
    try:
        for spec in specs:
            count = replicas[spec.target]
            say(f"holding {spec.target} at {count} replicas (HPA {spec.name}: min = max = {count}, "
                f"its own {spec.min_replicas}–{spec.max_replicas} afterwards)")
            held.append(spec)
            k8s.autoscaling.patch_namespaced_horizontal_pod_autoscaler(
                spec.name, namespace, {"spec": {"minReplicas": count, "maxReplicas": count}})
        yield
    finally:
        for spec in held:
            k8s.autoscaling.patch_namespaced_horizontal_pod_autoscaler(
                spec.name, namespace, {"spec": {"minReplicas": spec.min_replicas, "maxReplicas": spec.max_replicas}})


def wait_scale_out(k8s: Any, namespace: str, spec: HpaSpec, timeout: float) -> dict[str, Any]:
    """Watch until the HPA wants more than minReplicas; returns what it wanted and the CPU it saw."""

    def out(items: list[Any]) -> tuple[bool, Any]:
        if not items:
            return False, "hpa not found"
        hpa = items[0]
        seen = {"desired": hpa.status.desired_replicas, "cpu_percent": cpu_utilization(hpa)}
        return (hpa.status.desired_replicas or 0) > spec.min_replicas, seen

    return _hpa_watch(k8s, namespace, spec, out, f"HPA {spec.name} to scale out beyond {spec.min_replicas}", timeout)


def wait_ready_beyond(k8s: Any, namespace: str, spec: HpaSpec, replicas: int, timeout: float) -> dict[str, Any]:
    """Watch until the target has more than `replicas` Ready pods."""

    def beyond(items: list[Any]) -> tuple[bool, Any]:
        if not items:
            return False, "deployment not found"
        ready = items[0].status.ready_replicas or 0
        return ready > replicas, {"ready": ready, "spec": items[0].spec.replicas}

    return _deployment_watch(k8s, namespace, spec, beyond, f"more than {replicas} Ready {spec.target} pods", timeout)


def wait_scale_in(k8s: Any, namespace: str, spec: HpaSpec, timeout: float) -> dict[str, Any]:
    """Watch until the target is back at minReplicas (spec and pods)."""

    def back(items: list[Any]) -> tuple[bool, Any]:
        if not items:
            return False, "deployment not found"
        status = items[0].status
        seen = {"spec": items[0].spec.replicas, "total": status.replicas or 0}
        return seen["spec"] == spec.min_replicas, seen

    return _deployment_watch(k8s, namespace, spec, back, f"{spec.target} back at minReplicas {spec.min_replicas}", timeout)
