"""Measured right-sizing: sample the metrics API during a window, recommend requests, limits and HPA targets.

`MetricsSampler` is a context manager any test wraps around its load (a Locust run, a
traffic loop); it polls metrics.k8s.io PodMetrics of one namespace in a thread, keeping
each (pod, container, timestamp) once — metrics-server publishes a new point per
window (~15 s), so polling faster only re-reads it. `advise()` compares what was
measured with the live Deployment/StatefulSet specs (what the chart's values made) and
HPAs, and flags requests far above (>4×) or below (<0.5×) the measured use.

Every recommendation is for the load that was measured: an idle window says how small the
app is at rest, not how much it needs under load — the report states which it was.

`write_values_diff()` turns the recommendations into a values file of the umbrella chart
(backend.resources.requests.cpu, …, backend.autoscaling.targetCPUUtilizationPercentage), each value
commented with the live one it replaces and the measurement behind it, and says whether every HPA
replica at its maximum would still fit the nodes.
"""

from __future__ import annotations

import json
import math
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ..capacity import Capacity, cluster_capacity, format_cpu, format_memory, quantity  # noqa: F401 (this module's API too)
from ..charts import APP_CHARTS, UMBRELLA
from ..percentiles import percentile as nearest_rank
from ..progress import say
from .findings import Finding

OVER_REQUESTED = 4.0  # request / measured above this: over-requested
UNDER_REQUESTED = 0.5  # request / measured below this: under-requested
CPU_HEADROOM = 1.25  # recommended CPU request = p95 of per-pod use × this
MEMORY_HEADROOM = 1.2  # recommended memory request = peak × this
MEMORY_LIMIT_HEADROOM = 1.5  # recommended memory limit = peak × this (OOMKilled is the cost of too little)
CPU_LIMIT_FACTOR = 2.0  # recommended CPU limit ≥ 2 × the recommended request (and ≥ 1.5 × the peak)
MIN_CPU = 0.01  # 10m: below this a request means nothing to the scheduler
MIN_MEMORY = 32 * 2**20
MEASURED_CPU_FLOOR = 0.001  # 1m: an idle pod's "0" must not divide the ratios into infinity
HPA_TARGET_RANGE = (50, 85)
METRICS = ("metrics.k8s.io", "v1beta1")


def percentile(values: list[float], pct: float) -> float:
    """Nearest-rank percentile (pct in 0..100); 0 for no values (no usage measured is no usage to size for)."""
    return nearest_rank(values, pct) or 0.0


def round_up(value: float, step: float) -> float:
    return math.ceil(round(value / step, 9)) * step


@dataclass(frozen=True)
class Sample:
    pod: str
    container: str
    timestamp: str
    cpu: float  # cores
    memory: float  # bytes (working set)


