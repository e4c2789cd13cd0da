"""SC-3 (throughput and latency): Locust ramps simulated users in steps (bounded: at most 30 users, under
3 minutes) and records per step the throughput and latency the app delivers, where the knee is (adding
users stops adding throughput, or p95 doubles), and a PNG of RPS, p95 and replicas over time."""

from __future__ import annotations

import pytest

from deployproof import chaos
from deployproof.load import LoadPlan, find_knee, run_load
from deployproof.load.plot import plot_run
from deployproof.load.replicas import ReplicaSampler

pytestmark = [pytest.mark.deploy, pytest.mark.locust, pytest.mark.slow, pytest.mark.criterion("SC-3")]

STEPS = ((5, 30), (10, 30), (20, 35), (30, 35))  # users, seconds held: 130 s of load
PLAN = LoadPlan(steps=STEPS, spawn_rate=5, run_time_s=170)
MAX_FAILURE_RATIO = 0.01


def test_step_load_records_throughput_latency_and_the_knee(k8s, release, app_url, load_folder, report_dir, figures):
    backend = chaos.component(release.name, "backend")
    with ReplicaSampler(k8s.apps, release.namespace, [backend.workload, f"{release.name}-frontend"]) as sampler:
        result = run_load(PLAN, app_url, load_folder)
    steps = result.steps()
    knee = find_knee(steps)
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
        "load_knee_users": knee.users if knee else f"none up to {max(u for u, _ in STEPS)}",
        "load_backend_replicas_peak": sampler.peak(backend.workload),
        "load_distinct_backend_pods": len(result.served_by),
        "load_plot": str(plot),
    })
    for endpoint in result.endpoints:
        figures[f"endpoint {endpoint.label}"] = f"p50 {endpoint.p50_ms} / p95 {endpoint.p95_ms} / p99 {endpoint.p99_ms} ms, {endpoint.failures} failed"

    assert [s.users for s in steps] == [u for u, _ in STEPS], f"expected a plateau per step, got {[(s.users, s.seconds) for s in steps]}"
    assert all(s.requests > 0 for s in steps), f"a step served nothing: {steps}"
    assert max(s.rps for s in steps) >= steps[0].rps, "throughput collapsed below the first step's under more users"
    assert result.total.failure_ratio <= MAX_FAILURE_RATIO, (
        f"{result.total.failures} of {result.total.requests} requests failed; see {result.folder}/locust_failures.csv")
    assert plot.stat().st_size > 0
