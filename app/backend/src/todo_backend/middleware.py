"""Pure ASGI middleware: request id + served-by headers + access log (and a JSON 500 that still carries them),
and the request guard that bounds headers, body size and JSON nesting before anything parses the request."""

from __future__ import annotations

import json
import logging
import re
import socket
import time
import uuid

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .logs import request_id_var

access_log = logging.getLogger("todo_backend.access")
error_log = logging.getLogger("todo_backend.errors")
_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")


class RequestContextMiddleware:
    """Echo (or create) X-Request-ID, add X-Served-By, and write one JSON access line per request.

    Outermost layer: an exception nothing else handled becomes a JSON 500 here, so it too carries both headers
    and the request id (Starlette's own last-resort handler sits outside every middleware and would drop them).
    """

    def __init__(self, app: ASGIApp, served_by: str | None = None) -> None:
        self.app = app
        self.served_by = (served_by or socket.gethostname()).encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = dict(scope["headers"]).get(b"x-request-id", b"").decode("latin-1")
        request_id = incoming if _VALID_REQUEST_ID.match(incoming) else uuid.uuid4().hex
        token = request_id_var.set(request_id)
        started = time.perf_counter()
        status = 500
        response_started = False

        async def send_with_headers(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                status = message["status"]
                response_started = True
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() not in (b"x-request-id", b"x-served-by")]
                headers += [(b"x-request-id", request_id.encode()), (b"x-served-by", self.served_by)]
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        except Exception:
            error_log.exception("unhandled error", extra={"path": scope["path"]})
            if response_started:
                raise  # the status is on the wire already; the server closes the connection
            await send_json(send_with_headers, 500, {"detail": "Internal server error", "request_id": request_id})
        finally:
            if scope["path"] not in ("/healthz", "/readyz"):
                access_log.info(
                    "request",
                    extra={
                        "method": scope["method"],
                        "path": scope["path"],
                        "status": status,
                        "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                    },
                )
            request_id_var.reset(token)


_JSON_CONTENT_TYPE = re.compile(rb"^\s*application/([a-z0-9.+-]*\+)?json\s*(;|$)", re.IGNORECASE)
_JSON_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKET = re.compile(rb"[\[\]{}]")


def json_depth_exceeds(body: bytes, limit: int) -> bool:
    """True when the JSON text nests arrays/objects deeper than `limit` (brackets inside strings do not count).

    Run before any parser sees the body: Python's and pydantic's parsers recurse, and a deep enough document
    turns into a RecursionError (a 500) instead of a client error.
    """
    if body.count(b"[") + body.count(b"{") <= limit:  # cannot be deeper than the number of openers
        return False
    depth = 0
    for match in _BRACKET.finditer(_JSON_STRING.sub(b'""', body)):
        if match.group() in (b"[", b"{"):
            depth += 1
            if depth > limit:
                return True
        else:
            depth -= 1
    return False


def _json_body_problem(body: bytes, max_depth: int) -> str | None:
    try:
        body.decode("utf-8")  # JSON on the wire is UTF-8 (RFC 8259); some parsers fail on anything else with a 500
    except UnicodeDecodeError as exc:
        return f"Request body is not valid UTF-8 (byte {exc.start})"
    if json_depth_exceeds(body, max_depth):
        return f"JSON nested too deeply: the limit is {max_depth} levels"
    return None


class RequestGuardMiddleware:
    """Bound what a request may carry before anything parses it.

    - header block over `max_header_bytes` → 431;
    - body over `max_body_bytes` → 413 (at once when Content-Length says so, else as soon as the stream passes it);
    - a JSON body that is not UTF-8, or nested deeper than `max_json_depth` → 400.
    The body (at most `max_body_bytes`) is read here and replayed to the application.
    """

    def __init__(self, app: ASGIApp, max_body_bytes: int, max_header_bytes: int, max_json_depth: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.max_header_bytes = max_header_bytes
        self.max_json_depth = max_json_depth

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        header_bytes = sum(len(name) + len(value) + 4 for name, value in scope["headers"])
        if header_bytes > self.max_header_bytes:
            await send_json(send, 431, {"detail": f"Request headers too large: the limit is {self.max_header_bytes} bytes"})
            return
        headers = dict(scope["headers"])
        declared = headers.get(b"content-length")
        if declared is not None:
            try:
                too_large = int(declared) > self.max_body_bytes
            except ValueError:
                await send_json(send, 400, {"detail": "Invalid Content-Length header"})
                return
            if too_large:
                await send_json(send, 413, {"detail": self._too_large()})
                return

        chunks: list[bytes] = []
        received = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return  # the client went away before sending its body: nobody to answer
            body = message.get("body", b"")
            received += len(body)
            if received > self.max_body_bytes:
                await send_json(send, 413, {"detail": self._too_large()})
                return
            chunks.append(body)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        if body and _JSON_CONTENT_TYPE.match(headers.get(b"content-type", b"")):
            problem = _json_body_problem(body, self.max_json_depth)
            if problem:
                await send_json(send, 400, {"detail": problem})
                return

        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()  # after the body: wait for the disconnect, as the server would

        await self.app(scope, replay, send)

    def _too_large(self) -> str:
        return f"Request body too large: the limit is {self.max_body_bytes} bytes"


async def send_json(send: Send, status: int, body: dict[str, object], headers: dict[str, str] | None = None) -> None:
    payload = json.dumps(body).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())]
            + [(name.lower().encode(), value.encode()) for name, value in (headers or {}).items()],
        }
    )
    await send({"type": "http.response.body", "body": payload})