class MetricsSampler:
    """Samples PodMetrics of `namespace` every `interval` seconds while the `with` block runs.

        with MetricsSampler(k8s.custom, "todo") as sampler:
            run_the_load()
        advice = advise(sampler, live_workloads(k8s.apps, k8s.autoscaling, "todo"))
    """

    def __init__(self, custom_api: Any, namespace: str, *, interval: float = 5.0, label_selector: str = "", label: str = "") -> None:
        self.custom_api, self.namespace, self.interval = custom_api, namespace, interval
        self.label_selector, self.label = label_selector, label
        self.samples: list[Sample] = []
        self.pod_labels: dict[str, dict[str, str]] = {}
        self.errors: list[str] = []
        self.polls = 0
        self.started = self.stopped = 0.0
        self._seen: set[tuple[str, str, str]] = set()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def duration_s(self) -> float:
        return round((self.stopped or time.monotonic()) - self.started, 1) if self.started else 0.0

    def poll(self) -> int:
        """Read PodMetrics once; return how many new points it brought."""
        kwargs = {"label_selector": self.label_selector} if self.label_selector else {}
        listing = self.custom_api.list_namespaced_custom_object(*METRICS, self.namespace, "pods", **kwargs)
        self.polls += 1
        new = 0
        for item in listing.get("items", []):
            pod = item["metadata"]["name"]
            self.pod_labels[pod] = item["metadata"].get("labels") or {}
            for container in item.get("containers", []):
                key = (pod, container["name"], item.get("timestamp", ""))
                if key in self._seen:
                    continue
                self._seen.add(key)
                usage = container.get("usage", {})
                self.samples.append(Sample(pod, container["name"], key[2], quantity(usage.get("cpu")), quantity(usage.get("memory"))))
                new += 1
        return new

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            self._safe_poll()

    def _safe_poll(self) -> None:
        try:
            self.poll()
        except Exception as exc:  # noqa: BLE001 - a blip of the metrics API loses one point, not the window
            self.errors.append(f"{type(exc).__name__}: {str(exc)[:200]}")

    def __enter__(self) -> "MetricsSampler":
        say(f"sampling pod metrics in namespace {self.namespace} every {self.interval:.0f}s{' (' + self.label + ')' if self.label else ''}")
        self.started = time.monotonic()
        self._safe_poll()
        self._thread = threading.Thread(target=self._loop, name="metrics-sampler", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=self.interval + 30)
        self._safe_poll()
        self.stopped = time.monotonic()
        say(f"sampled {len(self.samples)} points from {len(self.pod_labels)} pods over {self.duration_s:.0f}s "
            f"({self.polls} polls, {len(self.errors)} errors)")


@dataclass
class HpaSpec:
    name: str
    min_replicas: int
    max_replicas: int
    target_cpu_pct: int | None


@dataclass
class ContainerSpec:
    workload: str  # Deployment/todo-backend
    container: str
    replicas: int
    selector: dict[str, str]
    cpu_request: float | None
    cpu_limit: float | None
    memory_request: float | None
    memory_limit: float | None
    hpa: HpaSpec | None = None


def live_workloads(apps_api: Any, autoscaling_api: Any, namespace: str) -> list[ContainerSpec]:
    """The containers of every Deployment and StatefulSet in `namespace`, with their resources and HPA."""
    hpas = {}
    for hpa in autoscaling_api.list_namespaced_horizontal_pod_autoscaler(namespace).items:
        target = None
        for metric in hpa.spec.metrics or []:
            if metric.type == "Resource" and metric.resource.name == "cpu" and metric.resource.target.average_utilization:
                target = metric.resource.target.average_utilization
        ref = hpa.spec.scale_target_ref
        hpas[f"{ref.kind}/{ref.name}"] = HpaSpec(hpa.metadata.name, hpa.spec.min_replicas or 1, hpa.spec.max_replicas, target)
    specs = []
    for kind, listing in (("Deployment", apps_api.list_namespaced_deployment(namespace)),
                          ("StatefulSet", apps_api.list_namespaced_stateful_set(namespace))):
        for workload in listing.items:
            name = f"{kind}/{workload.metadata.name}"
            for container in workload.spec.template.spec.containers:
                resources = container.resources
                requests, limits = (resources.requests or {}) if resources else {}, (resources.limits or {}) if resources else {}
                specs.append(ContainerSpec(
                    name, container.name, workload.status.ready_replicas or workload.spec.replicas or 0,
                    dict(workload.spec.selector.match_labels or {}),
                    _maybe(requests.get("cpu")), _maybe(limits.get("cpu")),
                    _maybe(requests.get("memory")), _maybe(limits.get("memory")), hpas.get(name)))
    return specs


def _maybe(value: Any) -> float | None:
    return quantity(value) if value not in (None, "") else None


@dataclass
class Usage:
    points: int
    pods: int
    cpu_mean: float
    cpu_p95: float
    cpu_max: float
    memory_p95: float
    memory_max: float


def usage_of(spec: ContainerSpec, samples: list[Sample], pod_labels: dict[str, dict[str, str]]) -> Usage | None:
    """Per-pod use of `spec`'s container over the window (pods picked by the workload's selector)."""
    pods = {pod for pod, labels in pod_labels.items() if spec.selector and all(labels.get(k) == v for k, v in spec.selector.items())}
    mine = [s for s in samples if s.pod in pods and s.container == spec.container]
    if not mine:
        return None
    cpu = [s.cpu for s in mine]
    memory = [s.memory for s in mine]
    return Usage(len(mine), len({s.pod for s in mine}), sum(cpu) / len(cpu), percentile(cpu, 95), max(cpu),
                 percentile(memory, 95), max(memory))


