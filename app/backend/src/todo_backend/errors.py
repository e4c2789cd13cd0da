"""Error responses: always JSON `{"detail": "..."}`, 4xx for anything the client got wrong, never a 5xx."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

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


def install(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, validation_error)  # type: ignore[arg-type]
    app.add_exception_handler(Exception, unexpected_error)
