"""Backend test fixtures: one real PostgreSQL for the session (migrated with the real command), real uvicorn
servers in both auth modes, and per-test user ids so tests never see each other's rows."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator

import httpx
import pytest

from backend_testkit.postgres import PostgresServer, start_postgres
from backend_testkit.servers import ThreadedServer
from backend_testkit.tokens import HS_SECRET, JwksServer, SigningKey, hs256_token
from todo_backend.main import create_app
from todo_backend.settings import Settings


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    server = start_postgres()
    yield server
    server.stop()


def run_migrations(database_url: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": database_url, "AUTH_MODE": "hs256", "AUTH_JWT_SECRET": HS_SECRET}
    return subprocess.run([sys.executable, "-m", "todo_backend.migrate"], env=env, capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="session")
def database_url(postgres: PostgresServer) -> str:
    url = postgres.create_database("todo_test")
    result = run_migrations(url)
    assert result.returncode == 0, f"migrations failed:\n{result.stdout}\n{result.stderr}"
    return url


def make_settings(database_url: str, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "database_url": database_url,
        "auth_mode": "hs256",
        "auth_jwt_secret": HS_SECRET,
        "log_level": "WARNING",
        **overrides,
    }
    return Settings(**values)  # type: ignore[arg-type]


def start_app_server(settings_factory) -> ThreadedServer:  # type: ignore[no-untyped-def]
    """Start a threaded uvicorn whose MCP_SELF_URL points at its own port."""
    from backend_testkit.net import free_port

    port = free_port()
    settings = settings_factory(mcp_self_url=f"http://127.0.0.1:{port}/mcp")
    return ThreadedServer(create_app(settings), port=port).start()


@pytest.fixture(scope="session")
def hs_server(database_url: str) -> Iterator[ThreadedServer]:
    server = start_app_server(lambda **kw: make_settings(database_url, **kw))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def jwks_keys() -> dict[str, SigningKey]:
    return {"ed": SigningKey.ed25519("ed-1"), "rsa": SigningKey.rsa("rsa-1")}


@pytest.fixture(scope="session")
def jwks_server(jwks_keys: dict[str, SigningKey]) -> Iterator[JwksServer]:
    server = JwksServer(keys=[jwks_keys["ed"], jwks_keys["rsa"]]).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def jwks_app_server(database_url: str, jwks_server: JwksServer) -> Iterator[ThreadedServer]:
    server = start_app_server(
        lambda **kw: make_settings(
            database_url,
            auth_mode="jwks",
            auth_jwt_secret=None,
            auth_jwks_url=jwks_server.url,
            auth_jwks_min_refresh_seconds=0.5,
            **kw,
        )
    )
    yield server
    server.stop()


@pytest.fixture
def user() -> str:
    return f"user-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def other_user() -> str:
    return f"other-{uuid.uuid4().hex[:12]}"


class Api:
    """A tiny client for one user against one server."""

    def __init__(self, base_url: str, user_id: str, token: str) -> None:
        self.base_url = base_url
        self.user_id = user_id
        self.client = httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {token}"}, timeout=30, trust_env=False)

    def tasks(self, suffix: str = "") -> str:
        return f"/api/{self.user_id}/tasks{suffix}"

    def create(self, title: str, description: str | None = None) -> dict:
        response = self.client.post(self.tasks(), json={"title": title, "description": description})
        assert response.status_code == 201, response.text
        return response.json()

    def chat(self, message: str, conversation_id: int | None = None) -> httpx.Response:
        body: dict[str, object] = {"message": message}
        if conversation_id is not None:
            body["conversation_id"] = conversation_id
        return self.client.post(f"/api/{self.user_id}/chat", json=body)


@pytest.fixture
def api(hs_server: ThreadedServer, user: str) -> Iterator[Api]:
    client = Api(hs_server.url, user, hs256_token(user))
    yield client
    client.client.close()


@pytest.fixture
def other_api(hs_server: ThreadedServer, other_user: str) -> Iterator[Api]:
    client = Api(hs_server.url, other_user, hs256_token(other_user))
    yield client
    client.client.close()
