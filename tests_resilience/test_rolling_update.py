"""Resilience: a rolling update of the backend and of the frontend under Locust load loses no request.

The rollout is what `kubectl rollout restart` does: a new pod-template annotation, so every pod is
replaced by the Deployment's own strategy (maxUnavailable 0, maxSurge 1), new pods take traffic only
once Ready, old ones keep serving through their preStop sleep, and the PDB bounds voluntary evictions.
It needs no helm revision (no migration hooks, no contention with another upgrade of the release)."""

from __future__ import annotations

import time

import pytest

from deployproof import chaos
from deployproof.load import LoadPlan, LoadRun

pytestmark = [pytest.mark.deploy, pytest.mark.resilience, pytest.mark.locust, pytest.mark.criterion("RES")]

PLAN = LoadPlan(users=6, spawn_rate=3, run_time_s=240)  # stopped as soon as the rollout is done; bounded anyway
BASELINE_S = 10  # every user signed up and busy before the rollout begins
SETTLE_S = 2  # traffic on the new pods only, before the load stops
ROLLOUT_TIMEOUT_S = 200


@pytest.mark.parametrize("name", ["backend", "frontend"])
def test_rolling_update_under_load_loses_no_request(name, k8s, release, app_url, load_folder, load_targets, figures):
    part = chaos.component(release.name, name)
    deployment = part.workload
    replicas = k8s.apps.read_namespaced_deployment(deployment, release.namespace).spec.replicas
    with LoadRun(PLAN, app_url, load_folder, load_targets) as load:
        time.sleep(BASELINE_S)
        began = time.monotonic()
        generation = chaos.restart_rollout(k8s, release.namespace, deployment)
        chaos.wait_rollout_complete(k8s, release.namespace, deployment, generation, timeout=ROLLOUT_TIMEOUT_S)
        rollout_s = time.monotonic() - began
        # Old pods still serve through their preStop sleep and then shut down: the load covers that too.
        chaos.wait_no_terminating(k8s, release.namespace, part, timeout=ROLLOUT_TIMEOUT_S)
        old_pods_gone_s = time.monotonic() - began
        time.sleep(SETTLE_S)
        result = load.stop()

    figures.update({
        f"rollout_{name}_replicas": replicas,
        f"rollout_{name}_s": round(rollout_s, 1),
        f"rollout_{name}_old_pods_gone_s": round(old_pods_gone_s, 1),
        f"rollout_{name}_requests": result.total.requests,
        f"rollout_{name}_failures": result.total.failures,
        f"rollout_{name}_p95_ms": result.total.p95_ms,
    })
    assert result.total.requests > 0
    failed = {e.label: e.failures for e in result.endpoints if e.failures}
    assert result.total.failures == 0, f"{result.total.failures} requests failed during the rollout of {deployment}: {failed}; " \
                                       f"see {result.folder}/locust_failures.csv"
