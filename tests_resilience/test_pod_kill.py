"""Resilience: one pod of each component (backend, frontend, database) is deleted under a steady trickle
of requests through the NodePort. A replacement becomes Ready (measured), the service answers again
(measured) and no task written before the kill is lost. The backend and the frontend are given two Ready
replicas for the test (fixtures/resilience.py: replicas_for_the_kill, restored afterwards), and then not a
single request may fail; a release whose HPA cannot run two is killed as it is, and fails on its failed
requests. The database is one StatefulSet pod: its outage is measured, not forbidden."""

from __future__ import annotations

import time

import httpx
import pytest

from deployproof import chaos
from deployproof.load.trickle import Trickle
from deployproof.waits import poll_until

pytestmark = [pytest.mark.deploy, pytest.mark.resilience, pytest.mark.criterion("RES")]

BASELINE_S = 2  # successful requests before the kill: the trickle works before anything is disturbed
SETTLE_S = 2  # and after the replacement is Ready: late failures would still be seen
RECOVERY_TIMEOUT_S = 180


def _write_tasks(tasks_url: str, user, count: int, label: str) -> list[int]:
    ids = []
    for i in range(count):
        response = httpx.post(tasks_url, json={"title": f"{label} {i}"}, headers=user.headers, timeout=10)
        assert response.status_code == 201, f"writing a task before the kill: {response.status_code} {response.text[:200]}"
        ids.append(response.json()["id"])
    return ids


@pytest.mark.parametrize("name", ["backend", "frontend", "database"])
def test_pod_killed_under_traffic_recovers_without_losing_tasks(name, replicas_for_the_kill, k8s, release, app_url, user_a, figures):
    arranged = replicas_for_the_kill
    part = arranged.part
    tasks_url = f"{app_url}/api/{user_a.user_id}/tasks"
    written = _write_tasks(tasks_url, user_a, 5, f"survives the {name} kill")
    pods = chaos.serving_pods(k8s, release.namespace, part)
    assert pods, f"no Ready {name} pod to kill"
    replicas = len(pods)

    with Trickle(tasks_url, user_a.headers, limit_s=RECOVERY_TIMEOUT_S + 60) as trickle:
        time.sleep(BASELINE_S)
        assert trickle.ok > 0 and not trickle.failures, f"the trickle failed before the kill: {trickle.failures[:3]}"
        killed_at = time.monotonic()
        gone = chaos.kill_pod(k8s, release.namespace, pods[0])
        chaos.wait_ready_replacements(k8s, release.namespace, part, replicas, gone, timeout=RECOVERY_TIMEOUT_S)
        ready_s = time.monotonic() - killed_at

        # Ready is the pod's view; the user's view is a request through the NodePort succeeding after the last failure.
        def restored():
            failed = [o.at for o in trickle.failures if o.at >= killed_at]
            at = trickle.first_success_after(failed[-1] if failed else killed_at)
            return at is not None, at if at is not None else trickle.statuses(killed_at)

        service_s = poll_until(restored, description=f"a successful request through {app_url} after the {name} kill",
                               timeout=RECOVERY_TIMEOUT_S) - killed_at
        time.sleep(SETTLE_S)

    failures = [o for o in trickle.failures if o.at >= killed_at]
    figures.update({
        f"{name}_replicas": replicas,
        f"{name}_arranged": arranged.changed or "as deployed",
        f"{name}_ready_s": round(ready_s, 1),
        f"{name}_service_s": round(service_s, 1),
        f"{name}_outage_s": trickle.outage_s(),
        f"{name}_requests_ok": trickle.ok,
        f"{name}_requests_failed": len(failures),
    })
    if failures:
        figures[f"{name}_failure_statuses"] = {k: v for k, v in trickle.statuses(killed_at).items() if k != "200"}
    remaining = {t["id"] for t in httpx.get(tasks_url, headers=user_a.headers, timeout=10).json()}
    assert set(written) <= remaining, f"tasks lost with the {name} pod: {sorted(set(written) - remaining)}"
    if part.kind == "Deployment":
        assert not failures, (f"with {replicas} {name} replica(s) no request may fail; {len(failures)} failed: "
                              f"{[(o.status, o.detail) for o in failures[:5]]}")
        assert replicas >= arranged.wanted, (
            f"{name} had {replicas} Ready replica(s) at the kill, not {arranged.wanted}: its HPA allows no more")
