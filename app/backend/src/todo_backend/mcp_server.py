"""The MCP tool server (official `mcp` SDK, FastMCP), stateless streamable HTTP at /mcp.

Stateless + JSON responses: any replica can answer any request, no session affinity needed.
`McpEndpoint` authenticates the bearer token before the SDK sees the request and records the verified
user on the ASGI scope; tools read it from there (via the request the SDK hands them), never from arguments.
"""

from __future__ import annotations

import json
from contextvars import ContextVar
from typing import Any, Literal

import anyio.to_thread
from mcp.server.fastmcp import Context, FastMCP
from mcp.server.fastmcp.exceptions import ToolError
from mcp.server.transport_security import TransportSecuritySettings
from mcp.types import CallToolResult, TextContent
from starlette.exceptions import HTTPException
from starlette.types import Receive, Scope, Send

from .api.schemas import clean_description, clean_title
from .auth import TokenVerifier
from .models import Task
from .tasks import TaskNotFound, TaskStore

SCOPE_USER_KEY = "todo_user_id"
# Fallback for transports without an HTTP request (the SDK's in-memory transport in tests).
current_user_var: ContextVar[str | None] = ContextVar("mcp_current_user", default=None)


def _user_id(ctx: Context) -> str:
    request = getattr(ctx.request_context, "request", None)
    user_id = request.scope.get(SCOPE_USER_KEY) if request is not None else None
    user_id = user_id or current_user_var.get()
    if not user_id:
        raise ToolError("Not authenticated")
    return user_id


def _result(payload: Any) -> CallToolResult:
    structured = payload if isinstance(payload, dict) else {"result": payload}
    return CallToolResult(content=[TextContent(type="text", text=json.dumps(payload))], structuredContent=structured)


def _summary(task: Task, status: str) -> dict[str, Any]:
    return {"task_id": task.id, "status": status, "title": task.title}


def _validated(fn, value):  # type: ignore[no-untyped-def]
    try:
        return fn(value)
    except ValueError as exc:
        raise ToolError(str(exc)) from None


def build_mcp_server(store: TaskStore) -> FastMCP:
    mcp = FastMCP(
        name="todo",
        instructions="Manage the signed-in user's todo list: add, list, complete, update and delete tasks.",
        stateless_http=True,
        json_response=True,
        streamable_http_path="/mcp",
        # Bearer auth protects this endpoint; Host-header pinning would break Service/Ingress names.
        transport_security=TransportSecuritySettings(enable_dns_rebinding_protection=False),
    )

    async def run(fn, *args, **kwargs):  # type: ignore[no-untyped-def]
        try:
            return await anyio.to_thread.run_sync(lambda: fn(*args, **kwargs))
        except TaskNotFound as exc:
            raise ToolError(str(exc)) from None

    @mcp.tool()
    async def add_task(title: str, ctx: Context, description: str | None = None) -> CallToolResult:
        """Create a task for the user. Returns {task_id, status: "created", title}."""
        title = _validated(clean_title, title)
        description = _validated(clean_description, description)
        task = await run(store.create, _user_id(ctx), title, description)
        return _result(_summary(task, "created"))

    @mcp.tool()
    async def list_tasks(ctx: Context, status: Literal["all", "pending", "completed"] = "all") -> CallToolResult:
        """List the user's tasks, optionally only "pending" or "completed". Returns [{id, title, completed}]."""
        tasks = await run(store.list, _user_id(ctx), status)
        return _result([{"id": t.id, "title": t.title, "completed": t.completed} for t in tasks])

    @mcp.tool()
    async def complete_task(task_id: int, ctx: Context) -> CallToolResult:
        """Mark a task as completed. Returns {task_id, status: "completed", title}."""
        task = await run(store.set_completed, _user_id(ctx), task_id, True)
        return _result(_summary(task, "completed"))

    @mcp.tool()
    async def delete_task(task_id: int, ctx: Context) -> CallToolResult:
        """Delete a task. Returns {task_id, status: "deleted", title}."""
        task = await run(store.delete, _user_id(ctx), task_id)
        return _result(_summary(task, "deleted"))

    @mcp.tool()
    async def update_task(
        task_id: int, ctx: Context, title: str | None = None, description: str | None = None
    ) -> CallToolResult:
        """Change a task's title and/or description. Returns {task_id, status: "updated", title}."""
        changes: dict[str, Any] = {}
        if title is not None:
            changes["title"] = _validated(clean_title, title)
        if description is not None:
            changes["description"] = _validated(clean_description, description)
        if not changes:
            raise ToolError("Nothing to update: give a new title and/or description")
        task = await run(store.update, _user_id(ctx), task_id, **changes)
        return _result(_summary(task, "updated"))

    mcp.streamable_http_app()  # creates the session manager; its run() lives in the FastAPI lifespan
    return mcp


class McpEndpoint:
    """ASGI endpoint for /mcp: JWT first (401 JSON without a valid token), then the SDK's stateless handler."""

    def __init__(self, mcp: FastMCP, verifier: TokenVerifier) -> None:
        self.mcp = mcp
        self.verifier = verifier

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = dict(scope["headers"])
        authorization = headers.get(b"authorization", b"").decode("latin-1") or None
        try:
            principal = await self.verifier.verify(authorization)
        except HTTPException as exc:
            await _send_json_with_headers(send, exc.status_code, {"detail": exc.detail}, exc.headers or {})
            return
        scope[SCOPE_USER_KEY] = principal.user_id
        token = current_user_var.set(principal.user_id)
        try:
            await self.mcp.session_manager.handle_request(scope, receive, send)
        finally:
            current_user_var.reset(token)


async def _send_json_with_headers(send: Send, status: int, body: dict[str, Any], headers: dict[str, str]) -> None:
    payload = json.dumps(body).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())]
            + [(k.lower().encode(), v.encode()) for k, v in headers.items()],
        }
    )
    await send({"type": "http.response.body", "body": payload})
