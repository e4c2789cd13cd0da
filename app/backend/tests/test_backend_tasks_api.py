"""REST task CRUD, isolation between users, bad input and the headers every response carries."""

from __future__ import annotations

import socket

import httpx


def test_create_list_get_update_toggle_delete(api):
    created = api.create("buy milk", "2 litres")
    assert created["title"] == "buy milk" and created["description"] == "2 litres" and created["completed"] is False
    assert created["user_id"] == api.user_id
    task_id = created["id"]

    assert [t["id"] for t in api.client.get(api.tasks()).json()] == [task_id]
    assert api.client.get(api.tasks(f"/{task_id}")).json()["title"] == "buy milk"

    put = api.client.put(api.tasks(f"/{task_id}"), json={"title": "buy oat milk"})
    assert put.status_code == 200 and put.json()["title"] == "buy oat milk"
    assert put.json()["description"] == "2 litres"
    patch = api.client.patch(api.tasks(f"/{task_id}"), json={"description": None, "completed": True})
    assert patch.status_code == 200 and patch.json()["description"] is None and patch.json()["completed"] is True

    toggled = api.client.patch(api.tasks(f"/{task_id}/complete"))
    assert toggled.status_code == 200 and toggled.json()["completed"] is False
    toggled = api.client.patch(api.tasks(f"/{task_id}/complete"))
    assert toggled.json()["completed"] is True

    assert api.client.delete(api.tasks(f"/{task_id}")).status_code == 204
    assert api.client.get(api.tasks(f"/{task_id}")).status_code == 404
    assert api.client.get(api.tasks()).json() == []


def test_status_filter(api):
    done = api.create("done thing")
    open_ = api.create("open thing")
    api.client.patch(api.tasks(f"/{done['id']}/complete"))
    ids = lambda status: [t["id"] for t in api.client.get(api.tasks(), params={"status": status}).json()]  # noqa: E731
    assert ids("all") == [done["id"], open_["id"]]
    assert ids("pending") == [open_["id"]]
    assert ids("completed") == [done["id"]]
    bad = api.client.get(api.tasks(), params={"status": "nope"})
    assert bad.status_code == 422 and "status" in bad.json()["detail"]


def test_users_never_see_each_others_tasks(api, other_api):
    mine = api.create("my secret task")
    other_api.create("their task")
    assert [t["title"] for t in other_api.client.get(other_api.tasks()).json()] == ["their task"]
    for method, suffix, body in [
        ("GET", f"/{mine['id']}", None),
        ("PUT", f"/{mine['id']}", {"title": "hijacked"}),
        ("PATCH", f"/{mine['id']}", {"title": "hijacked"}),
        ("PATCH", f"/{mine['id']}/complete", None),
        ("DELETE", f"/{mine['id']}", None),
    ]:
        response = other_api.client.request(method, other_api.tasks(suffix), json=body)
        assert response.status_code == 404, (method, suffix, response.text)
        assert response.json()["detail"] == f"Task {mine['id']} not found"
    assert api.client.get(api.tasks(f"/{mine['id']}")).json()["title"] == "my secret task"


def test_bad_input_is_a_clear_4xx(api):
    url = api.tasks()
    headers = {"Content-Type": "application/json"}
    cases = [
        (api.client.post(url, content=b"{not json", headers=headers), 400, "not valid JSON"),
        (api.client.post(url, json={"title": ""}), 422, "title must not be empty"),
        (api.client.post(url, json={"title": "   "}), 422, "title must not be empty"),
        (api.client.post(url, json={"title": 42}), 422, "title"),
        (api.client.post(url, json={"title": "x" * 201}), 422, "at most 200"),
        (api.client.post(url, json={"description": "no title"}), 422, "title"),
        (api.client.post(url, json=["a", "list"]), 422, ""),
        (api.client.post(url, json={"title": "ok", "description": "d" * 2001}), 422, "description"),
        (api.client.get(api.tasks("/abc")), 422, "task_id"),
        (api.client.get(api.tasks("/999999999")), 404, "not found"),
        (api.client.get(api.tasks("/99999999999999999999")), 404, "not found"),
        (api.client.get(api.tasks("/0")), 404, "not found"),
        (api.client.put(api.tasks("/1"), json={}), 422, "at least one"),
        (api.client.patch(api.tasks("/1"), json={"title": None}), 422, "title"),
        (api.client.patch(api.tasks("/1"), json={"completed": "yes"}), 422, "completed"),
    ]
    for response, status, text in cases:
        assert response.status_code == status, (response.request.url, response.text)
        assert text.lower() in response.json()["detail"].lower(), response.text


def test_oversized_body_is_413(api, hs_server):
    huge = {"title": "x", "description": "y" * 70_000}
    response = api.client.post(api.tasks(), json=huge)
    assert response.status_code == 413 and "limit is 65536 bytes" in response.json()["detail"]

    # No Content-Length (chunked): the limit is enforced while streaming.
    def chunks():
        yield b'{"title": "x", "description": "'
        for _ in range(80):
            yield b"z" * 1000
        yield b'"}'

    response = api.client.post(api.tasks(), content=chunks(), headers={"Content-Type": "application/json"})
    assert response.status_code == 413
    assert api.client.get(api.tasks()).json() == []


def test_every_response_has_request_id_and_served_by(api, hs_server):
    hostname = socket.gethostname()
    for response in [
        httpx.get(f"{hs_server.url}/healthz", trust_env=False),
        httpx.get(f"{hs_server.url}/api/x/tasks", trust_env=False),  # 401
        httpx.get(f"{hs_server.url}/no/such/route", trust_env=False),  # 404
        api.client.get(api.tasks()),
    ]:
        assert response.headers["x-served-by"] == hostname
        assert len(response.headers["x-request-id"]) >= 16
    echoed = api.client.get(api.tasks(), headers={"X-Request-ID": "trace-abc-123"})
    assert echoed.headers["x-request-id"] == "trace-abc-123"


def test_health_and_readiness(hs_server):
    assert httpx.get(f"{hs_server.url}/healthz", trust_env=False).json() == {"status": "ok"}
    ready = httpx.get(f"{hs_server.url}/readyz", trust_env=False)
    assert ready.status_code == 200 and ready.json()["status"] == "ok"