@dataclass
class Recommendation:
    workload: str
    container: str
    usage: Usage
    current: dict[str, str]
    recommended: dict[str, str]
    cpu_request_ratio: float | None  # current request / measured p95
    memory_request_ratio: float | None  # current request / measured peak
    hpa: dict[str, Any] = field(default_factory=dict)
    flags: list[str] = field(default_factory=list)
    replicas: int = 1  # the workload's replicas when measured (without an HPA, also the count to fit)

    @property
    def throttled(self) -> bool:
        """Its CPU peak reached the limit: the measured CPU is capped there, the need may be higher."""
        return any(flag.endswith(": throttled") for flag in self.flags)

    def as_dict(self) -> dict:
        return asdict(self)


def recommend(spec: ContainerSpec, usage: Usage) -> Recommendation:
    """Requests, limits and HPA target for `spec` from its measured `usage`, and what is far off now."""
    cpu_measured = max(usage.cpu_p95, MEASURED_CPU_FLOOR)
    cpu_request = round_up(max(MIN_CPU, usage.cpu_p95 * CPU_HEADROOM), 0.005)
    cpu_limit = round_up(max(cpu_request * CPU_LIMIT_FACTOR, usage.cpu_max * 1.5), 0.05)
    memory_request = round_up(max(MIN_MEMORY, usage.memory_max * MEMORY_HEADROOM), 8 * 2**20)
    memory_limit = round_up(max(memory_request, usage.memory_max * MEMORY_LIMIT_HEADROOM), 8 * 2**20)
    flags: list[str] = []
    cpu_ratio = spec.cpu_request / cpu_measured if spec.cpu_request else None
    memory_ratio = spec.memory_request / usage.memory_max if spec.memory_request and usage.memory_max else None
    for resource, ratio, current, measured in (
        ("cpu", cpu_ratio, format_cpu(spec.cpu_request), f"p95 {format_cpu(usage.cpu_p95)}"),
        ("memory", memory_ratio, format_memory(spec.memory_request), f"peak {format_memory(usage.memory_max)}"),
    ):
        if ratio is None:
            flags.append(f"no {resource} request: the scheduler reserves nothing and an HPA cannot compute utilisation")
        elif ratio > OVER_REQUESTED:
            flags.append(f"{resource} request {current} is {ratio:.1f}× the measured {measured}: over-requested "
                         f"(reserves capacity it does not use; an HPA on it reads low)")
        elif ratio < UNDER_REQUESTED:
            flags.append(f"{resource} request {current} is {ratio:.2f}× the measured {measured}: under-requested "
                         f"(the node is overcommitted; an HPA on it reads high; eviction comes first under pressure)")
    if spec.memory_limit and usage.memory_max > 0.9 * spec.memory_limit:
        flags.append(f"peak memory {format_memory(usage.memory_max)} is within 10% of the limit {format_memory(spec.memory_limit)}: OOMKilled risk")
    if spec.cpu_limit and usage.cpu_max >= 0.9 * spec.cpu_limit:
        flags.append(f"peak CPU {format_cpu(usage.cpu_max)} reached the limit {format_cpu(spec.cpu_limit)}: throttled")
    hpa: dict[str, Any] = {}
    if spec.hpa:
        # The HPA's own rule: desired = ceil(replicas × utilisation / target), within min..max.
        utilisation = 100 * usage.cpu_mean / spec.cpu_request if spec.cpu_request else None
        target = spec.hpa.target_cpu_pct
        desired = None
        if utilisation is not None and target:
            desired = min(spec.hpa.max_replicas, max(spec.hpa.min_replicas, math.ceil(round(usage.pods * utilisation / target, 6))))
        # A pod averaging the target still absorbs the measured bursts (p95 over mean) within the recommended request.
        suggested = 100 * usage.cpu_mean / cpu_request if cpu_request else HPA_TARGET_RANGE[0]
        suggested = int(min(HPA_TARGET_RANGE[1], max(HPA_TARGET_RANGE[0], 5 * round(suggested / 5))))
        hpa = {"name": spec.hpa.name, "target_cpu_pct": target, "min": spec.hpa.min_replicas, "max": spec.hpa.max_replicas,
               "measured_utilisation_pct": None if utilisation is None else round(utilisation, 1),
               "desired_replicas_at_measured_load": desired, "recommended_target_cpu_pct": suggested}
    return Recommendation(
        spec.workload, spec.container, usage,
        {"cpu_request": format_cpu(spec.cpu_request), "cpu_limit": format_cpu(spec.cpu_limit),
         "memory_request": format_memory(spec.memory_request), "memory_limit": format_memory(spec.memory_limit)},
        {"cpu_request": format_cpu(cpu_request), "cpu_limit": format_cpu(cpu_limit),
         "memory_request": format_memory(memory_request), "memory_limit": format_memory(memory_limit)},
        None if cpu_ratio is None else round(cpu_ratio, 2), None if memory_ratio is None else round(memory_ratio, 2), hpa, flags,
        spec.replicas)


