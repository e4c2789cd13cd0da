"""Resilience: while no backend pod is Ready, the frontend answers 503 + Retry-After with a JSON reason, never a
502 and never a dropped connection, on every route a client uses (REST with a token or a session cookie, chat,
MCP, the health check), and the service resumes by itself once a backend is Ready again.

Two ways to have no backend Ready: the Deployment scaled to 0 (its HPA stands aside at 0 replicas), and a
rollout that replaces every pod at once (the Deployment's strategy is `Recreate` for that test; the chart's own
rolling update never drops below its replicas and is proven lossless in test_rolling_update.py). The database
outage (test_database_outage.py) is the third. Fixtures put the replica count and the strategy back however a
test ends. Run time: ~30-45 s each (pods terminating through their preStop sleep, new pods starting).
"""

from __future__ import annotations

import time

import pytest

from deployproof import chaos
from deployproof.waits import poll_until, watch_until
from fixtures.hardening import AnswerLog

pytestmark = [pytest.mark.deploy, pytest.mark.resilience, pytest.mark.criterion("RES")]

GONE_TIMEOUT_S = 120
RETURN_TIMEOUT_S = 240
ROUNDS_WITHOUT_BACKEND = 3  # every route answered this often while no backend pod existed


def _no_pods_left(k8s, namespace: str, part: chaos.Component) -> list[str]:
    """Watch until the component has no pod at all (the last one finished its preStop sleep and shut down)."""
    return watch_until(k8s.core.list_namespaced_pod, lambda items: (not items, [p.metadata.name for p in items]),
                       description=f"every {part.name} pod gone", timeout=GONE_TIMEOUT_S, namespace=namespace,
                       label_selector=part.selector)


def _assert_clean(log: AnswerLog, start: float, end: float, what: str) -> None:
    unclean = log.unclean(start, end)
    assert not unclean, f"{len(unclean)} answers {what} were neither a success nor 503 + Retry-After JSON with a reason, e.g.:\n" + \
        "\n".join(a.describe() for a in unclean[:6])


def test_backend_scaled_to_zero_gets_503_with_retry_after_never_502(k8s, release, app_url, probes, backend_comes_back, figures):
    backend = chaos.component(release.name, "backend")
    with AnswerLog(app_url, probes, interval_s=0.5, limit_s=GONE_TIMEOUT_S + 2 * RETURN_TIMEOUT_S) as log:
        poll_until(lambda: (log.every_route_ok_since(0), log.statuses()), description="every route answering before the test",
                   timeout=60)
        began = time.monotonic()
        k8s.apps.patch_namespaced_deployment_scale(backend.workload, release.namespace, {"spec": {"replicas": 0}})
        _no_pods_left(k8s, release.namespace, backend)
        gone_at = time.monotonic()
        poll_until(lambda: (log.answered_since(gone_at, ROUNDS_WITHOUT_BACKEND, unavailable=True), log.statuses(gone_at)),
                   description=f"every route answered {ROUNDS_WITHOUT_BACKEND} times with no backend", timeout=60)
        returned_at = time.monotonic()
        k8s.apps.patch_namespaced_deployment_scale(backend.workload, release.namespace, {"spec": {"replicas": backend_comes_back}})
        poll_until(lambda: (log.every_route_ok_since(returned_at), log.statuses(returned_at)),
                   description="every route succeeding again without anyone's help", timeout=RETURN_TIMEOUT_S)
        resumed_at = time.monotonic()

    without = log.within(gone_at, returned_at)
    first_503 = next((a.at for a in log.between(began) if a.clean_unavailable), None)
    figures.update({
        "scaled_to_0_pods_gone_s": round(gone_at - began, 1),
        "scaled_to_0_first_503_s": round(first_503 - began, 1) if first_503 else None,
        "scaled_to_0_statuses": log.statuses(began, resumed_at),
        "scaled_to_0_resumed_s": round(resumed_at - returned_at, 1),
        "scaled_to_0_retry_after": sorted({a.retry_after for a in without if a.retry_after}),
    })
    _assert_clean(log, began, resumed_at, "from the scale-down until the service resumed")
    assert without and all(a.clean_unavailable for a in without), "with no backend pod, every answer must be the frontend's 503: " + \
        "; ".join(f"sent {a.at - gone_at:+.1f}s after the last pod went, took {a.took_s}s: {a.describe()}"
                  for a in without if not a.clean_unavailable)[:1200]


def test_rollout_with_no_backend_ready_gets_503_with_retry_after_never_502(k8s, release, app_url, probes, backend_recreated_on_rollout,
                                                                            figures):
    backend = backend_recreated_on_rollout
    with AnswerLog(app_url, probes, interval_s=0.5, limit_s=3 * RETURN_TIMEOUT_S) as log:
        poll_until(lambda: (log.every_route_ok_since(0), log.statuses()), description="every route answering before the test",
                   timeout=60)
        began = time.monotonic()
        generation = chaos.restart_rollout(k8s, release.namespace, backend.workload)
        chaos.wait_component_unready(k8s, release.namespace, backend, timeout=GONE_TIMEOUT_S)
        unready_at = time.monotonic()
        chaos.wait_rollout_complete(k8s, release.namespace, backend.workload, generation, timeout=RETURN_TIMEOUT_S)
        rolled_at = time.monotonic()
        poll_until(lambda: (log.every_route_ok_since(rolled_at), log.statuses(rolled_at)),
                   description="every route succeeding again after the rollout", timeout=RETURN_TIMEOUT_S)
        resumed_at = time.monotonic()

    unavailable = [a for a in log.between(began, resumed_at) if a.clean_unavailable]
    figures.update({
        "recreate_rollout_s": round(rolled_at - began, 1),
        "recreate_no_backend_ready_after_s": round(unready_at - began, 1),
        "recreate_503_window_s": round(unavailable[-1].at - unavailable[0].at, 1) if unavailable else 0,
        "recreate_statuses": log.statuses(began, resumed_at),
        "recreate_resumed_s": round(resumed_at - rolled_at, 1),
    })
    _assert_clean(log, began, resumed_at, "during the rollout")
    assert unavailable, "the rollout never left the app without a Ready backend (no 503 seen): the test proved nothing"
    assert {a.route for a in unavailable} >= {p.name for p in probes}, \
        f"routes never answered while no backend was Ready: {({p.name for p in probes}) - {a.route for a in unavailable}}"
