"""Whether the release fits its cluster with every HPA at maxReplicas, and the maxReplicas that make it fit.

A cluster the suite makes is as big as the machine under it: one kind node on a 2-CPU machine leaves about 1 CPU
once kube-system has its requests, and a third frontend replica the HPA asks for under load stays Pending
(Unschedulable), so SC-1 fails on a pod that could never run (measured: kind, one node, SC-4's traffic). Before the
install the HPAs' maxReplicas are lowered to what fits — the largest request per pod first, never below
minReplicas + 1 so scale-out can still be shown — and the run says so and the report keeps it. A cluster handed over
(existing) is never resized by us: the shortfall is printed as a warning, and the user's values stand.

Capacity is summed over the nodes (allocatable less what pods of other namespaces request): a pod must also fit on
one node, which a sum cannot promise, so this is the bound that is always necessary, not always enough.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Iterable

SCALED_KINDS = ("Deployment", "StatefulSet")


def quantity(value: str | int | float | None) -> float:
    """A Kubernetes quantity ('250m', '1614694n', '84592Ki', '1Gi') as a float (cores, bytes)."""
    if value in (None, ""):
        return 0.0
    from kubernetes.utils.quantity import parse_quantity

    return float(parse_quantity(value if isinstance(value, str) else Decimal(str(value))))


def format_cpu(cores: float | None) -> str:
    if cores is None:
        return "-"
    return f"{cores * 1000:.0f}m" if cores < 10 else f"{cores:.1f}"


def format_memory(size: float | None) -> str:
    if size is None:
        return "-"
    return f"{size / 2**20:.0f}Mi" if size < 10 * 2**30 else f"{size / 2**30:.1f}Gi"


@dataclass(frozen=True)
class Capacity:
    """What the nodes can give the release: allocatable, less what pods of other namespaces request."""

    allocatable_cpu: float
    allocatable_memory: float
    others_cpu: float
    others_memory: float

    @property
    def free_cpu(self) -> float:
        return self.allocatable_cpu - self.others_cpu

    @property
    def free_memory(self) -> float:
        return self.allocatable_memory - self.others_memory

    def describe(self) -> str:
        return (f"{format_cpu(self.free_cpu)} CPU / {format_memory(self.free_memory)} free (allocatable "
                f"{format_cpu(self.allocatable_cpu)} / {format_memory(self.allocatable_memory)}, less "
                f"{format_cpu(self.others_cpu)} / {format_memory(self.others_memory)} requested in other namespaces)")


def cluster_capacity(core_api: Any, namespace: str) -> Capacity:
    """The nodes' allocatable CPU and memory, and the requests of pods outside `namespace` that hold them."""
    cpu = memory = others_cpu = others_memory = 0.0
    for node in core_api.list_node().items:
        allocatable = node.status.allocatable or {}
        cpu += quantity(allocatable.get("cpu"))
        memory += quantity(allocatable.get("memory"))
    for pod in core_api.list_pod_for_all_namespaces().items:
        if pod.metadata.namespace == namespace or pod.status.phase in ("Succeeded", "Failed"):
            continue
        for container in pod.spec.containers:
            requests = (container.resources.requests or {}) if container.resources else {}
            others_cpu += quantity(requests.get("cpu"))
            others_memory += quantity(requests.get("memory"))
    return Capacity(cpu, memory, others_cpu, others_memory)


@dataclass(frozen=True)
class Workload:
    """One Deployment or StatefulSet of the release: its chart (the values key), what one pod requests, its replicas."""

    chart: str
    cpu: float
    memory: float
    replicas: int  # spec.replicas; with an HPA its bounds count instead
    min_replicas: int | None = None
    max_replicas: int | None = None

    def count(self, maxes: dict[str, int]) -> int:
        if self.max_replicas is None:
            return self.replicas
        return maxes.get(self.chart, self.max_replicas)


