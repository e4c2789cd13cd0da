"""Better Auth's rate limiting on the live deployment, and what its bounded allowance lets through.

How the 429 is proven, and why this way: the limit is tested as the release runs it (the test clusters' allowance,
read from the live ConfigMap), not on a release reconfigured for the test. Better Auth counts every request to
the sign-in path before it reads the body, and keeps counting while requests follow each other within the window,
so a burst of allowance + 1 attempts from one client must meet a 429. The attempts are ones the server refuses
cheaply (no password: a 400 before any scrypt), ~5 ms each, so 1000 of them cost seconds where wrong passwords
would each cost a hash (~0.1 s of CPU) and lowering the allowance would cost two frontend rollouts (~1 min) and
a release that differs from the one under test while it lasts. Every attempt carries another spoofed
X-Forwarded-For (and every other client-address header), and the real password is refused at the end: spoofing
does not move the client's key. All attempts share one keep-alive connection, so one frontend pod counts them
(limits are per pod); the test checks that it really was one connection.

Run time: ~10-20 s for the burst (allowance 1000) plus up to one window (10 s) for the limit to lift;
~20-40 s for the 50 sign-ups (each one a scrypt hash, a few in parallel per pod).
"""

from __future__ import annotations

import threading
import time
from datetime import datetime, timezone

import httpx
import pytest

from deployproof import chaos
from deployproof.aiops.rightsizing import MetricsSampler
from fixtures.app import sign_up

pytestmark = [pytest.mark.deploy, pytest.mark.functional]

BEYOND = 20  # attempts after the first 429, every one with yet another spoofed address
SIGN_UPS = 50
APP_PARTS = ("frontend", "backend", "database")


def spoofed(i: int) -> dict[str, str]:
    """Every header a client could write to pass for someone else."""
    address = f"203.0.113.{i % 250 + 1}"
    return {"X-Forwarded-For": f"{address}, 198.51.100.{i % 250 + 1}", "X-Real-IP": address, "Forwarded": f"for={address}",
            "CF-Connecting-IP": address, "True-Client-IP": address, "X-Client-IP": address,
            "X-Todo-Client-Key": address, "X-Todo-Socket-Address": address}


@pytest.mark.criterion("SC-5")
def test_the_auth_rate_limit_is_on_with_a_bounded_allowance(sign_in_allowance, figures):
    allowance = sign_in_allowance
    figures.update({"sign_in_max": allowance.max_attempts, "auth_max": allowance.other_max, "window_s": allowance.window_s,
                    "trusted_proxies": allowance.trusted_proxies or "none"})
    assert allowance.switch in (None, ""), f"the release still sets BETTER_AUTH_RATE_LIMIT={allowance.switch!r} (limiting is always on)"
    assert 1 <= allowance.max_attempts <= 10_000 and 1 <= allowance.other_max <= 100_000 and 1 <= allowance.window_s <= 3600, allowance


@pytest.mark.criterion("SC-5")
def test_a_burst_of_sign_in_attempts_gets_429_and_a_spoofed_forwarded_for_does_not_escape(app_ready, sign_in_allowance,
                                                                                          sign_in_limit_lifts, figures):
    user, allowance = sign_in_limit_lifts, sign_in_allowance
    statuses: list[int] = []
    connections: set[object] = set()
    first_429: int | None = None
    began = time.monotonic()
    with httpx.Client(base_url=app_ready, timeout=30, headers={"Origin": app_ready},
                      limits=httpx.Limits(max_connections=1, max_keepalive_connections=1)) as client:
        for i in range(allowance.max_attempts + 1 + BEYOND):
            response = client.post("/api/auth/sign-in/email", json={"email": user.email}, headers=spoofed(i))
            connections.add(response.extensions["network_stream"].get_extra_info("client_addr"))
            statuses.append(response.status_code)
            if response.status_code == 429 and first_429 is None:
                first_429 = i
            if first_429 is not None and i >= first_429 + BEYOND:
                break
        burst_s = time.monotonic() - began
        real = client.post("/api/auth/sign-in/email", json={"email": user.email, "password": user.password},
                           headers=spoofed(len(statuses)))
        connections.add(real.extensions["network_stream"].get_extra_info("client_addr"))

    refused_cheaply = statuses[:first_429] if first_429 is not None else statuses
    figures.update({"sign_in_burst_attempts": len(statuses), "sign_in_first_429_at_attempt": (first_429 + 1) if first_429 is not None else None,
                    "sign_in_burst_s": round(burst_s, 1), "sign_in_attempt_ms": round(1000 * burst_s / len(statuses), 1),
                    "sign_in_burst_statuses": {str(s): statuses.count(s) for s in sorted(set(statuses))},
                    "sign_in_burst_connections": len(connections)})
    assert len(connections) == 1, f"the burst used {len(connections)} connections ({connections}): its attempts may have been " \
                                  "counted by several frontend pods, so the limit was not tested"
    assert set(refused_cheaply) == {400}, f"attempts before the limit should be cheap 400s, got {set(refused_cheaply)}"
    assert first_429 is not None, f"{len(statuses)} sign-in attempts from one client (allowance {allowance.max_attempts}) " \
                                  f"with spoofed X-Forwarded-For never got a 429"
    assert first_429 <= allowance.max_attempts, f"the first 429 came at attempt {first_429 + 1}, past the allowance {allowance.max_attempts}"
    assert set(statuses[first_429:]) == {429}, f"a spoofed X-Forwarded-For escaped the limit: {statuses[first_429:]}"
    assert real.status_code == 429, f"the real password after the burst: {real.status_code} {real.text[:200]}"
    body = real.json()
    retry_after = real.headers.get("retry-after", "")
    assert real.headers["content-type"].startswith("application/json") and body.get("error") == "rate_limited", body
    assert retry_after.isdigit() and 1 <= int(retry_after) <= allowance.window_s, f"Retry-After {retry_after!r}"


