"""SC-3 (throughput and latency): Locust ramps simulated users in steps (bounded: at most 30 users, under
3 minutes) and measures per step the throughput and latency the app delivers. From the steps it finds the
knee (adding users stops adding throughput) and reports it, then holds the run to
bounds that a slow or broken deployment fails (a step's latency covers every request that ended on its plateau,
from the locustfile's request log): throughput keeps rising at least up to SCALES_TO_USERS, p95
stays under P95_BOUND_MS and no request fails below the knee, and past it throughput levels off without
collapsing. A PNG of RPS, p95 and replicas over time goes to the report folder.

The run measures a fixed capacity: the backend and frontend are settled at their HPAs' minReplicas and held there
(min = max) until the load ends, then the HPAs get their own bounds back. With the HPAs free, pods started in the
middle of a step (on a 2-CPU node, each start takes CPU from the pods serving) set the p95, not the app: minikube's
step load measured p95 558 ms at 20 users and 770 ms at 30 while the backend went 2 → 5 pods and the frontend 1 → 2,
with 10-second p95s of 0.9–2 s right at each pod start and 150–450 ms between them. Scale-out under load is proven
by SC-3's HPA test (tests_resilience/test_hpa.py).

The scenario is frozen and recorded: the step plan, task weights and wait times Locust actually ran (the
locustfile writes them from its user class) are figures, with an id that changes when any of them does.
During the 20-user step the kernel's CPU throttling counters of every app container are read (cgroup
cpu.stat, through the exec API: deployproof.throttling) when all 20 users run and again just before the shape
moves on; the frontend must not be throttled in between. The pod metrics sampled over the whole run
become the right-sizing advisor's values file for the umbrella chart (reports/rightsizing-values-step-load.yaml).
"""

from __future__ import annotations

import hashlib
import json
import time

import pytest

from deployproof import autoscaling, chaos, throttling
from deployproof.aiops import rightsizing
from deployproof.load import LoadPlan, LoadRun, StepLoadBounds, assess_step_load
from deployproof.load.plot import plot_run
from deployproof.load.replicas import ReplicaSampler
from deployproof.load.results import plateau, read_scenario, read_timeline

pytestmark = [pytest.mark.deploy, pytest.mark.locust, pytest.mark.slow, pytest.mark.criterion("SC-3")]

STEPS = ((5, 30), (10, 30), (20, 35), (30, 35))  # users, seconds held: 130 s of load
PLAN = LoadPlan(steps=STEPS, spawn_rate=5, run_time_s=170)
MAX_FAILURE_RATIO = 0.01  # over the whole run, knee and beyond included
# 5 → 10 users must still add throughput; below its knee the app answers 95 % of requests within half a second
# (measured over every request of each plateau, 2 backend + 1 frontend pods held, 2 CPUs: throughput linear up to
# 30 users, p95 101 / 110 / 149 / 147 ms at 5 / 10 / 20 / 30 users on embedded, 138 / 125 / 172 / 238 ms on
# minikube; 450–780 ms at 20–30 users on embedded before a chat turn stopped building a TLS context per MCP session).
BOUNDS = StepLoadBounds(scales_to_users=10, p95_ms=500)
THROTTLE_USERS = 20  # issue 13's target load: no CPU throttling of the frontend at 20 users
# "No throttling" with room for noise, not for a limit that holds the frontend back: our own reader (a `node`
# process starting inside the frontend's cgroup at the window's end, tens of ms of CPU) or a garbage-collection
# burst can cost a period or two of the ~300 a busy pod runs in the ~30 s window (< 1 %), while a pod held at its
# limit is throttled in a large share of its periods.
MAX_FRONTEND_THROTTLED_PCT = 1.0
# The window's end snapshot starts this long before the shape's next step is due (exec round trips take a second
# or so on a loaded node), so no sign-up of the next step's users is counted as the 20-user step's.
SNAPSHOT_LEAD_S = 3
SETTLE_TIMEOUT_S = 180  # a previous test's load has ended: the HPAs back at minReplicas with CPU below target


