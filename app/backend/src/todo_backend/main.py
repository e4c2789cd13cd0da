"""The ASGI application: `uvicorn todo_backend.main:app --host 0.0.0.0 --port 8000`.

`create_app(settings)` builds an independent app (own engine, own MCP session manager); the module attribute
`app` is created on first access, so importing this module never requires configuration.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
from fastapi import FastAPI
from starlette.routing import Route

from . import __version__, errors
from .api import chat, health, tasks
from .auth import TokenVerifier
from .chat.service import ChatService, build_agent
from .db import make_engine
from .logs import configure_logging
from .mcp_endpoint import McpEndpoint
from .middleware import RequestContextMiddleware, RequestGuardMiddleware
from .settings import Settings, get_settings
from .tasks import TaskStore

log = logging.getLogger("todo_backend")


def create_app(settings: Settings | None = None, *, served_by: str | None = None) -> FastAPI:
    settings = settings or get_settings()
    configure_logging(settings.log_level)
    engine = make_engine(settings)
    store = TaskStore(engine)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # The MCP server starts beside the app, not before it (mcp_endpoint.py: its SDK's import is most of a start).
        async with anyio.create_task_group() as group:
            group.start_soon(endpoint.serve, lambda: _build_mcp_server(store))
            log.info("backend started", extra={"auth_mode": settings.auth_mode, "chat_agent": settings.chat_agent})
            yield
            group.cancel_scope.cancel()
        engine.dispose()
        log.info("backend stopped")

    app = FastAPI(title="Todo AI Chatbot backend", version=__version__, lifespan=lifespan)
    app.state.settings = settings
    app.state.engine = engine
    app.state.tasks = store
    app.state.verifier = TokenVerifier(settings)
    app.state.chat = ChatService(engine, settings, build_agent(settings))

    app.include_router(health.router)
    app.include_router(tasks.router)
    app.include_router(chat.router)
    endpoint = McpEndpoint(
        app.state.verifier,
        stream_idle_seconds=settings.mcp_stream_idle_seconds,
        streams_per_user=settings.mcp_streams_per_user,
    )
    for path in ("/mcp", "/mcp/"):
        app.router.routes.append(Route(path, endpoint=endpoint, methods=["GET", "POST", "DELETE"], include_in_schema=False))

    errors.install(app)
    # Added last = outermost: every response (a 413, 431 or 500 too) gets X-Request-ID and X-Served-By.
    app.add_middleware(
        RequestGuardMiddleware,
        max_body_bytes=settings.max_body_bytes,
        max_header_bytes=settings.max_header_bytes,
        max_json_depth=settings.max_json_depth,
    )
    app.add_middleware(RequestContextMiddleware, served_by=served_by)
    return app


def _build_mcp_server(store: TaskStore) -> Any:
    """The MCP tool server (imported here, in the worker thread that builds it), and the chat's MCP client warmed too."""
    from .chat import mcp_tools  # noqa: F401  (the offline agent imports it on its first turn: paid here instead)
    from .mcp_server import build_mcp_server

    return build_mcp_server(store)


_app: FastAPI | None = None


def __getattr__(name: str) -> Any:
    global _app
    if name == "app":
        if _app is None:
            _app = create_app()
        return _app
    raise AttributeError(name)
