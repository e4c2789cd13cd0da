"""Error responses: always JSON `{"detail": "..."}`, 4xx for anything the client got wrong, 503 while the database
or the JWKS endpoint is unreachable, 500 only for the unexpected."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException
from sqlalchemy.exc import DataError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from .logs import request_id_var

log = logging.getLogger("todo_backend.errors")


def _describe(error: dict[str, Any]) -> str:
    location = [str(part) for part in error.get("loc", ()) if part not in ("body",)]
    where = ".".join(location)
    message = str(error.get("msg", "invalid value")).removeprefix("Value error, ")
    return f"{where}: {message}" if where else message


async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
    errors = list(exc.errors())
    if any(e.get("type") == "json_invalid" for e in errors):
        return JSONResponse({"detail": "Request body is not valid JSON"}, status_code=400)
    summary = "; ".join(_describe(e) for e in errors) or "Invalid request"
    details = [{"loc": list(e.get("loc", ())), "msg": _describe(e), "type": e.get("type")} for e in errors]
    return JSONResponse({"detail": summary, "errors": details}, status_code=422)


async def unexpected_error(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error", extra={"path": request.url.path})
    return JSONResponse(
        {"detail": "Internal server error", "request_id": request_id_var.get()}, status_code=500
    )


DATABASE_RETRY_AFTER_S = 5


class JwksUnavailable(HTTPException):
    """No signing keys yet and the JWKS endpoint unreachable (the frontend serving it, or its database, is away):
    a temporary 503 with Retry-After and a reason, like a database outage's, on REST and MCP alike."""

    REASON = "auth: JWKS endpoint unreachable"

    def __init__(self) -> None:
        super().__init__(503, "Cannot verify tokens right now: the JWKS endpoint is unreachable; try again shortly",
                         headers={"Retry-After": str(DATABASE_RETRY_AFTER_S)})

    def body(self) -> dict[str, Any]:
        return {"detail": self.detail, "reason": self.REASON, "request_id": request_id_var.get()}


async def jwks_unavailable(request: Request, exc: JwksUnavailable) -> JSONResponse:
    return JSONResponse(exc.body(), status_code=exc.status_code, headers=exc.headers)


async def database_unavailable(request: Request, exc: Exception) -> JSONResponse:
    """The database did not answer (down, restarting, pool exhausted): a temporary 503, not a 500.

    Readiness (/readyz) takes the pod out of the Service soon after; until then, and for requests
    already in flight, the client learns the service is unavailable and may retry.
    """
    cause = getattr(exc, "orig", None) or exc
    first_line = (str(cause).strip().splitlines() or [""])[0]
    log.warning("database unavailable", extra={"path": request.url.path, "error": f"{type(cause).__name__}: {first_line}"})
    return JSONResponse(
        {"detail": "The database is unavailable right now; try again shortly",
         "reason": f"database: {type(cause).__name__}", "request_id": request_id_var.get()},
        status_code=503, headers={"Retry-After": str(DATABASE_RETRY_AFTER_S)},
    )


async def unstorable_value(request: Request, exc: Exception) -> JSONResponse:
    """A value the edge validation let through but the database refused: the client's data, so a 422.

    Neither the statement nor its parameters are echoed; the log has the cause under the request id.
    """
    log.warning("value refused by the database", extra={"path": request.url.path, "error": type(exc).__name__})
    return JSONResponse(
        {"detail": "A value in the request cannot be stored", "request_id": request_id_var.get()}, status_code=422
    )


def install(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, validation_error)  # type: ignore[arg-type]
    # Connection-level database failures only; a constraint violation or a bug stays a 500.
    for error in (OperationalError, InterfaceError, PoolTimeout):
        app.add_exception_handler(error, database_unavailable)
    app.add_exception_handler(JwksUnavailable, jwks_unavailable)  # type: ignore[arg-type]
    for error in (DataError, UnicodeEncodeError):
        app.add_exception_handler(error, unstorable_value)
    app.add_exception_handler(Exception, unexpected_error)
