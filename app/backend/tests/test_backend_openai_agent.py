"""CHAT_AGENT=openai: the OpenAI Agents SDK agent, its model replaced by a tiny local OpenAI-compatible
server that scripts one tool call. Proves the SDK reaches our tools over MCP with the user's token."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

from backend_testkit.net import free_port
from backend_testkit.servers import ThreadedServer
from backend_testkit.tokens import hs256_token
from conftest import make_settings
from todo_backend.main import create_app


class ScriptedModel:
    """First call: ask for add_task; after the tool result: answer with text quoting it."""

    def __init__(self) -> None:
        self.port = free_port()
        self.requests: list[dict[str, Any]] = []

    def reply(self, body: dict[str, Any]) -> dict[str, Any]:
        self.requests.append(body)
        tool_results = [m for m in body.get("messages", []) if m.get("role") == "tool"]
        if not tool_results:
            message = {
                "role": "assistant",
                "content": None,
                "tool_calls": [{
                    "id": "call_1", "type": "function",
                    "function": {"name": "add_task", "arguments": json.dumps({"title": "buy milk"})},
                }],
            }
            finish = "tool_calls"
        else:
            message = {"role": "assistant", "content": f"Done: {tool_results[-1]['content']}"}
            finish = "stop"
        return {
            "id": "chatcmpl-test", "object": "chat.completion", "created": 0, "model": body.get("model", "test"),
            "choices": [{"index": 0, "message": message, "finish_reason": finish}],
            "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
        }

    def start(self) -> "ScriptedModel":
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                payload = json.dumps(owner.reply(body)).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        return self


@pytest.fixture
def openai_server(database_url):  # type: ignore[no-untyped-def]
    model = ScriptedModel().start()
    port = free_port()
    settings = make_settings(
        database_url,
        chat_agent="openai",
        openai_api_key="sk-test-not-a-real-key",
        openai_base_url=f"http://127.0.0.1:{model.port}/v1",
        openai_model="scripted",
        mcp_self_url=f"http://127.0.0.1:{port}/mcp",
    )
    server = ThreadedServer(create_app(settings), port=port).start()
    yield server, model
    server.stop()
    model.httpd.shutdown()
    model.httpd.server_close()  # shutdown() only stops the loop; the listening socket was a ResourceWarning


def test_openai_agent_calls_tools_through_mcp(openai_server, user):
    server, model = openai_server
    token = hs256_token(user)
    response = httpx.post(
        f"{server.url}/api/{user}/chat", json={"message": "please remember milk"},
        headers={"Authorization": f"Bearer {token}"}, trust_env=False, timeout=60,
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["tool_calls"][0]["name"] == "add_task"
    assert body["tool_calls"][0]["arguments"] == {"title": "buy milk"}
    assert body["tool_calls"][0]["result"]["status"] == "created", body
    assert body["response"].startswith("Done:")
    # The model was offered exactly our five MCP tools.
    offered = sorted(t["function"]["name"] for t in model.requests[0]["tools"])
    assert offered == ["add_task", "complete_task", "delete_task", "list_tasks", "update_task"]
    tasks = httpx.get(f"{server.url}/api/{user}/tasks", headers={"Authorization": f"Bearer {token}"}, trust_env=False)
    assert [t["title"] for t in tasks.json()] == ["buy milk"]

    # The next turn sends the stored history back to the model.
    again = httpx.post(
        f"{server.url}/api/{user}/chat", json={"message": "and again", "conversation_id": body["conversation_id"]},
        headers={"Authorization": f"Bearer {token}"}, trust_env=False, timeout=60,
    )
    assert again.status_code == 200
    contents = [m.get("content") for m in model.requests[-2]["messages"]]
    assert "please remember milk" in contents and "and again" in contents
