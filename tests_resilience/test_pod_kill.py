"""Resilience: a backend pod is deleted under a steady trickle of requests; the service keeps answering,
a replacement becomes Ready, and no task is lost. The recovery time is measured."""

from __future__ import annotations

import threading
import time

import httpx
import pytest

from deployproof.waits import watch_until

pytestmark = [pytest.mark.deploy, pytest.mark.resilience, pytest.mark.criterion("RES")]

TRICKLE_INTERVAL_S = 0.2
TRICKLE_MAX_S = 180  # the trickle stops by itself


class Trickle(threading.Thread):
    """GETs the user's task list every 200 ms through the NodePort until stopped (bounded in time)."""

    def __init__(self, url: str, headers: dict[str, str]) -> None:
        super().__init__(daemon=True)
        self.url, self.headers = url, headers
        self.ok = 0
        self.failures: list[str] = []
        self.halt = threading.Event()

    def run(self) -> None:
        deadline = time.monotonic() + TRICKLE_MAX_S
        with httpx.Client(timeout=10) as client:
            while not self.halt.is_set() and time.monotonic() < deadline:
                try:
                    response = client.get(self.url, headers=self.headers)
                    if response.status_code == 200:
                        self.ok += 1
                    else:
                        self.failures.append(f"{response.status_code} {response.text[:80]}")
                except httpx.HTTPError as exc:
                    self.failures.append(type(exc).__name__)
                self.halt.wait(TRICKLE_INTERVAL_S)


def test_backend_pod_killed_under_traffic_recovers_without_losing_tasks(k8s, release, app_url, user_a, figures):
    tasks_url = f"{app_url}/api/{user_a.user_id}/tasks"
    written = [httpx.post(tasks_url, json={"title": f"survives the kill {i}"}, headers=user_a.headers, timeout=10).json()["id"] for i in range(5)]
    selector = f"app.kubernetes.io/instance={release.name},app.kubernetes.io/name=backend"
    pods = k8s.core.list_namespaced_pod(release.namespace, label_selector=selector).items
    replicas = len(pods)
    victim = pods[0].metadata.name
    trickle = Trickle(tasks_url, user_a.headers)
    trickle.start()
    time.sleep(2)  # a baseline of successful requests before the kill
    begun = time.monotonic()
    k8s.core.delete_namespaced_pod(victim, release.namespace)

    def replaced(items):
        ready = [p.metadata.name for p in items if p.metadata.name != victim and p.metadata.deletion_timestamp is None
                 and any(c.type == "Ready" and c.status == "True" for c in (p.status.conditions or []))]
        return len(ready) >= replicas, ready

    watch_until(k8s.core.list_namespaced_pod, replaced, description=f"{replicas} Ready backend pods without {victim}",
                timeout=180, namespace=release.namespace, label_selector=selector)
    recovery_s = round(time.monotonic() - begun, 1)
    time.sleep(2)
    trickle.halt.set()
    trickle.join()
    figures.update({"recovery_s": recovery_s, "requests_ok": trickle.ok, "requests_failed": len(trickle.failures), "replicas": replicas})
    assert trickle.ok > 0
    if replicas >= 2:
        assert not trickle.failures, f"with {replicas} replicas no request may fail; failed: {trickle.failures[:5]}"
    remaining = {t["id"] for t in httpx.get(tasks_url, headers=user_a.headers, timeout=10).json()}
    assert set(written) <= remaining, f"tasks lost: {set(written) - remaining}"
