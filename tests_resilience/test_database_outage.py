"""Resilience: the database goes away (its StatefulSet scaled to 0) and comes back.

While it is away the backend says why it is not ready (/readyz → 503 with a reason, seen through
the frontend's /api/backend-health), task requests fail cleanly and the backend does not crash-loop
(liveness does not depend on the database). When the database returns, the service resumes by itself
and every task written before the outage is still there.
Failing cleanly means: every answer a client gets on any route (REST with a token or a session cookie,
chat, MCP, the health check), from the backend while it still answers or from the frontend once no backend is
Ready, is a success or a 503 with Retry-After and a JSON reason; never a 502, a 500 or a dropped connection.
The StatefulSet is restored by the `database_comes_back` fixture however the test ends."""

from __future__ import annotations

import time

import httpx
import pytest

from deployproof import chaos
from deployproof.load.trickle import Trickle
from deployproof.waits import poll_until
from fixtures.hardening import AnswerLog

pytestmark = [pytest.mark.deploy, pytest.mark.resilience, pytest.mark.criterion("RES")]

OUTAGE_TIMEOUT_S = 120
RETURN_TIMEOUT_S = 240
CLEAN_FAILURES = {"503"}  # the backend's 503 while it answers, the frontend's once no backend pod is Ready
# How long a client waits for the 503: the backend tries the database once per pooled connection it checks out,
# each attempt bounded by its connect timeout (5 s); two attempts (pre-ping, then a fresh connection) plus the proxy
# fit in 15 s. Measured on three kind nodes: 5.0 s answers, and one request over 10 s (the old client timeout).
CLIENT_TIMEOUT_S = 15


def test_database_outage_is_reported_cleanly_and_service_resumes_by_itself(k8s, release, app_url, user_a, probes, database_comes_back,
                                                                           figures):
    database = chaos.component(release.name, "database")
    backend = chaos.component(release.name, "backend")
    tasks_url = f"{app_url}/api/{user_a.user_id}/tasks"
    written = [httpx.post(tasks_url, json={"title": f"survives the outage {i}"}, headers=user_a.headers, timeout=10).json()["id"]
               for i in range(3)]
    restarts_before = chaos.restart_counts(k8s, release.namespace, backend)

    limit_s = OUTAGE_TIMEOUT_S + RETURN_TIMEOUT_S
    with Trickle(tasks_url, user_a.headers, interval_s=0.5, limit_s=limit_s, timeout_s=CLIENT_TIMEOUT_S) as trickle, \
            AnswerLog(app_url, probes, interval_s=0.5, limit_s=limit_s) as answers:
        began = time.monotonic()
        chaos.scale_statefulset(k8s, release.namespace, database.workload, 0)
        chaos.wait_statefulset_ready(k8s, release.namespace, database.workload, 0, timeout=OUTAGE_TIMEOUT_S)
        database_gone_s = time.monotonic() - began

        # The backend's own verdict, through the frontend: /readyz answers 503 with the database as the reason. Read from
        # the probes that ran all along: readiness takes every backend pod out of the Service a few seconds later
        # (probe period x failure threshold), and from then on only the frontend answers, which cannot know why.
        def database_named():
            named = [a for a in answers.between(began) if a.route == "backend-health" and a.status == 503
                     and isinstance(a.body, dict) and "database" in str(a.body.get("reason", ""))]
            return bool(named), (named[0] if named else answers.statuses(began).get("backend-health"))

        first = poll_until(database_named, description="/api/backend-health to report the database as the reason",
                           timeout=OUTAGE_TIMEOUT_S)
        health = first.body
        readyz_s = first.done - began
        # Then readiness takes every backend pod out of the Service (probe period x failure threshold).
        chaos.wait_component_unready(k8s, release.namespace, backend, timeout=OUTAGE_TIMEOUT_S)
        unready_s = time.monotonic() - began
        during = httpx.get(tasks_url, headers=user_a.headers, timeout=CLIENT_TIMEOUT_S)

        returned_at = time.monotonic()
        chaos.scale_statefulset(k8s, release.namespace, database.workload, database_comes_back)
        chaos.wait_statefulset_ready(k8s, release.namespace, database.workload, database_comes_back, timeout=RETURN_TIMEOUT_S)
        database_ready_s = time.monotonic() - returned_at
        resumed_at = poll_until(lambda: ((at := trickle.first_success_after(returned_at)) is not None, at),
                                description="a task request succeeding again without anyone's help", timeout=RETURN_TIMEOUT_S)
        resumed_s = resumed_at - returned_at

    outage = [o for o in trickle.outcomes if began <= o.at < resumed_at and not o.ok]
    statuses = trickle.statuses(began)
    restarts_after = chaos.restart_counts(k8s, release.namespace, backend)
    figures.update({
        "db_outage_pods_gone_s": round(database_gone_s, 1),
        "db_outage_readyz_503_s": round(readyz_s, 1),
        "db_outage_backend_unready_s": round(unready_s, 1),
        "db_outage_statuses": dict(statuses),
        "db_return_ready_s": round(database_ready_s, 1),
        "db_return_service_s": round(resumed_s, 1),
        "db_outage_answers": answers.statuses(began, resumed_at),
        "db_outage_slowest_answer_s": max((o.took_s for o in trickle.outcomes if began <= o.at < resumed_at), default=0.0),
    })
    assert "database" in str(health.get("reason")), health
    assert during.status_code == 503 and during.headers.get("retry-after") and during.json().get("reason"), \
        f"task request during the outage: {during.status_code} {during.headers} {during.text[:200]}"
    unclean = [(o.status, o.detail, f"sent {o.at - began:+.1f}s after the scale-down, took {o.took_s}s")
               for o in outage if str(o.status) not in CLEAN_FAILURES]
    assert not unclean, f"task requests during the outage must fail cleanly (503 with a reason), got {unclean[:5]}"
    unclean_answers = answers.unclean(began, resumed_at)
    assert not unclean_answers, f"{len(unclean_answers)} answers during the outage were neither a success nor 503 + Retry-After " \
        "JSON with a reason, e.g.:\n" + "\n".join(a.describe() for a in unclean_answers[:6])
    restarted = {pod: n for pod, n in restarts_after.items() if n > restarts_before.get(pod, 0)}
    assert not restarted, f"backend containers restarted during the outage (liveness must not depend on the database): {restarted}"
    remaining = {t["id"] for t in httpx.get(tasks_url, headers=user_a.headers, timeout=10).json()}
    assert set(written) <= remaining, f"tasks lost across the outage: {sorted(set(written) - remaining)}"
