"""The MCP tools through the official MCP client over streamable HTTP, against a real uvicorn server."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import httpx2
import pytest
from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client

from backend_testkit.tokens import hs256_token


async def _session_calls(url: str, token: str, calls: list[tuple[str, dict[str, Any]]]) -> list[tuple[bool, Any]]:
    results: list[tuple[bool, Any]] = []
    async with httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"}, trust_env=False, timeout=30) as http:
        async with streamable_http_client(url, http_client=http) as (read, write):
            async with ClientSession(read, write) as session:
                await session.initialize()
                for name, arguments in calls:
                    if name == "__list_tools__":
                        tools = await session.list_tools()
                        results.append((False, sorted(t.name for t in tools.tools)))
                        continue
                    result = await session.call_tool(name, arguments)
                    text = result.content[0].text if result.content else ""
                    try:
                        payload = json.loads(text)
                    except json.JSONDecodeError:
                        payload = text
                    results.append((bool(result.is_error), payload))
    return results


def call(url: str, token: str, *calls: tuple[str, dict[str, Any]]) -> list[tuple[bool, Any]]:
    return asyncio.run(_session_calls(url, token, list(calls)))


def test_tools_are_listed(hs_server, user):
    [(_, names)] = call(f"{hs_server.url}/mcp", hs256_token(user), ("__list_tools__", {}))
    assert names == ["add_task", "complete_task", "delete_task", "list_tasks", "update_task"]


def test_all_five_tools_round_trip(hs_server, user, api):
    url, token = f"{hs_server.url}/mcp", hs256_token(user)
    [(err, added)] = call(url, token, ("add_task", {"title": "buy milk", "description": "oat"}))
    assert not err and added["status"] == "created" and added["title"] == "buy milk"
    task_id = added["task_id"]

    results = call(
        url, token,
        ("list_tasks", {}),
        ("update_task", {"task_id": task_id, "title": "buy oat milk"}),
        ("complete_task", {"task_id": task_id}),
        ("list_tasks", {"status": "completed"}),
        ("list_tasks", {"status": "pending"}),
        ("delete_task", {"task_id": task_id}),
        ("list_tasks", {}),
    )
    assert [err for err, _ in results] == [False] * 7
    payloads = [p for _, p in results]
    assert payloads[0] == [{"id": task_id, "title": "buy milk", "completed": False}]
    assert payloads[1] == {"task_id": task_id, "status": "updated", "title": "buy oat milk"}
    assert payloads[2] == {"task_id": task_id, "status": "completed", "title": "buy oat milk"}
    assert payloads[3] == [{"id": task_id, "title": "buy oat milk", "completed": True}]
    assert payloads[4] == []
    assert payloads[5] == {"task_id": task_id, "status": "deleted", "title": "buy oat milk"}
    assert payloads[6] == []
    assert api.client.get(api.tasks()).json() == []  # the REST view agrees


def test_tool_errors_are_reported_not_raised(hs_server, user):
    results = call(
        f"{hs_server.url}/mcp", hs256_token(user),
        ("complete_task", {"task_id": 987654321}),
        ("add_task", {"title": "   "}),
        ("update_task", {"task_id": 1}),
        ("delete_task", {"task_id": "abc"}),
    )
    assert all(err for err, _ in results), results
    assert "not found" in results[0][1]
    assert "title must not be empty" in results[1][1]
    assert "Nothing to update" in results[2][1]


def test_mcp_users_are_isolated(hs_server, user, other_user, api):
    mine = api.create("my private task")
    url = f"{hs_server.url}/mcp"
    results = call(
        url, hs256_token(other_user),
        ("list_tasks", {}),
        ("complete_task", {"task_id": mine["id"]}),
        ("update_task", {"task_id": mine["id"], "title": "hacked"}),
        ("delete_task", {"task_id": mine["id"]}),
        # Tools take no user id: an injected one is ignored, never trusted.
        ("add_task", {"title": "sneaky", "user_id": api.user_id}),
    )
    assert results[0] == (False, [])
    assert all(err and "not found" in payload for err, payload in results[1:4])
    assert api.client.get(api.tasks(f"/{mine['id']}")).json()["title"] == "my private task"
    assert [t["title"] for t in api.client.get(api.tasks()).json()] == ["my private task"]


@pytest.mark.parametrize("header", [None, "Bearer nope", "Basic abc"])
def test_mcp_requires_a_valid_token(hs_server, header):
    headers = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}
    if header:
        headers["Authorization"] = header
    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}}
    response = httpx.post(f"{hs_server.url}/mcp", json=body, headers=headers, trust_env=False)
    assert response.status_code == 401 and response.json()["detail"]
    with pytest.raises(Exception):
        call(f"{hs_server.url}/mcp", "not-a-token", ("list_tasks", {}))


def test_mcp_with_jwks_tokens(jwks_app_server, jwks_keys, user):
    [(err, added), (_, listed)] = call(
        f"{jwks_app_server.url}/mcp", jwks_keys["ed"].token(user),
        ("add_task", {"title": "signed with Ed25519"}), ("list_tasks", {}),
    )
    assert not err and listed == [{"id": added["task_id"], "title": "signed with Ed25519", "completed": False}]


def test_mcp_is_stateless_any_request_stands_alone(hs_server, user):
    """No session id is issued, so any replica can serve the next request."""
    headers = {
        "Accept": "application/json, text/event-stream",
        "Authorization": f"Bearer {hs256_token(user)}",
    }
    call_body = {"jsonrpc": "2.0", "id": 7, "method": "tools/call", "params": {"name": "list_tasks", "arguments": {}}}
    response = httpx.post(f"{hs_server.url}/mcp", json=call_body, headers=headers, trust_env=False)
    assert response.status_code == 200, response.text
    assert "mcp-session-id" not in response.headers
    assert json.loads(response.json()["result"]["content"][0]["text"]) == []


# --- the MCP server starts beside the app, off the path to Ready (mcp_endpoint.py) -------------------------

_TOOLS_LIST = {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}}


def _mcp_headers(user: str) -> dict[str, str]:
    return {"Accept": "application/json, text/event-stream", "Authorization": f"Bearer {hs256_token(user)}"}


def test_importing_the_app_leaves_the_mcp_sdk_for_after_start():
    """The SDK's import is most of a replacement pod's start: the app module must not pay it."""
    import subprocess
    import sys

    probe = "import sys, todo_backend.main; print(sorted(m for m in sys.modules if m == 'mcp' or m.startswith('mcp.')))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True)
    assert out.stdout.strip() == "[]", out.stdout


def test_an_mcp_request_during_the_servers_start_waits_and_is_answered(database_url, user, monkeypatch):
    import time

    from conftest import make_settings, start_app_server
    from todo_backend import main

    built = main._build_mcp_server

    def slow_build(store):  # type: ignore[no-untyped-def]
        time.sleep(1.5)
        return built(store)

    monkeypatch.setattr(main, "_build_mcp_server", slow_build)
    server = start_app_server(lambda **kw: make_settings(database_url, **kw))
    try:
        begun = time.monotonic()
        assert httpx.get(f"{server.url}/healthz", trust_env=False).status_code == 200  # the app answers meanwhile
        response = httpx.post(f"{server.url}/mcp", json=_TOOLS_LIST, headers=_mcp_headers(user), trust_env=False, timeout=30)
        waited = time.monotonic() - begun
        assert response.status_code == 200, response.text
        assert sorted(t["name"] for t in response.json()["result"]["tools"])[0] == "add_task"
        assert waited >= 0.5, f"answered after {waited:.2f}s: the request did not wait for the slow start"
    finally:
        server.stop()


def test_an_mcp_server_that_cannot_start_answers_503_json_and_the_app_stays_up(database_url, user, monkeypatch):
    from conftest import make_settings, start_app_server
    from todo_backend import main

    def broken_build(store):  # type: ignore[no-untyped-def]
        raise RuntimeError("secret internal detail /opt/venv/lib")

    monkeypatch.setattr(main, "_build_mcp_server", broken_build)
    server = start_app_server(lambda **kw: make_settings(database_url, **kw))
    try:
        response = httpx.post(f"{server.url}/mcp", json=_TOOLS_LIST, headers=_mcp_headers(user), trust_env=False, timeout=30)
        assert response.status_code == 503 and response.headers["retry-after"] == "1"
        assert "failed to start" in response.json()["detail"] and "secret" not in response.text
        assert response.headers.get("x-request-id")
        unauthenticated = httpx.post(f"{server.url}/mcp", json=_TOOLS_LIST, trust_env=False)
        assert unauthenticated.status_code == 401  # the token is checked first, as always
        assert httpx.get(f"{server.url}/healthz", trust_env=False).status_code == 200
    finally:
        server.stop()
