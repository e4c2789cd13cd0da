"""SC-3 (throughput and latency): Locust ramps simulated users in steps (bounded: at most 30 users, under
3 minutes) and measures per step the throughput and latency the app delivers. From the steps it finds the
knee (adding users stops adding throughput) and reports it, then holds the run to
bounds that a slow or broken deployment fails: throughput keeps rising at least up to SCALES_TO_USERS, p95
stays under P95_BOUND_MS and no request fails below the knee, and past it throughput levels off without
collapsing. A PNG of RPS, p95 and replicas over time goes to the report folder."""

from __future__ import annotations

import pytest

from deployproof import chaos
from deployproof.load import LoadPlan, StepLoadBounds, assess_step_load, run_load
from deployproof.load.plot import plot_run
from deployproof.load.replicas import ReplicaSampler

pytestmark = [pytest.mark.deploy, pytest.mark.locust, pytest.mark.slow, pytest.mark.criterion("SC-3")]

STEPS = ((5, 30), (10, 30), (20, 35), (30, 35))  # users, seconds held: 130 s of load
PLAN = LoadPlan(steps=STEPS, spawn_rate=5, run_time_s=170)
MAX_FAILURE_RATIO = 0.01  # over the whole run, knee and beyond included
# 5 → 10 users must still add throughput; below its knee the app answers 95 % of requests within half a second
# (measured on the embedded cluster, 2 cores: throughput linear up to 30 users, p95 74–230 ms per step).
BOUNDS = StepLoadBounds(scales_to_users=10, p95_ms=500)


def test_step_load_records_throughput_latency_and_the_knee(k8s, release, app_url, load_folder, report_dir, figures):
    backend = chaos.component(release.name, "backend")
    with ReplicaSampler(k8s.apps, release.namespace, [backend.workload, f"{release.name}-frontend"]) as sampler:
        result = run_load(PLAN, app_url, load_folder)
    steps = result.steps()
    assessment = assess_step_load(steps, BOUNDS)
    plot = plot_run(result, sampler.samples, report_dir / "load-steps.png", f"Locust step load: {[u for u, _ in STEPS]} users",
                    marks=[(s.start, f"{s.users} users") for s in steps])

    for step in steps:
        figures[f"step_{step.users}u"] = f"{step.rps} rps, p50 {step.p50_ms} ms, p95 {step.p95_ms} ms, {step.failures} failed"
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
        "load_backend_replicas_peak": sampler.peak(backend.workload),
        "load_distinct_backend_pods": len(result.served_by),
        "load_plot": str(plot),
    })
    for endpoint in result.endpoints:
        figures[f"endpoint {endpoint.label}"] = f"p50 {endpoint.p50_ms} / p95 {endpoint.p95_ms} / p99 {endpoint.p99_ms} ms, {endpoint.failures} failed"

    assert [s.users for s in steps] == [u for u, _ in STEPS], f"expected a plateau per step, got {[(s.users, s.seconds) for s in steps]}"
    assert not assessment.problems, "the step load breaks its bounds:\n  " + "\n  ".join(assessment.problems)
    assert result.total.failure_ratio <= MAX_FAILURE_RATIO, (
        f"{result.total.failures} of {result.total.requests} requests failed; see {result.folder}/locust_failures.csv")
