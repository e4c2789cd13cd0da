"""Resilience: a worker node is lost (its container killed: no drain, no goodbye) under a trickle of requests.

Arranged first (fixtures/nodeloss.py): the worker holds at least one backend and one frontend pod and not the
database (its local volume is pinned to another node). The node turns NotReady, its pods are evicted and
replaced on the remaining worker, and the app answers every route again by itself; no task whose write was
acknowledged is lost. Reported: seconds to NotReady, to the replacements Ready, to every route answering, and
the requests that failed meanwhile. On a test cluster the controller-manager calls a silent node NotReady after
20 s and the app's pods tolerate an unreachable node for 15 s (values-kind.yaml): production defaults are 50 s
and 300 s. Run time: ~2 min (the node is started again afterwards).
"""

from __future__ import annotations

import time

import httpx
import pytest

from deployproof import chaos
from deployproof.waits import poll_until, watch_until
from fixtures.hardening import AnswerLog
from fixtures.nodeloss import pods_by_node

pytestmark = [pytest.mark.deploy, pytest.mark.resilience, pytest.mark.criterion("RES")]

NOT_READY_TIMEOUT_S = 120
REPLACED_TIMEOUT_S = 180
RESUME_TIMEOUT_S = 120


def _node_not_ready(k8s, node: str) -> str:
    def not_ready(items) -> tuple[bool, str]:
        ready = next((c.status for c in items[0].status.conditions or [] if c.type == "Ready"), "Unknown") if items else "gone"
        return ready != "True", ready

    return watch_until(k8s.core.list_node, not_ready, description=f"node {node} NotReady", timeout=NOT_READY_TIMEOUT_S,
                       field_selector=f"metadata.name={node}")


def _replaced(k8s, namespace: str, release: str, node: str, wanted: dict[str, int]) -> dict[str, dict[str, list[str]]]:
    """Wait until every component has its replicas Ready again, none of them on the lost node."""

    def check() -> tuple[bool, dict]:
        placed = {name: pods_by_node(k8s, namespace, chaos.component(release, name)) for name in wanted}
        done = all(node not in placed[name] and sum(map(len, placed[name].values())) >= count for name, count in wanted.items())
        return done, placed

    return poll_until(check, description=f"the pods of {node} replaced on the other nodes", timeout=REPLACED_TIMEOUT_S)


def test_losing_a_worker_moves_its_pods_and_loses_no_task(k8s, cluster, release, app_url, probes, prober, lost_worker, figures):
    node = lost_worker.node
    wanted = {name: sum(map(len, pods_by_node(k8s, release.namespace, chaos.component(release.name, name)).values()))
              for name in ("backend", "frontend")}
    with AnswerLog(app_url, probes, interval_s=0.5, limit_s=NOT_READY_TIMEOUT_S + REPLACED_TIMEOUT_S + RESUME_TIMEOUT_S) as log:
        poll_until(lambda: (log.every_route_ok_since(0), log.statuses()), description="every route answering before the test",
                   timeout=60)
        began = time.monotonic()
        cluster.stop_node(node)
        _node_not_ready(k8s, node)
        not_ready_at = time.monotonic()
        placed = _replaced(k8s, release.namespace, release.name, node, wanted)
        replaced_at = time.monotonic()
        poll_until(lambda: (log.every_route_ok_since(replaced_at), log.statuses(replaced_at)),
                   description="every route answering again", timeout=RESUME_TIMEOUT_S)
        resumed_at = time.monotonic()

    failed = log.unclean(began, resumed_at)
    acknowledged = {a.body["id"] for a in log.between(began, resumed_at)
                    if a.route == "rest-add" and a.status == 201 and isinstance(a.body, dict) and "id" in a.body}
    listed = httpx.get(f"{app_url}/api/{prober.user_id}/tasks", headers=prober.headers, timeout=30)
    assert listed.status_code == 200, f"listing the tasks after the node loss: {listed.status_code} {listed.text[:200]}"
    kept = {task["id"] for task in listed.json()}
    figures.update({
        "node_loss_node": node,
        "node_loss_pods_on_node": lost_worker.pods,
        "node_loss_not_ready_s": round(not_ready_at - began, 1),
        "node_loss_replaced_s": round(replaced_at - began, 1),
        "node_loss_resumed_s": round(resumed_at - began, 1),
        "node_loss_failed_requests": len(failed),
        "node_loss_statuses": log.statuses(began, resumed_at),
        "node_loss_tasks_acknowledged": len(acknowledged),
    })
    assert all(node not in by_node for by_node in placed.values()), f"pods still on {node}: {placed}"
    assert acknowledged, "no write was acknowledged during the node loss: the test proved nothing about lost tasks"
    assert not acknowledged - kept, f"tasks acknowledged (201) during the node loss but missing afterwards: {sorted(acknowledged - kept)}"
