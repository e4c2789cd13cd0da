"""Readiness reports the database being down as 503 with a reason, and the process keeps serving /healthz."""

from __future__ import annotations

import socket
import time

import httpx

from backend_testkit.net import free_port
from backend_testkit.servers import ThreadedServer
from conftest import make_settings
from todo_backend.main import create_app


def test_readyz_is_503_with_reason_when_database_is_unreachable():
    dead = f"postgresql://nobody@127.0.0.1:{free_port()}/none"
    server = ThreadedServer(create_app(make_settings(dead, database_connect_timeout_seconds=1))).start()
    try:
        ready = httpx.get(f"{server.url}/readyz", trust_env=False, timeout=10)
        assert ready.status_code == 503
        assert ready.json()["status"] == "unavailable" and "database" in ready.json()["reason"]
        assert httpx.get(f"{server.url}/healthz", trust_env=False).status_code == 200
    finally:
        server.stop()


def test_readyz_answers_within_its_timeout_while_the_database_accepts_but_never_answers():
    # A listener whose connections get no reply: what a database behind a Service looks like while its pod goes away.
    silent = socket.create_server(("127.0.0.1", 0))
    dead = f"postgresql://nobody@127.0.0.1:{silent.getsockname()[1]}/none"
    server = ThreadedServer(create_app(make_settings(dead, database_connect_timeout_seconds=10,
                                                     readiness_timeout_seconds=0.5))).start()
    try:
        for _ in range(3):  # the later probes share the ping still in flight, and answer as quickly
            began = time.monotonic()
            ready = httpx.get(f"{server.url}/readyz", trust_env=False, timeout=10)
            took = time.monotonic() - began
            assert ready.status_code == 503 and ready.json()["reason"] == "database: no answer within 0.5 s", ready.text
            assert took < 2, f"/readyz took {took:.1f}s with a 0.5 s readiness timeout"
    finally:
        server.stop()
        silent.close()


def test_task_requests_are_503_not_500_when_the_database_is_unreachable():
    from backend_testkit.tokens import hs256_token

    dead = f"postgresql://nobody@127.0.0.1:{free_port()}/none"
    server = ThreadedServer(create_app(make_settings(dead, database_connect_timeout_seconds=1))).start()
    try:
        response = httpx.get(f"{server.url}/api/someone/tasks", headers={"Authorization": f"Bearer {hs256_token('someone')}"},
                             trust_env=False, timeout=10)
        assert response.status_code == 503, f"{response.status_code} {response.text}"
        assert response.headers["retry-after"] and "database" in response.json()["reason"]
        assert response.headers["x-served-by"]
    finally:
        server.stop()


def test_chat_is_503_not_500_when_the_tool_server_is_unreachable(database_url, user):
    from backend_testkit.tokens import hs256_token

    settings = make_settings(database_url, mcp_self_url=f"http://127.0.0.1:{free_port()}/mcp")
    server = ThreadedServer(create_app(settings)).start()
    try:
        response = httpx.post(
            f"{server.url}/api/{user}/chat", json={"message": "show my tasks"},
            headers={"Authorization": f"Bearer {hs256_token(user)}"}, trust_env=False, timeout=60,
        )
        assert response.status_code == 503 and "unavailable" in response.json()["detail"]
    finally:
        server.stop()
