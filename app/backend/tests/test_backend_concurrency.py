"""State changes of one task under real concurrency (parallel HTTP requests, real PostgreSQL): no lost toggle,
exactly one successful delete, and every answer 200/204/404 — the final state checked against a model."""

from __future__ import annotations

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import httpx

from backend_testkit.tokens import hs256_token

N = 24  # parallel requests per scenario (the server's thread pool is 40, its database pool 5 + 10)


def race(base_url: str, user: str, requests: list[tuple[str, str]]) -> list[httpx.Response]:
    """Send all `requests` (method, path) at once: one client each, released together by a barrier."""
    barrier = threading.Barrier(len(requests))
    headers = {"Authorization": f"Bearer {hs256_token(user)}"}

    def one(request: tuple[str, str]) -> httpx.Response:
        method, path = request
        with httpx.Client(base_url=base_url, headers=headers, timeout=60, trust_env=False) as client:
            client.get("/healthz")  # connect first, so the barrier releases requests, not TCP handshakes
            barrier.wait()
            return client.request(method, path)

    with ThreadPoolExecutor(max_workers=len(requests)) as pool:
        return list(pool.map(one, requests))


def test_parallel_toggles_are_never_lost(api, hs_server):
    task = api.create("toggle me")
    responses = race(hs_server.url, api.user_id, [("PATCH", api.tasks(f"/{task['id']}/complete"))] * N)
    assert [r.status_code for r in responses] == [200] * N, [r.text for r in responses if r.status_code != 200]
    # Model: N serialised toggles from "pending" answer true and false in turn, whatever the order.
    answered = Counter(r.json()["completed"] for r in responses)
    assert answered == Counter({True: (N + 1) // 2, False: N // 2}), answered
    final = api.client.get(api.tasks(f"/{task['id']}")).json()
    assert final["completed"] is (N % 2 == 1)


def test_parallel_deletes_succeed_exactly_once(api, hs_server):
    task = api.create("delete me")
    responses = race(hs_server.url, api.user_id, [("DELETE", api.tasks(f"/{task['id']}"))] * N)
    assert Counter(r.status_code for r in responses) == Counter({204: 1, 404: N - 1}), [r.text for r in responses]
    assert api.client.get(api.tasks(f"/{task['id']}")).status_code == 404


def test_complete_against_delete_resolves_to_200_or_404(api, hs_server):
    task = api.create("complete or delete me")
    toggle, remove = ("PATCH", api.tasks(f"/{task['id']}/complete")), ("DELETE", api.tasks(f"/{task['id']}"))
    requests = [toggle if i % 3 else remove for i in range(N)]  # a third are deletes
    responses = race(hs_server.url, api.user_id, requests)
    by_kind = {"toggle": Counter(), "delete": Counter()}
    toggled = Counter()
    for request, response in zip(requests, responses):
        kind = "toggle" if request is toggle else "delete"
        by_kind[kind][response.status_code] += 1
        if kind == "toggle" and response.status_code == 200:
            toggled[response.json()["completed"]] += 1
    assert set(by_kind["toggle"]) <= {200, 404} and set(by_kind["delete"]) <= {204, 404}, by_kind
    assert by_kind["delete"][204] == 1, by_kind
    # The toggles that won before the delete form a serial history: k toggles answer ceil(k/2) true, floor(k/2) false.
    k = by_kind["toggle"][200]
    assert toggled == Counter({True: (k + 1) // 2, False: k // 2}) - Counter(), (k, toggled)
    assert api.client.get(api.tasks(f"/{task['id']}")).status_code == 404


def test_parallel_updates_and_explicit_completion_leave_one_consistent_row(api, hs_server):
    task = api.create("edit me")
    path = api.tasks(f"/{task['id']}")
    headers = {"Authorization": f"Bearer {hs256_token(api.user_id)}"}
    barrier = threading.Barrier(N)

    def edit(i: int) -> httpx.Response:
        with httpx.Client(base_url=hs_server.url, headers=headers, timeout=60, trust_env=False) as client:
            client.get("/healthz")
            barrier.wait()
            return client.patch(path, json={"title": f"title {i}", "completed": i % 2 == 0})

    with ThreadPoolExecutor(max_workers=N) as pool:
        responses = list(pool.map(edit, range(N)))
    assert {r.status_code for r in responses} == {200}
    final = api.client.get(path).json()
    # The row is one of the writes, whole: its title and its completed flag come from the same request.
    i = int(final["title"].removeprefix("title "))
    assert final["completed"] is (i % 2 == 0)