def advise(sampler: MetricsSampler, specs: list[ContainerSpec]) -> list[Recommendation]:
    """One recommendation per container that the window measured."""
    out = []
    for spec in specs:
        usage = usage_of(spec, sampler.samples, sampler.pod_labels)
        if usage:
            out.append(recommend(spec, usage))
    return out


def findings(recommendations: list[Recommendation], condition: str) -> list[Finding]:
    """Flags as findings (LOW: advice on measured use, never a gate — the load decides what is right)."""
    return [Finding("right-sizing", "resource-ratio", "LOW", f"{r.workload}/{r.container}", f"{flag} [{condition}]",
                    f"set requests {r.recommended['cpu_request']} CPU / {r.recommended['memory_request']} memory "
                    f"(limits {r.recommended['cpu_limit']} / {r.recommended['memory_limit']}) — measured under {condition}")
            for r in recommendations for flag in r.flags]


def table(recommendations: list[Recommendation]) -> str:
    """A Markdown table: measured use against current and recommended resources."""
    lines = ["| container | pods | CPU mean / p95 / max | memory peak | CPU req now → rec (ratio) | memory req now → rec (ratio) | limits rec | HPA target now → rec, util, desired |",
             "|---|---|---|---|---|---|---|---|"]
    for r in recommendations:
        u = r.usage
        hpa = "-"
        if r.hpa:
            hpa = (f"{r.hpa['target_cpu_pct']}% → {r.hpa['recommended_target_cpu_pct']}%, "
                   f"{r.hpa['measured_utilisation_pct']}%, {r.hpa['desired_replicas_at_measured_load']}")
        lines.append(
            f"| {r.workload}/{r.container} | {u.pods} | {format_cpu(u.cpu_mean)} / {format_cpu(u.cpu_p95)} / {format_cpu(u.cpu_max)} "
            f"| {format_memory(u.memory_max)} | {r.current['cpu_request']} → {r.recommended['cpu_request']} ({r.cpu_request_ratio}×) "
            f"| {r.current['memory_request']} → {r.recommended['memory_request']} ({r.memory_request_ratio}×) "
            f"| {r.recommended['cpu_limit']} / {r.recommended['memory_limit']} | {hpa} |")
    return "\n".join(lines)


def wait_for_pod_metrics(custom_api: Any, core_api: Any, namespace: str, timeout: float = 150) -> list[str]:
    """Wait until the metrics API reports every Running pod of `namespace` (new pods take a scrape or two).

    Sampling before that would measure only some containers; returns the pod names reported.
    """
    from ..waits import poll_until

    def covered() -> tuple[bool, Any]:
        running = {p.metadata.name for p in core_api.list_namespaced_pod(namespace).items if p.status.phase == "Running"}
        reported = {i["metadata"]["name"] for i in custom_api.list_namespaced_custom_object("metrics.k8s.io", "v1beta1", namespace, "pods")["items"]}
        return bool(running) and running <= reported, f"running {sorted(running)}, reported {sorted(reported)}"

    return poll_until(covered, description=f"pod metrics for every Running pod in {namespace}", timeout=timeout)


