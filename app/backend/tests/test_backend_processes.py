"""Separate uvicorn processes sharing one database: conversation continuity across instances, graceful
shutdown on SIGTERM, the migration command and refusing to start on a bad configuration."""

from __future__ import annotations

import os
import subprocess
import sys

import httpx
import pytest

from backend_testkit.servers import ProcessServer
from backend_testkit.tokens import HS_SECRET, hs256_token
from conftest import run_migrations


@pytest.fixture(scope="module")
def two_instances(database_url):  # type: ignore[no-untyped-def]
    env = {"DATABASE_URL": database_url, "AUTH_MODE": "hs256", "AUTH_JWT_SECRET": HS_SECRET, "LOG_LEVEL": "WARNING"}
    first, second = ProcessServer(env).start(), ProcessServer(env).start()
    yield first, second
    for server in (first, second):
        server.stop()


def _chat(server, user, message, conversation_id=None):  # type: ignore[no-untyped-def]
    body = {"message": message, **({"conversation_id": conversation_id} if conversation_id else {})}
    response = httpx.post(
        f"{server.url}/api/{user}/chat", json=body, headers={"Authorization": f"Bearer {hs256_token(user)}"},
        trust_env=False, timeout=30,
    )
    assert response.status_code == 200, response.text
    return response.json()


def test_conversation_continues_on_another_instance(two_instances, user):
    first, second = two_instances
    a = _chat(first, user, "add buy milk")
    cid = a["conversation_id"]
    _chat(second, user, "add buy oat milk", cid)
    listed = _chat(first, user, "show my tasks", cid)
    assert "2. ○ buy oat milk" in listed["response"]
    # The list was shown by the first instance; "task 2" is resolved by the second from the stored history.
    done = _chat(second, user, "complete task 2", cid)
    assert done["tool_calls"][-1]["result"]["title"] == "buy oat milk"
    # A pending confirmation asked by one instance is confirmed on the other.
    asked = _chat(second, user, "delete everything about milk", cid)
    assert "Delete all of them?" in asked["response"]
    confirmed = _chat(first, user, "yes", cid)
    assert [c["name"] for c in confirmed["tool_calls"]] == ["delete_task", "delete_task"]
    empty = _chat(second, user, "show my tasks", cid)
    assert empty["conversation_id"] == cid and "empty" in empty["response"]


def test_sigterm_shuts_down_gracefully(database_url):
    env = {"DATABASE_URL": database_url, "AUTH_MODE": "hs256", "AUTH_JWT_SECRET": HS_SECRET, "LOG_LEVEL": "INFO"}
    server = ProcessServer(env).start()
    assert httpx.get(f"{server.url}/readyz", trust_env=False).status_code == 200
    # uvicorn finishes in-flight requests and the lifespan shutdown, then re-raises SIGTERM (exit -15).
    assert server.stop() in (0, -15)
    output = server.output()
    assert "backend stopped" in output, output[-2000:]


def test_migrations_are_idempotent(database_url):
    again = run_migrations(database_url)
    assert again.returncode == 0, again.stderr
    import psycopg

    with psycopg.connect(database_url) as conn:
        assert conn.execute("SELECT version_num FROM todo_alembic_version").fetchone()[0] == "0001_initial"
        tables = {row[0] for row in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")}
    assert {"tasks", "conversations", "messages"} <= tables


def _clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "AUTH_", "CHAT_", "OPENAI_"))}


@pytest.mark.parametrize(
    "env, variable",
    [
        ({"AUTH_MODE": "hs256", "AUTH_JWT_SECRET": HS_SECRET}, "DATABASE_URL"),
        ({"DATABASE_URL": "postgresql://x@127.0.0.1/db", "AUTH_MODE": "hs256", "AUTH_JWT_SECRET": "short"}, "AUTH_JWT_SECRET"),
        ({"DATABASE_URL": "postgresql://x@127.0.0.1/db", "AUTH_MODE": "hs256"}, "AUTH_JWT_SECRET"),
        ({"DATABASE_URL": "postgresql://x@127.0.0.1/db"}, "AUTH_JWKS_URL"),
        ({"DATABASE_URL": "postgresql://x@127.0.0.1/db", "AUTH_MODE": "magic"}, "AUTH_MODE"),
    ],
)
def test_refuses_to_start_naming_the_variable(env, variable):
    command = [sys.executable, "-m", "uvicorn", "todo_backend.main:app", "--port", "1"]
    result = subprocess.run(command, env={**_clean_env(), **env}, capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert variable in result.stderr + result.stdout, result.stderr[-2000:]


def test_migrate_refuses_without_database_url():
    env = {**_clean_env(), "AUTH_MODE": "hs256", "AUTH_JWT_SECRET": HS_SECRET}
    result = subprocess.run([sys.executable, "-m", "todo_backend.migrate"], env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode != 0 and "DATABASE_URL is not set" in result.stderr


def test_startup_modules_lists_what_the_server_loads():
    """The image precompiles exactly this list (dockerfiles/backend.Dockerfile); it must run without a database
    and name the modules the server really loads, or the image would start from sources."""
    result = subprocess.run([sys.executable, "-m", "todo_backend.startup_modules"], env=_clean_env(),
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    files = result.stdout.split()
    for needed in ("uvicorn/protocols/http/httptools_impl.py", "uvicorn/loops/uvloop.py", "psycopg/__init__.py",
                   "sqlalchemy/dialects/postgresql/psycopg.py", "todo_backend/main.py", "agents/mcp/__init__.py"):
        assert any(f.endswith(needed) for f in files), needed