def _container_states(k8s, namespace: str, release_name: str) -> dict[tuple[str, str], tuple[int, list[str]]]:
    """(pod, container) → (restarts, the OOM kills on record: when each ended) for every pod of the app."""
    states = {}
    for name in APP_PARTS:
        for pod in k8s.core.list_namespaced_pod(namespace, label_selector=chaos.component(release_name, name).selector).items:
            for status in pod.status.container_statuses or []:
                ooms = [str(t.finished_at) for t in (status.state.terminated, status.last_state.terminated)
                        if t is not None and t.reason == "OOMKilled"]
                states[(pod.metadata.name, status.name)] = (status.restart_count, ooms)
    return states


@pytest.mark.criterion("RES")
def test_fifty_simultaneous_sign_ups_all_succeed_without_restarts_or_oom_kills(k8s, release, app_ready, sign_in_allowance, figures):
    frontend = chaos.component(release.name, "frontend")
    limits = k8s.apps.read_namespaced_deployment(frontend.workload, release.namespace).spec.template.spec.containers[0].resources.limits
    assert sign_in_allowance.max_attempts >= SIGN_UPS, \
        f"the release allows {sign_in_allowance.max_attempts} sign-ups per window per client: the load allowance is missing"
    before = _container_states(k8s, release.namespace, release.name)
    started_at = datetime.now(timezone.utc)
    gate = threading.Barrier(SIGN_UPS)
    outcomes: list[tuple[str, float]] = []

    def one(i: int) -> None:
        gate.wait()
        sent = time.monotonic()
        try:
            sign_up(app_ready, f"burst{i}")
            outcomes.append(("ok", time.monotonic() - sent))
        except (AssertionError, httpx.HTTPError) as exc:
            outcomes.append((f"{type(exc).__name__}: {str(exc)[:160]}", time.monotonic() - sent))

    with MetricsSampler(k8s.custom, release.namespace, interval=2.0, label_selector=frontend.selector) as sampler:
        began = time.monotonic()
        threads = [threading.Thread(target=one, args=(i,), daemon=True) for i in range(SIGN_UPS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=180)
        burst_s = time.monotonic() - began
    after = _container_states(k8s, release.namespace, release.name)

    failed = [o for o, _ in outcomes if o != "ok"]
    latencies = sorted(s for _, s in outcomes)
    restarted = {f"{pod}/{c}": n - before.get((pod, c), (0, []))[0] for (pod, c), (n, _) in after.items()
                 if n > before.get((pod, c), (0, []))[0]}
    oom_killed = {f"{pod}/{c}": ooms for (pod, c), (_, ooms) in after.items() if set(ooms) - set(before.get((pod, c), (0, []))[1])}
    peak_mib = max((s.memory for s in sampler.samples if s.container == "frontend"), default=0) / 2**20
    figures.update({"sign_ups": len(outcomes), "sign_ups_ok": len(outcomes) - len(failed), "sign_ups_s": round(burst_s, 1),
                    "sign_up_p50_s": round(latencies[len(latencies) // 2], 2) if latencies else None,
                    "sign_up_max_s": round(latencies[-1], 2) if latencies else None,
                    "frontend_memory_limit": (limits or {}).get("memory"), "frontend_peak_memory_mib": round(peak_mib),
                    "restarts": restarted, "oom_kills": oom_killed, "since": started_at.isoformat(timespec="seconds")})
    assert len(outcomes) == SIGN_UPS, f"{SIGN_UPS - len(outcomes)} sign-ups never finished within 180 s"
    assert not failed, f"{len(failed)} of {SIGN_UPS} simultaneous sign-ups failed, e.g. {failed[:3]}"
    assert not restarted, f"containers restarted during the sign-up burst: {restarted}"
    assert not oom_killed, f"containers OOM-killed during the sign-up burst: {oom_killed}"
