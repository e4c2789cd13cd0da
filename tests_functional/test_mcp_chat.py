"""SC-5 through the NodePort: task CRUD, the MCP tools with a JWT, and the chat agent end to end."""

from __future__ import annotations

import pytest

pytestmark = [pytest.mark.deploy, pytest.mark.functional, pytest.mark.criterion("SC-5")]

TOOLS = ["add_task", "complete_task", "delete_task", "list_tasks", "update_task"]


def test_task_crud_through_rest(http, user_a):
    base, headers = f"/api/{user_a.user_id}/tasks", user_a.headers
    created = http.post(base, json={"title": "water the plants", "description": "balcony"}, headers=headers)
    assert created.status_code in (200, 201), created.text
    task = created.json()
    assert http.get(f"{base}/{task['id']}", headers=headers).json()["title"] == "water the plants"
    assert http.put(f"{base}/{task['id']}", json={"title": "water all plants"}, headers=headers).json()["title"] == "water all plants"
    assert http.patch(f"{base}/{task['id']}/complete", headers=headers).json()["completed"] is True
    assert task["id"] in [t["id"] for t in http.get(base, params={"status": "completed"}, headers=headers).json()]
    assert http.delete(f"{base}/{task['id']}", headers=headers).status_code in (200, 204)
    assert http.get(f"{base}/{task['id']}", headers=headers).status_code == 404


def test_bad_input_gets_a_clear_4xx(http, user_a):
    base, headers = f"/api/{user_a.user_id}/tasks", user_a.headers
    empty = http.post(base, json={"title": "  "}, headers=headers)
    malformed = http.post(base, content=b"{not json", headers={**headers, "Content-Type": "application/json"})
    unknown = http.get(f"{base}/999999999", headers=headers)
    assert empty.status_code == 422 and malformed.status_code in (400, 422) and unknown.status_code == 404


def test_mcp_lists_the_five_tools_and_calls_them_with_a_jwt(mcp, user_a):
    [(_, names)] = mcp(user_a.jwt, ("__list_tools__", {}))
    assert names == TOOLS
    [(err, added)] = mcp(user_a.jwt, ("add_task", {"title": "call the plumber"}))
    assert not err and added["status"] == "created"
    task_id = added["task_id"]
    results = mcp(user_a.jwt,
                  ("update_task", {"task_id": task_id, "title": "call the plumber today"}),
                  ("complete_task", {"task_id": task_id}),
                  ("list_tasks", {"status": "completed"}),
                  ("delete_task", {"task_id": task_id}))
    assert [err for err, _ in results] == [False] * 4, results
    assert results[0][1]["title"] == "call the plumber today"
    assert task_id in [t["id"] for t in results[2][1]]


def _chat(http, user, message, conversation_id=None):
    body = {"message": message}
    if conversation_id is not None:
        body["conversation_id"] = conversation_id
    response = http.post(f"/api/{user.user_id}/chat", json=body, headers=user.headers)
    assert response.status_code == 200, response.text
    data = response.json()
    assert set(data) >= {"conversation_id", "response", "tool_calls"}, data
    return data, response.headers.get("x-served-by")


def test_chat_manages_tasks_by_natural_phrasing_across_replicas(http, user_b, figures, backend_replicated):
    # A release whose HPA starts at one backend (the chart's default) gets a second one for this test.
    figures["chat_backend_arranged"] = backend_replicated.changed or "as deployed"
    served_by = set()
    first, pod = _chat(http, user_b, "add buy milk")
    served_by.add(pod)
    conversation = first["conversation_id"]
    assert [c["name"] for c in first["tool_calls"]] == ["add_task"]
    steps = [
        ("add call mom", "add_task"),
        ("what's left to do?", "list_tasks"),
        ("mark the milk one done", "complete_task"),
        ("rename call mom to call mom tonight", "update_task"),
        ("delete the milk task", "delete_task"),
    ]
    for message, tool in steps:
        data, pod = _chat(http, user_b, message, conversation)
        served_by.add(pod)
        assert data["conversation_id"] == conversation
        assert tool in [c["name"] for c in data["tool_calls"]], f"{message!r} → {data}"
    tasks = http.get(f"/api/{user_b.user_id}/tasks", headers=user_b.headers).json()
    titles = {t["title"] for t in tasks}
    assert "call mom tonight" in titles and "buy milk" not in titles
    # More turns until a second replica has served this conversation (the backend runs >= 2 replicas).
    for _ in range(20):
        if len(served_by - {None}) > 1:
            break
        _, pod = _chat(http, user_b, "what's left to do?", conversation)
        served_by.add(pod)
    figures["chat_replicas_seen"] = len(served_by - {None})
    assert len(served_by - {None}) > 1, f"one conversation should be served by several replicas; saw {served_by}"
