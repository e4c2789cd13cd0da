"""SC-3: under Locust load the backend's HPA scales out, requests reach more than one backend pod, and
when the load stops the HPA scales back in within its behaviour's stabilization window (plus the
controller's and metrics' lag). Times are measured with watches from the start of the load."""

from __future__ import annotations

import time
from collections import Counter

import pytest

from deployproof import autoscaling, chaos
from deployproof.load import LoadPlan, LoadRun
from deployproof.load.plot import plot_run
from deployproof.load.replicas import ReplicaSampler

pytestmark = [pytest.mark.deploy, pytest.mark.resilience, pytest.mark.locust, pytest.mark.criterion("SC-3")]

SETTLE_TIMEOUT_S = 180
# Modest on purpose: the HPA aims at 50 % of a 50m CPU request per backend pod on the embedded cluster.
# Users arrive at 2 a second: every sign-up hashes a password with scrypt (~32 MiB each, in the frontend's
# memory while it runs), and 20 arriving at once have OOM-killed a lone frontend pod at its 384Mi limit.
PLAN = LoadPlan(users=20, spawn_rate=2, run_time_s=150)
SCALE_OUT_TIMEOUT_S = 120  # from the load's start; the run itself stops after PLAN.run_time_s regardless
AFTER_READY_S = 15  # keep the load on the new pods for a while: they must get requests too


def test_backend_hpa_scales_out_under_load_spreads_requests_and_scales_back_in(k8s, release, app_url, load_folder, load_targets,
                                                                               report_dir, figures):
    backend = chaos.component(release.name, "backend")
    spec = autoscaling.read_hpa(k8s, release.namespace, backend.workload)
    assert spec.max_replicas > spec.min_replicas, f"{spec}: nothing to scale"
    settled = autoscaling.settle_at_min(k8s, release.namespace, spec, timeout=SETTLE_TIMEOUT_S)
    pods_before = {p.metadata.name for p in chaos.serving_pods(k8s, release.namespace, backend)}

    with ReplicaSampler(k8s.apps, release.namespace, [backend.workload, f"{release.name}-frontend"]) as sampler:
        with LoadRun(PLAN, app_url, load_folder, load_targets) as load:
            started = time.monotonic()
            wanted = autoscaling.wait_scale_out(k8s, release.namespace, spec, timeout=SCALE_OUT_TIMEOUT_S)
            scale_out_s = time.monotonic() - started
            scaled_out_at = time.time()
            autoscaling.wait_ready_beyond(k8s, release.namespace, spec, spec.min_replicas, timeout=SCALE_OUT_TIMEOUT_S)
            new_ready_s = time.monotonic() - started
            new_ready_at = time.time()
            time.sleep(min(AFTER_READY_S, max(0.0, PLAN.run_time_s - (time.monotonic() - started) - 5)))
            result = load.stop()
        stopped = time.monotonic()
        stopped_at = time.time()
        # The bound counts the scale-down policies' steps (a chart default removes 1 pod a minute) from the most
        # replicas the HPA asked for over the whole run, not the Ready ones at the stop: on an existing cluster's
        # defaults 3 were Ready when the load stopped and 5 a little later, and a bound from 3 cut the wait short
        # one step before 1. The wait itself allows the bound from maxReplicas.
        autoscaling.wait_scale_in(k8s, release.namespace, spec, timeout=spec.scale_in_bound_s(spec.max_replicas) + 60)
        scale_in_s = time.monotonic() - stopped
        scaled_in_at = time.time()
        scale_in_bound_s = spec.scale_in_bound_s(sampler.peak_desired(backend.workload))

    served = Counter(result.served_by)
    new_pods = {pod: n for pod, n in served.items() if pod not in pods_before}
    plot = plot_run(result, sampler.samples, report_dir / "hpa-scale-out.png", f"backend HPA under {PLAN.users} Locust users",
                    marks=[(scaled_out_at, "scale-out"), (new_ready_at, "new pods Ready"), (stopped_at, "load stopped"),
                           (scaled_in_at, "scaled in")])
    figures.update({
        "hpa_min_max": f"{spec.min_replicas}-{spec.max_replicas}",
        "hpa_cpu_at_start_percent": settled.get("cpu_percent"),
        "hpa_scale_out_s": round(scale_out_s, 1),
        "hpa_cpu_at_scale_out_percent": wanted.get("cpu_percent"),
        "hpa_new_pods_ready_s": round(new_ready_s, 1),
        "hpa_replicas_reached": sampler.peak(backend.workload),
        "hpa_replicas_asked_for": sampler.peak_desired(backend.workload),
        "hpa_scale_in_s": round(scale_in_s, 1),
        "hpa_scale_in_bound_s": scale_in_bound_s,
        "hpa_load_rps": result.total.rps,
        "hpa_load_p95_ms": result.total.p95_ms,
        "hpa_load_failures": result.total.failures,
        "balance_distinct_pods": len(served),
        "balance_requests_per_pod": dict(served),
        "balance_new_pods_served": sum(new_pods.values()),
        "hpa_plot": str(plot),
    })
    assert sampler.peak(backend.workload) > spec.min_replicas, f"the backend never had more than {spec.min_replicas} Ready pods"
    assert len(served) > 1, f"every request was answered by one backend pod: {dict(served)}"
    assert new_pods, f"no request reached a pod added by the scale-out (before: {sorted(pods_before)}; served: {dict(served)})"
    assert scale_in_s <= scale_in_bound_s, (
        f"scale-in took {scale_in_s:.0f}s; the behaviour allows {spec.scale_down_window_s}s window + "
        f"{scale_in_bound_s - spec.scale_down_window_s - autoscaling.SCALE_IN_SLACK_S}s of policy steps + {autoscaling.SCALE_IN_SLACK_S}s lag")
    assert result.total.failure_ratio < 0.01, f"{result.total.failures} of {result.total.requests} requests failed"
