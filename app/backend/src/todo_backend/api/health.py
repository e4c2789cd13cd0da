"""Liveness and readiness: the one pair of URLs used by probes, compose and CI alike."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from ..db import ping

router = APIRouter(tags=["health"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


def _ping_in_flight(app: FastAPI) -> asyncio.Future[None]:
    """One database ping at a time: while the database hangs, probes arriving every second share the ping
    already running instead of each holding a worker thread for the whole connect timeout."""
    running: asyncio.Future[None] | None = getattr(app.state, "readiness_ping", None)
    if running is None or running.done():
        running = asyncio.ensure_future(run_in_threadpool(ping, app.state.engine))
        running.add_done_callback(lambda f: f.cancelled() or f.exception())  # retrieved: no "never retrieved" warning
        app.state.readiness_ping = running
    return running


@router.get("/readyz")
async def readyz(request: Request) -> JSONResponse:
    limit = request.app.state.settings.readiness_timeout_seconds
    try:
        await asyncio.wait_for(asyncio.shield(_ping_in_flight(request.app)), timeout=limit)
    except TimeoutError:
        # A database that accepts no connection (its pod gone, packets dropped) would otherwise hold this answer for
        # the whole connect timeout, past the probe's own timeout: the kubelet and the frontend would see no reason.
        return JSONResponse({"status": "unavailable", "reason": f"database: no answer within {limit:g} s"}, status_code=503)
    except Exception as exc:  # any failure means "not ready"; the reason tells the operator which
        reason = f"database: {type(exc).__name__}: {str(exc).strip().splitlines()[0] if str(exc).strip() else ''}"
        return JSONResponse({"status": "unavailable", "reason": reason[:300]}, status_code=503)
    return JSONResponse({"status": "ok", "database": "ok"})
