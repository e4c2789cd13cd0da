"""Input a hostile client would send, against a real server on real PostgreSQL: every answer is a JSON 4xx
(never a 5xx), carries X-Request-ID and X-Served-By, and never echoes SQL, parameters or a stack trace."""

from __future__ import annotations

import json
import socket
import time

import httpx
import pytest
from fastapi import FastAPI

from backend_testkit.servers import ThreadedServer
from backend_testkit.tokens import hs256_token
from conftest import make_settings
from todo_backend.main import create_app

MCP_HEADERS = {"accept": "application/json, text/event-stream", "content-type": "application/json"}
LEAK_MARKERS = ("SQL", "INSERT", "UPDATE tasks", "parameters", "psycopg", "Traceback", "sqlalchemy")
UNSTORABLE = ["a\u0000b", "\ud800 lone surrogate", "bell \u0007", "escape \u001b[31m", "del \u007f"]


def fresh(base_url: str, user: str) -> httpx.Client:
    """A new connection per hostile request, so one refused request cannot hide the next one's answer."""
    return httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {hs256_token(user)}"}, timeout=30,
                        trust_env=False)


def post_raw(base_url: str, user: str, path: str, body: bytes, headers: dict[str, str] | None = None) -> httpx.Response:
    with fresh(base_url, user) as client:
        return client.post(path, content=body, headers={"content-type": "application/json", **(headers or {})})


def assert_clean_4xx(response: httpx.Response, *statuses: int) -> None:
    assert response.status_code in statuses, f"{response.status_code}: {response.text[:300]}"
    assert response.headers["content-type"].startswith("application/json"), response.headers
    assert response.headers.get("x-request-id") and response.headers.get("x-served-by"), response.headers
    assert not any(marker in response.text for marker in LEAK_MARKERS), response.text