def workloads(objects: Iterable[dict]) -> list[Workload]:
    """The release's scaled workloads from its rendered objects (charts.template), each with its HPA's bounds."""
    objects = list(objects)
    bounds = {}
    for obj in objects:
        if obj.get("kind") == "HorizontalPodAutoscaler":
            spec = obj.get("spec") or {}
            bounds[(spec.get("scaleTargetRef") or {}).get("name")] = (int(spec.get("minReplicas") or 1), int(spec["maxReplicas"]))
    found = []
    for obj in objects:
        if obj.get("kind") not in SCALED_KINDS:
            continue
        metadata, spec = obj.get("metadata") or {}, obj.get("spec") or {}
        containers = ((spec.get("template") or {}).get("spec") or {}).get("containers") or []
        requests = [((c.get("resources") or {}).get("requests") or {}) for c in containers]
        low, high = bounds.get(metadata.get("name"), (None, None))
        found.append(Workload(chart=(metadata.get("labels") or {}).get("app.kubernetes.io/name", metadata.get("name", "?")),
                              cpu=sum(quantity(r.get("cpu")) for r in requests),
                              memory=sum(quantity(r.get("memory")) for r in requests),
                              replicas=int(spec.get("replicas", 1)), min_replicas=low, max_replicas=high))
    return found


def demand(found: list[Workload], maxes: dict[str, int] | None = None) -> tuple[float, float]:
    """(CPU, memory) the release requests with every HPA at its maximum (or at `maxes` where given)."""
    maxes = maxes or {}
    return (sum(w.cpu * w.count(maxes) for w in found), sum(w.memory * w.count(maxes) for w in found))


def fitted_max_replicas(found: list[Workload], capacity: Capacity) -> dict[str, int]:
    """The lowered maxReplicas (chart → count) that make the release fit; empty when it fits as it is. Lowered one
    replica at a time, the workload with the largest request per pod first, never below minReplicas + 1; if even that
    does not fit, the lowest it may go is returned and the shortfall is left to `shortfall`."""
    maxes: dict[str, int] = {}

    def fits() -> bool:
        cpu, memory = demand(found, maxes)
        return cpu <= capacity.free_cpu and memory <= capacity.free_memory

    while not fits():
        lowerable = [w for w in found if w.max_replicas is not None and w.count(maxes) > (w.min_replicas or 1) + 1]
        if not lowerable:
            break
        widest = max(lowerable, key=lambda w: (w.cpu, w.memory))
        maxes[widest.chart] = widest.count(maxes) - 1
    return maxes


def shortfall(found: list[Workload], capacity: Capacity, maxes: dict[str, int] | None = None) -> str | None:
    """What the release at its maximum replicas asks beyond the capacity, as a sentence; None when it fits."""
    cpu, memory = demand(found, maxes)
    if cpu <= capacity.free_cpu and memory <= capacity.free_memory:
        return None
    terms = ", ".join(f"{w.chart} {w.count(maxes or {})} × {format_cpu(w.cpu)}/{format_memory(w.memory)}" for w in found)
    return f"at its maximum replicas the release requests {format_cpu(cpu)} CPU / {format_memory(memory)} ({terms}); {capacity.describe()}"


def replacement_shortfall(found: list[Workload], capacity: Capacity, maxes: dict[str, int] | None = None) -> str | None:
    """Whether, at maximum replicas, the cluster still has room for one more pod of the widest workload: the scheduler
    counts a terminating pod's requests until it is gone, so a killed pod's replacement (or a rollout's surge pod)
    waits for its predecessor where there is none. A sentence when there is none; None when there is."""
    cpu, memory = demand(found, maxes)
    widest = max(found, key=lambda w: (w.cpu, w.memory), default=None)
    if widest is None or (capacity.free_cpu - cpu >= widest.cpu and capacity.free_memory - memory >= widest.memory):
        return None
    return (f"at its maximum replicas the release leaves {format_cpu(capacity.free_cpu - cpu)} CPU, less than one more {widest.chart} "
            f"pod ({format_cpu(widest.cpu)}): a replaced pod waits until its predecessor has terminated")


def describe_lowered(found: list[Workload], maxes: dict[str, int]) -> str:
    return ", ".join(f"{w.chart} {w.max_replicas} → {maxes[w.chart]}" for w in found if w.chart in maxes)


def max_replicas_values(maxes: dict[str, int]) -> dict[str, str]:
    """The --set values (umbrella chart keys) that apply lowered maxReplicas."""
    return {f"{chart}.autoscaling.maxReplicas": str(count) for chart, count in sorted(maxes.items())}
