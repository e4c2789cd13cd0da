"""The ASGI application: `uvicorn todo_backend.main:app --host 0.0.0.0 --port 8000`.

`create_app(settings)` builds an independent app (own engine, own MCP session manager); the module attribute
`app` is created on first access, so importing this module never requires configuration.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from starlette.routing import Route

from . import __version__, errors
from .api import chat, health, tasks
from .auth import TokenVerifier
from .chat.service import ChatService, build_agent
from .db import make_engine
from .logs import configure_logging
from .mcp_server import McpEndpoint, build_mcp_server
from .middleware import RequestContextMiddleware, RequestGuardMiddleware
from .settings import Settings, get_settings
from .tasks import TaskStore

log = logging.getLogger("todo_backend")


def create_app(settings: Settings | None = None, *, served_by: str | None = None) -> FastAPI:
    settings = settings or get_settings()
    configure_logging(settings.log_level)
    engine = make_engine(settings)
    store = TaskStore(engine)
    mcp = build_mcp_server(store)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with mcp.session_manager.run():
            log.info("backend started", extra={"auth_mode": settings.auth_mode, "chat_agent": settings.chat_agent})
            yield
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
        mcp,
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


_app: FastAPI | None = None


def __getattr__(name: str) -> Any:
    global _app
    if name == "app":
        if _app is None:
            _app = create_app()
        return _app
    raise AttributeError(name)