def mcp_call(tool: str, arguments: dict) -> bytes:
    message = {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": tool, "arguments": arguments}}
    return json.dumps(message).encode()  # ensure_ascii: a lone surrogate travels as a \ud800 escape


@pytest.mark.parametrize("text", UNSTORABLE, ids=["nul", "surrogate", "bell", "escape", "del"])
def test_unstorable_text_is_422_in_tasks_and_chat(hs_server, user, text):
    for path, body in [
        (f"/api/{user}/tasks", {"title": text}),
        (f"/api/{user}/tasks", {"title": "ok", "description": text}),
        (f"/api/{user}/chat", {"message": f"add {text}"}),
    ]:
        response = post_raw(hs_server.url, user, path, json.dumps(body).encode())
        assert_clean_4xx(response, 422)
        assert "not allowed" in response.json()["detail"]
    with fresh(hs_server.url, user) as client:
        created = client.post(f"/api/{user}/tasks", json={"title": "fine"}).json()
        assert_clean_4xx(client.patch(f"/api/{user}/tasks/{created['id']}", content=json.dumps({"title": text}),
                                      headers={"content-type": "application/json"}), 422)
        assert [t["title"] for t in client.get(f"/api/{user}/tasks").json()] == ["fine"]


@pytest.mark.parametrize("text", UNSTORABLE, ids=["nul", "surrogate", "bell", "escape", "del"])
def test_unstorable_text_in_mcp_arguments_is_a_tool_error_without_sql(hs_server, user, text):
    for tool, arguments in [("add_task", {"title": text}), ("add_task", {"title": "ok", "description": text}),
                            ("update_task", {"task_id": 1, "title": text})]:
        response = post_raw(hs_server.url, user, "/mcp", mcp_call(tool, arguments), MCP_HEADERS)
        assert not any(marker in response.text for marker in LEAK_MARKERS), response.text
        if "\ud800" in text:
            # mcp 2 parses JSON-RPC strictly: an escaped lone surrogate is a parse error before any tool runs.
            assert response.status_code == 400 and response.json()["error"]["code"] == -32700, response.text
            continue
        assert response.status_code == 200, response.text
        result = response.json()["result"]
        assert result["isError"] is True
        assert "not allowed" in result["content"][0]["text"]


def test_a_database_error_inside_a_tool_is_reported_without_the_statement(hs_server, user, monkeypatch):
    """Whatever slips past validation and fails in PostgreSQL comes back as "internal error (request id …)"."""
    store = hs_server.app.state.tasks
    original = store.create

    def create_raw(user_id, title, description=None):  # bypass the edge validation, as a future bug would
        return original(user_id, "nul \u0000 reaches the database", description)

    monkeypatch.setattr(store, "create", create_raw)
    response = post_raw(hs_server.url, user, "/mcp", mcp_call("add_task", {"title": "x"}), MCP_HEADERS)
    result = response.json()["result"]
    assert result["isError"] is True
    assert "Internal error (request id" in result["content"][0]["text"]
    assert not any(marker in response.text for marker in LEAK_MARKERS), response.text


def test_rest_database_refusal_is_422_without_the_statement(hs_server, user, monkeypatch):
    store = hs_server.app.state.tasks
    original = store.create
    monkeypatch.setattr(store, "create", lambda user_id, title, description=None: original(user_id, "\u0000", None))
    assert_clean_4xx(post_raw(hs_server.url, user, f"/api/{user}/tasks", b'{"title": "x"}'), 422)


@pytest.mark.parametrize("path", ["/mcp", "/api/{user}/tasks", "/api/{user}/chat"])
@pytest.mark.parametrize("depth", [33, 5000, 30000])
def test_deeply_nested_json_is_400_before_parsing(hs_server, user, path, depth):
    body = b'{"title": ' + b"[" * depth + b"]" * depth + b"}"
    response = post_raw(hs_server.url, user, path.format(user=user), body, MCP_HEADERS)
    assert_clean_4xx(response, 400, 413)
    if len(body) <= 65536:
        assert response.status_code == 400 and "nested too deeply" in response.json()["detail"]


def test_nesting_inside_strings_does_not_count(hs_server, user):
    response = post_raw(hs_server.url, user, f"/api/{user}/tasks", json.dumps({"title": "[" * 60 + '\\"{' * 40}).encode())
    assert response.status_code == 201, response.text


def test_oversized_body_is_413_even_without_content_length(hs_server, user):
    def chunks():
        for _ in range(40):
            yield b" " * 4096

    with fresh(hs_server.url, user) as client:
        response = client.post(f"/api/{user}/tasks", content=chunks(), headers={"content-type": "application/json"})
    assert_clean_4xx(response, 413)


@pytest.mark.parametrize("size", [20_000, 200_000])
def test_oversized_header_is_431(hs_server, user, size):
    with fresh(hs_server.url, user) as client:
        response = client.get(f"/api/{user}/tasks", headers={"x-padding": "a" * size})
    assert_clean_4xx(response, 431)


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", ""])
def test_wrong_content_type_on_mcp_is_json_415(hs_server, user, content_type):
    response = post_raw(hs_server.url, user, "/mcp", b"{}", {**MCP_HEADERS, "content-type": content_type})
    assert_clean_4xx(response, 415)


def test_mcp_protocol_errors_are_json(hs_server, user):
    not_acceptable = post_raw(hs_server.url, user, "/mcp", mcp_call("list_tasks", {}), {"accept": "text/html"})
    assert_clean_4xx(not_acceptable, 406)
    with fresh(hs_server.url, user) as client:
        for response in (client.delete("/mcp"), client.put("/mcp", content=b"{}")):
            assert_clean_4xx(response, 405)
    assert_clean_4xx(post_raw(hs_server.url, user, "/mcp", b"{not json", MCP_HEADERS), 400)


@pytest.fixture
def failing_server(database_url):
    """The real app with one extra route that fails the way a bug would."""
    app: FastAPI = create_app(make_settings(database_url), served_by="boom-pod")

    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError("secret detail: SELECT * FROM tasks")

    server = ThreadedServer(app).start()
    yield server
    server.stop()


def test_a_500_carries_request_id_and_served_by_and_no_detail(failing_server):
    response = httpx.get(f"{failing_server.url}/boom", headers={"x-request-id": "trace-me-42"}, trust_env=False)
    assert response.status_code == 500
    assert response.headers["x-request-id"] == "trace-me-42"
    assert response.headers["x-served-by"] == "boom-pod"
    assert response.json() == {"detail": "Internal server error", "request_id": "trace-me-42"}


@pytest.fixture
def stream_server(database_url):
    server = ThreadedServer(create_app(make_settings(database_url, mcp_stream_idle_seconds=1.0, mcp_streams_per_user=2))).start()
    yield server
    server.stop()


def test_get_mcp_stream_closes_when_idle(stream_server, user):
    started = time.monotonic()
    with fresh(stream_server.url, user) as client:
        with client.stream("GET", "/mcp", headers={"accept": "text/event-stream"}, timeout=10) as response:
            assert response.status_code == 200
            body = b"".join(response.iter_bytes())
    elapsed = time.monotonic() - started
    assert 0.9 <= elapsed < 5, f"the idle stream lasted {elapsed:.2f}s (idle limit 1 s)"
    assert b"data:" not in body


def test_get_mcp_streams_are_capped_per_user(stream_server, user, other_user):
    """Two streams open for `user`: the third is a JSON 429 with Retry-After; another user still gets one."""
    def open_stream(who: str) -> socket.socket:
        sock = socket.create_connection(("127.0.0.1", stream_server.port))
        sock.sendall(f"GET /mcp HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {hs256_token(who)}\r\n"
                     "Accept: text/event-stream\r\n\r\n".encode())
        assert sock.recv(4096).startswith(b"HTTP/1.1 200")
        return sock

    held = [open_stream(user), open_stream(user)]
    try:
        with fresh(stream_server.url, user) as client:
            third = client.get("/mcp", headers={"accept": "text/event-stream"})
        assert_clean_4xx(third, 429)
        assert int(third.headers["retry-after"]) >= 1
        held.append(open_stream(other_user))
    finally:
        for sock in held:
            sock.close()
    time.sleep(1.5)  # the idle limit has ended every stream: the user may open one again
    held = [open_stream(user)]
    held[0].close()


@pytest.mark.parametrize("path", ["/mcp", "/api/{user}/tasks", "/api/{user}/chat"])
@pytest.mark.parametrize("body", [b'{"title": "\xff\xfe", "message": "\xc3"}', b'\xef\xbb\xbf{"title": 1e999999}', b"\x00" * 64],
                         ids=["invalid-utf8", "bom-and-huge-number", "nul-bytes"])
def test_malformed_bytes_are_a_json_4xx(hs_server, user, path, body):
    response = post_raw(hs_server.url, user, path.format(user=user), body, MCP_HEADERS)
    assert response.status_code < 500, f"{response.status_code}: {response.text[:300]}"
    assert response.headers["content-type"].startswith("application/json")
    assert response.headers.get("x-request-id") and response.headers.get("x-served-by")
