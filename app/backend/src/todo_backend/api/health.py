"""Liveness and readiness: the one pair of URLs used by probes, compose and CI alike."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from ..db import ping

router = APIRouter(tags=["health"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz")
async def readyz(request: Request) -> JSONResponse:
    try:
        await run_in_threadpool(ping, request.app.state.engine)
    except Exception as exc:  # any failure means "not ready"; the reason tells the operator which
        reason = f"database: {type(exc).__name__}: {str(exc).strip().splitlines()[0] if str(exc).strip() else ''}"
        return JSONResponse({"status": "unavailable", "reason": reason[:300]}, status_code=503)
    return JSONResponse({"status": "ok", "database": "ok"})