# --- the recommendations as a values file of the umbrella chart ------------------------------------------------

# Recommendation field → where the value lives in a subchart's values (the umbrella nests them under the chart's name).
RESOURCE_KEYS = {
    "cpu_request": ("resources", "requests", "cpu"),
    "memory_request": ("resources", "requests", "memory"),
    "cpu_limit": ("resources", "limits", "cpu"),
    "memory_limit": ("resources", "limits", "memory"),
}
HPA_TARGET_KEY = ("autoscaling", "targetCPUUtilizationPercentage")


@dataclass(frozen=True)
class ValueChange:
    path: tuple[str, ...]  # in the umbrella chart's values, e.g. ("backend", "resources", "requests", "cpu")
    current: str | int | None  # the live value (None: unset)
    recommended: str | int
    why: str

    @property
    def changed(self) -> bool:
        return str(self.current) != str(self.recommended)

    @property
    def key(self) -> str:
        return ".".join(self.path)


def chart_of(workload: str, release: str) -> str | None:
    """The umbrella's subchart that made `workload` ("Deployment/todo-backend" → "backend"), or None."""
    name = workload.partition("/")[2]
    prefix = f"{release}-"
    chart = name[len(prefix):] if name.startswith(prefix) else ""
    return chart if chart in APP_CHARTS else None


def _reasons(r: Recommendation) -> dict[str, str]:
    u = r.usage
    capped = "; at its CPU limit, so the need may be higher" if r.throttled else ""
    cpu = (f"p95 use {format_cpu(u.cpu_p95)} × {CPU_HEADROOM:g}" if u.cpu_p95 * CPU_HEADROOM >= MIN_CPU
           else f"the {format_cpu(MIN_CPU)} floor (p95 use {format_cpu(u.cpu_p95)})")
    return {
        "cpu_request": cpu + capped,
        "memory_request": f"peak {format_memory(u.memory_max)} × {MEMORY_HEADROOM:g}, at least {format_memory(MIN_MEMORY)}",
        "cpu_limit": f"≥ {CPU_LIMIT_FACTOR:g} × the request and 1.5 × the peak {format_cpu(u.cpu_max)}{capped}",
        "memory_limit": f"peak {format_memory(u.memory_max)} × {MEMORY_LIMIT_HEADROOM:g}",
    }


def value_changes(recommendations: list[Recommendation], release: str) -> tuple[list[ValueChange], list[str]]:
    """(the values the recommendations set, workloads left out and why). Unchanged values are kept: the file is whole."""
    changes: list[ValueChange] = []
    skipped: list[str] = []
    per_workload: dict[str, int] = {}
    for r in recommendations:
        per_workload[r.workload] = per_workload.get(r.workload, 0) + 1
    for r in recommendations:
        chart = chart_of(r.workload, release)
        if chart is None:
            skipped.append(f"{r.workload}/{r.container}: not a chart of {UMBRELLA}")
            continue
        if per_workload[r.workload] > 1:
            skipped.append(f"{r.workload}/{r.container}: one of several containers; the chart's resources are the main one's")
            continue
        reasons = _reasons(r)
        for name, keys in RESOURCE_KEYS.items():
            current = None if r.current[name] == "-" else r.current[name]
            changes.append(ValueChange((chart, *keys), current, r.recommended[name], reasons[name]))
        if r.hpa:
            why = (f"mean use {format_cpu(r.usage.cpu_mean)} is about this share of the recommended request; "
                   f"it ran at {r.hpa['measured_utilisation_pct']}% of the current one")
            changes.append(ValueChange((chart, *HPA_TARGET_KEY), r.hpa["target_cpu_pct"], r.hpa["recommended_target_cpu_pct"], why))
    return changes, skipped