def scenario_id(scenario) -> str:
    """Twelve hex digits that change when any part of the scenario does: equal ids, comparable runs."""
    canonical = json.dumps({"user": scenario.user_class, "tasks": scenario.task_weights, "wait": [scenario.wait_min_s, scenario.wait_max_s],
                            "steps": scenario.steps, "spawn_rate": scenario.spawn_rate}, sort_keys=True)
    return hashlib.sha256(canonical.encode()).hexdigest()[:12]


def test_step_load_records_throughput_latency_and_the_knee(k8s, release, app_url, load_folder, load_targets, report_dir, figures):
    backend = chaos.component(release.name, "backend")
    reader = throttling.CpuStatReader(k8s, release.namespace, release.name)
    run = LoadRun(PLAN, app_url, load_folder, load_targets)

    def throttle_plateau():
        return plateau(read_timeline(run.prefix), THROTTLE_USERS)

    workloads = [backend.workload, f"{release.name}-frontend"]
    hpas = [spec for name in workloads if (spec := autoscaling.hpa_of(k8s, release.namespace, name)) is not None]
    for spec in hpas:
        autoscaling.settle_at_min(k8s, release.namespace, spec, timeout=SETTLE_TIMEOUT_S)
    capacity = {name: k8s.apps.read_namespaced_deployment(name, release.namespace).spec.replicas for name in workloads}

    with autoscaling.held_at(k8s, release.namespace, hpas, capacity), \
            ReplicaSampler(k8s.apps, release.namespace, workloads) as sampler, \
            rightsizing.MetricsSampler(k8s.custom, release.namespace, interval=5, label="step load") as metrics, run:
        window = throttling.measure_window(
            reader, begins=lambda: throttle_plateau() is not None,
            ends=lambda: (p := throttle_plateau()) is not None and p.ending(time.time(), SNAPSHOT_LEAD_S),
            abandoned=lambda: None if run.running else "the Locust run ended",
            description=f"the {THROTTLE_USERS}-user step", timeout=PLAN.bound_s)
        result = run.wait()
    steps = result.steps()
    assessment = assess_step_load(steps, BOUNDS)
    plot = plot_run(result, sampler.samples, report_dir / "load-steps.png", f"Locust step load: {[u for u, _ in STEPS]} users",
                    marks=[(s.start, f"{s.users} users") for s in steps])

    for step in steps:
        figures[f"step_{step.users}u"] = (f"{step.rps} rps, p50 {step.p50_ms} ms, p95 {step.p95_ms} ms over {step.samples} requests, "
                                          f"{step.failures} failed")
    figures.update({
        "load_requests": result.total.requests,
        "load_failures": result.total.failures,
        "load_rps": result.total.rps,
        "load_p50_ms": result.total.p50_ms,
        "load_p95_ms": result.total.p95_ms,
        "load_p99_ms": result.total.p99_ms,
        "load_knee": assessment.knee_text,
        "load_below_knee_p95_max_ms": max((s.p95_ms or 0 for s in assessment.below_knee), default=None),
        "load_below_knee_rps_max": max((s.rps for s in assessment.below_knee), default=None),
        "load_bounds": f"rising to ≥{BOUNDS.scales_to_users} users, p95 ≤{BOUNDS.p95_ms:g} ms and no failures below the knee, "
                       f"no step under {BOUNDS.collapse_ratio:g}× the best rps before it",
        "load_capacity": ", ".join(f"{name} {count}" for name, count in capacity.items())
                         + f" replicas, held for the run ({', '.join(h.name for h in hpas) or 'no HPA'}: min = max)",
        "load_backend_replicas_peak": sampler.peak(backend.workload),
        "load_distinct_backend_pods": len(result.served_by),
        "load_plot": str(plot),
    })
    for endpoint in result.endpoints:
        figures[f"endpoint {endpoint.label}"] = f"p50 {endpoint.p50_ms} / p95 {endpoint.p95_ms} / p99 {endpoint.p99_ms} ms, {endpoint.failures} failed"

    # The scenario as Locust ran it (its user class and shape), not as this file hopes it ran.
    scenario = read_scenario(run.prefix)
    figures.update({
        "load_scenario_id": scenario_id(scenario),
        "load_scenario_steps": f"{scenario.steps_text}; spawn rate {scenario.spawn_rate:g} users/s",
        "load_scenario_task_weights": f"{scenario.user_class}: {scenario.tasks_text}",
        "load_scenario_wait_s": f"{scenario.wait_min_s:g}–{scenario.wait_max_s:g} s between tasks (uniform)",
    })

    throttled = window.throttling()
    figures[f"throttling_window_{THROTTLE_USERS}u"] = (
        f"{window.seconds} s from all {THROTTLE_USERS} users running to {SNAPSHOT_LEAD_S} s before the next step; cgroup counters read by exec "
        f"from {', '.join(window.sources) or 'nothing'}")
    figures["throttling_bound"] = f"frontend throttled in ≤ {MAX_FRONTEND_THROTTLED_PCT:g} % of its CFS periods at {THROTTLE_USERS} users"
    for name, item in throttled.items():
        figures[f"{name}_throttled_pct_{THROTTLE_USERS}u"] = item.pct
        figures[f"{name}_throttled_s_{THROTTLE_USERS}u"] = item.throttled_s
        figures[f"{name}_throttling_{THROTTLE_USERS}u"] = item.describe()

    recommendations = rightsizing.advise(metrics, rightsizing.live_workloads(k8s.apps, k8s.autoscaling, release.namespace))
    condition = (f"the step load ({scenario.steps_text}; scenario {scenario_id(scenario)}) through the NodePort: "
                 f"{metrics.duration_s:.0f} s of pod metrics, {len(metrics.samples)} points")
    values, _, fits = rightsizing.write_values_diff(report_dir / "rightsizing-values-step-load.yaml", recommendations,
                                                    release=release.name, condition=condition,
                                                    capacity=rightsizing.cluster_capacity(k8s.core, release.namespace))
    figures["rightsizing_values_step_load"] = str(values)
    figures["rightsizing_fits_at_max_replicas_step_load"] = fits
    for r in recommendations:
        figures[f"{r.container}_cpu_p95_step_load"] = f"{rightsizing.format_cpu(r.usage.cpu_p95)} (request {r.current['cpu_request']}, limit {r.current['cpu_limit']})"

    assert [s.users for s in steps] == [u for u, _ in STEPS], f"expected a plateau per step, got {[(s.users, s.seconds) for s in steps]}"
    peaks = {name: sampler.peak_desired(name) for name in workloads}
    assert peaks == capacity, f"the step load was to run at a fixed capacity {capacity}, but the replicas asked for peaked at {peaks}"
    assert all(s.samples for s in steps), (
        f"no request of steps {[s.users for s in steps if not s.samples]} is in the request log {run.prefix}_requests.csv")
    assert not assessment.problems, "the step load breaks its bounds:\n  " + "\n  ".join(assessment.problems)
    assert result.total.failure_ratio <= MAX_FAILURE_RATIO, (
        f"{result.total.failures} of {result.total.requests} requests failed; see {result.folder}/locust_failures.csv")
    ran = (scenario.steps, scenario.spawn_rate, (scenario.wait_min_s, scenario.wait_max_s))
    planned = (tuple((u, float(s)) for u, s in STEPS), PLAN.spawn_rate, PLAN.wait_s)
    assert ran == planned, f"Locust ran (steps, spawn rate, wait) {ran}, not the frozen plan {planned}"
    frontend = throttled["frontend"]
    assert frontend.containers, f"the frontend's CPU throttling at {THROTTLE_USERS} users was not measured: {frontend.describe()}"
    assert frontend.pct is None or frontend.pct <= MAX_FRONTEND_THROTTLED_PCT, (
        f"the frontend was CPU-throttled at {THROTTLE_USERS} users in {frontend.pct} % of its CFS periods (bound "
        f"{MAX_FRONTEND_THROTTLED_PCT:g} %): {frontend.describe()}. Its CPU limit holds it back: raise frontend.resources.limits.cpu "
        f"(and its request, for the HPA and the scheduler) — measured use and the advisor's values are in {values}")
