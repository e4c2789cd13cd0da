"""The MCP tool server (official `mcp` SDK, MCPServer), stateless streamable HTTP at /mcp.

Stateless + JSON responses: any replica can answer any request, no session affinity needed.
`mcp_endpoint.McpEndpoint` authenticates the bearer token before the SDK sees the request and records the
verified user on the ASGI scope; tools read it from there (via the request the SDK hands them), never from
arguments. This module imports the SDK (about 0.7 s of CPU): the app builds it after start, off the path to Ready.
"""

from __future__ import annotations

import json
import logging
from typing import Any, Literal

import anyio.to_thread
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.transport_security import TransportSecuritySettings
from mcp.types import CallToolResult, TextContent
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from .api.schemas import clean_description, clean_title
from .logs import request_id_var
from .mcp_endpoint import SCOPE_USER_KEY, current_user_var
from .models import Task
from .tasks import TaskNotFound, TaskStore

log = logging.getLogger("todo_backend.mcp")


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