def requests_at_max_replicas(recommendations: list[Recommendation]) -> tuple[float, float, list[str]]:
    """(CPU, memory, terms) the recommended requests add up to with every HPA at maxReplicas (others at their replicas)."""
    cpu = memory = 0.0
    terms = []
    for r in recommendations:
        count = int(r.hpa["max"]) if r.hpa else max(1, r.replicas)
        cpu += count * quantity(r.recommended["cpu_request"])
        memory += count * quantity(r.recommended["memory_request"])
        terms.append(f"{r.container} {count} × {r.recommended['cpu_request']}")
    return cpu, memory, terms


def fit_text(recommendations: list[Recommendation], capacity: Capacity | None) -> tuple[bool | None, str]:
    """(whether every replica at its maximum fits, the sentence that says so); None without a capacity."""
    cpu, memory, terms = requests_at_max_replicas(recommendations)
    total = f"with every HPA at maxReplicas these requests add up to {format_cpu(cpu)} CPU / {format_memory(memory)} ({', '.join(terms)})"
    if capacity is None:
        return None, total
    fits = cpu <= capacity.free_cpu and memory <= capacity.free_memory
    return fits, (f"{total}; the nodes leave {format_cpu(capacity.free_cpu)} CPU / {format_memory(capacity.free_memory)} "
                  f"(allocatable {format_cpu(capacity.allocatable_cpu)} / {format_memory(capacity.allocatable_memory)}, less "
                  f"{format_cpu(capacity.others_cpu)} / {format_memory(capacity.others_memory)} requested in other namespaces): "
                  + ("every replica fits" if fits else "NOT every replica can be scheduled"))


def _scalar(value: str | int) -> str:
    """Plain when YAML reads it back as the same value ("625m", 60), quoted otherwise ("10.0" would be a float)."""
    text = str(value)
    return text if yaml.safe_load(text) == value else json.dumps(text)


def render_values(changes: list[ValueChange], header: list[str]) -> str:
    """A values file: nested keys, each leaf `key: recommended  # now current — why`."""
    lines = [f"# {line}" if line else "#" for line in header]
    written: list[tuple[str, ...]] = []
    for change in changes:
        for depth in range(len(change.path) - 1):
            prefix = change.path[: depth + 1]
            if prefix not in written:
                lines.append(f"{'  ' * depth}{prefix[-1]}:")
                written.append(prefix)
        now = "unset" if change.current is None else change.current
        state = f"now {now}" if change.changed else "unchanged"
        lines.append(f"{'  ' * (len(change.path) - 1)}{change.path[-1]}: {_scalar(change.recommended)}  # {state} — {change.why}")
    return "\n".join(lines) + "\n"


def write_values_diff(path: Path, recommendations: list[Recommendation], *, release: str, condition: str,
                      capacity: Capacity | None = None) -> tuple[Path, list[ValueChange], bool | None]:
    """Write the recommendations as a values file of the umbrella chart; returns (path, the values, whether all fits)."""
    changes, skipped = value_changes(recommendations, release)
    fits, fit = fit_text([r for r in recommendations if chart_of(r.workload, release)], capacity)
    changed = [c for c in changes if c.changed]
    header = [
        f"Right-sizing from measurement: values for the umbrella chart charts/{UMBRELLA} (keys as in its values.yaml).",
        f"Measured under {condition}.",
        "Each value is the advisor's recommendation; its comment gives the live value it replaces (or 'unchanged') and why.",
        f"{len(changed)} of {len(changes)} values differ from the live release {release!r}: " + (", ".join(c.key for c in changed) or "none") + ".",
        "CPU use measured at a container's CPU limit is capped by that limit (the comment says so): the need may be higher.",
        f"Fit: {fit}.",
        *(f"Left out: {item}." for item in skipped),
        f"Try it over the environment's values: helm upgrade --install {release} charts/{UMBRELLA} "
        f"-f charts/{UMBRELLA}/values-<environment>.yaml -f {path.name}",
        "",
    ]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_values(changes, header))
    return path, changes, fits
