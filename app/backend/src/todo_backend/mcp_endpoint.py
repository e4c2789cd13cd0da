"""ASGI endpoint for /mcp, and the start of the MCP tool server (mcp_server.py) behind it.

The SDK costs about 0.7 s of CPU to import (1.4 s of a replacement pod's start at its 500m limit), so the app
does not import it to become Ready: `McpEndpoint.serve`, started by the lifespan, builds the server in a worker
thread and runs its session manager. REST, chat history and health answer meanwhile; an /mcp request that
arrives first waits for it (at most `start_timeout_seconds`, then 503 + Retry-After), so none is lost.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from contextvars import ContextVar
from typing import Any, Callable

import anyio
import anyio.to_thread
from starlette.exceptions import HTTPException
from starlette.types import Message, Receive, Scope, Send

from .auth import TokenVerifier
from .errors import JwksUnavailable
from .middleware import send_json

log = logging.getLogger("todo_backend.mcp")
SCOPE_USER_KEY = "todo_user_id"
# Fallback for transports without an HTTP request (the SDK's in-memory transport in tests).
current_user_var: ContextVar[str | None] = ContextVar("mcp_current_user", default=None)


class McpEndpoint:
    """ASGI endpoint for /mcp: JWT first (401 JSON without a valid token), then the SDK's stateless handler.

    Around the SDK: a POST must say `Content-Type: application/json` (else 415); every error answer is JSON,
    whatever the SDK or its transport checks produce; a GET event stream (which a stateless server never
    writes an event to) ends after `stream_idle_seconds` without an event, and a user may hold at most
    `streams_per_user` of them at once in this process (429 beyond).
    """

    def __init__(
        self,
        verifier: TokenVerifier,
        *,
        stream_idle_seconds: float = 30.0,
        streams_per_user: int = 2,
        start_timeout_seconds: float = 15.0,
    ) -> None:
        self.mcp: Any = None  # the SDK's MCPServer, once `serve` has started it
        self.verifier = verifier
        self.stream_idle_seconds = stream_idle_seconds
        self.streams_per_user = streams_per_user
        self.start_timeout_seconds = start_timeout_seconds
        self.open_streams: Counter[str] = Counter()
        self.failure: str | None = None
        self._started: asyncio.Event | None = None  # made in `serve`, on the event loop that serves requests

    async def serve(self, build: Callable[[], Any]) -> None:
        """Build the server with `build` in a worker thread, then run its session manager until cancelled.

        A server that cannot be built is logged (with its cause) and /mcp answers 503; the rest of the app stays up."""
        self._started = asyncio.Event()
        try:
            server = await anyio.to_thread.run_sync(build)
        except Exception as exc:  # noqa: BLE001 (any failure to build: the app keeps serving, /mcp answers 503)
            log.exception("the MCP server could not be built")
            self.failure = f"{type(exc).__name__}: {exc}"
            self._started.set()
            return
        async with server.session_manager.run():
            self.mcp = server
            self._started.set()
            log.info("MCP server started")
            try:
                await anyio.sleep_forever()
            finally:
                self.mcp = None  # shutting down: its session manager stops with this block

    async def _server(self) -> Any:
        """The started server; None when it is not (yet) there after `start_timeout_seconds`, or failed."""
        if self._started is not None:
            with anyio.move_on_after(self.start_timeout_seconds):
                await self._started.wait()
        return self.mcp

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
        if await self._server() is None:
            reason = "The MCP server failed to start (see the backend's log)" if self.failure else "The MCP server is starting"
            await send_json(send, 503, {"detail": f"{reason}; retry shortly"}, {"Retry-After": "1"})
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
