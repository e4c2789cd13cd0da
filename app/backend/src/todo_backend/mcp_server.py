"""The MCP tool server (official `mcp` SDK, MCPServer), stateless streamable HTTP at /mcp.

Stateless + JSON responses: any replica can answer any request, no session affinity needed.
`McpEndpoint` authenticates the bearer token before the SDK sees the request and records the verified
user on the ASGI scope; tools read it from there (via the request the SDK hands them), never from arguments.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from contextvars import ContextVar
from typing import Any, Literal

import anyio.to_thread
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.transport_security import TransportSecuritySettings
from mcp.types import CallToolResult, TextContent
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException
from starlette.types import Message, Receive, Scope, Send

from .api.schemas import clean_description, clean_title
from .auth import TokenVerifier
from .errors import JwksUnavailable
from .logs import request_id_var
from .middleware import send_json
from .models import Task
from .tasks import TaskNotFound, TaskStore

log = logging.getLogger("todo_backend.mcp")
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


def build_mcp_server(store: TaskStore) -> MCPServer:
    mcp = MCPServer(
        name="todo",
        instructions="Manage the signed-in user's todo list: add, list, complete, update and delete tasks.",
    )

    async def run(fn, *args, **kwargs):  # type: ignore[no-untyped-def]
        try:
            return await anyio.to_thread.run_sync(lambda: fn(*args, **kwargs))
        except TaskNotFound as exc:
            raise ToolError(str(exc)) from None
        except (OperationalError, InterfaceError, PoolTimeout) as exc:
            log.warning("database unavailable in a tool call", extra={"tool": fn.__name__, "error": type(exc).__name__})
            raise ToolError("The database is unavailable right now; try again shortly") from None
        except Exception:
            # The SDK would put str(exc) in the result: for a database error that is the SQL and its parameters.
            log.exception("tool call failed", extra={"tool": fn.__name__})
            raise ToolError(f"Internal error (request id {request_id_var.get()})") from None

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

    # Creates the session manager (its run() lives in the FastAPI lifespan); McpEndpoint serves /mcp with it.
    mcp.streamable_http_app(
        streamable_http_path="/mcp",
        stateless_http=True,
        json_response=True,
        # Bearer auth protects this endpoint; Host-header pinning would break Service/Ingress names.
        transport_security=TransportSecuritySettings(enable_dns_rebinding_protection=False),
    )
    return mcp


class McpEndpoint:
    """ASGI endpoint for /mcp: JWT first (401 JSON without a valid token), then the SDK's stateless handler.

    Around the SDK: a POST must say `Content-Type: application/json` (else 415); every error answer is JSON,
    whatever the SDK or its transport checks produce; a GET event stream (which a stateless server never
    writes an event to) ends after `stream_idle_seconds` without an event, and a user may hold at most
    `streams_per_user` of them at once in this process (429 beyond).
    """

    def __init__(
        self, mcp: MCPServer, verifier: TokenVerifier, *, stream_idle_seconds: float = 30.0, streams_per_user: int = 2
    ) -> None:
        self.mcp = mcp
        self.verifier = verifier
        self.stream_idle_seconds = stream_idle_seconds
        self.streams_per_user = streams_per_user
        self.open_streams: Counter[str] = Counter()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = dict(scope["headers"])
        authorization = headers.get(b"authorization", b"").decode("latin-1") or None
        try:
            principal = await self.verifier.verify(authorization)
        except HTTPException as exc:
            body = exc.body() if isinstance(exc, JwksUnavailable) else {"detail": exc.detail}
            await send_json(send, exc.status_code, body, exc.headers or {})
            return
        if scope["method"] == "POST" and not _is_json(headers.get(b"content-type", b"")):
            await send_json(send, 415, {"detail": "Content-Type must be application/json"})
            return
        scope[SCOPE_USER_KEY] = principal.user_id
        token = current_user_var.set(principal.user_id)
        try:
            if scope["method"] == "GET":
                await self._bounded_stream(principal.user_id, scope, receive, _JsonErrors(send))
            else:
                await self.mcp.session_manager.handle_request(scope, receive, _JsonErrors(send))
        finally:
            current_user_var.reset(token)

    async def _bounded_stream(self, user_id: str, scope: Scope, receive: Receive, send: Send) -> None:
        if self.open_streams[user_id] >= self.streams_per_user:
            await send_json(
                send, 429,
                {"detail": f"Too many open MCP event streams: at most {self.streams_per_user} per user"},
                {"Retry-After": str(max(1, round(self.stream_idle_seconds)))},
            )
            return
        self.open_streams[user_id] += 1
        last_event = anyio.current_time()
        started = finished = False

        async def watched_send(message: Message) -> None:
            nonlocal last_event, started, finished
            if message["type"] == "http.response.start":
                started = True
            elif message["type"] == "http.response.body":
                chunk = message.get("body", b"")
                if chunk and not chunk.lstrip().startswith(b":"):  # an SSE comment (keep-alive ping) is not an event
                    last_event = anyio.current_time()
                finished = not message.get("more_body", False)
            await send(message)

        try:
            async with anyio.create_task_group() as group:

                async def close_when_idle() -> None:
                    while (remaining := last_event + self.stream_idle_seconds - anyio.current_time()) > 0:
                        await anyio.sleep(remaining)
                    group.cancel_scope.cancel()

                group.start_soon(close_when_idle)
                await self.mcp.session_manager.handle_request(scope, receive, watched_send)
                group.cancel_scope.cancel()
        finally:
            self.open_streams[user_id] -= 1
            if self.open_streams[user_id] <= 0:
                del self.open_streams[user_id]
        if started and not finished:
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        elif not started:
            await send_json(send, 408, {"detail": "No event stream was opened in time"})


def _is_json(content_type: bytes) -> bool:
    return content_type.split(b";")[0].strip().lower() == b"application/json"


class _JsonErrors:
    """A `send` that rewrites a non-JSON error answer (status >= 400) as `{"detail": <its text>}`."""

    def __init__(self, send: Send) -> None:
        self.send = send
        self.held: Message | None = None
        self.body = b""

    async def __call__(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            content_type = dict(message.get("headers", [])).get(b"content-type", b"")
            if message["status"] >= 400 and b"json" not in content_type.lower():
                self.held = message
                return
        elif message["type"] == "http.response.body" and self.held is not None:
            self.body += message.get("body", b"")
            if message.get("more_body", False):
                return
            status, self.held = self.held["status"], None
            detail = self.body.decode("utf-8", "replace").strip() or "Request refused"
            await send_json(self.send, status, {"detail": detail[:500]})
            return
        await self.send(message)
