"""Benchmark: throughput and latency of list/create tasks and a chat turn against ONE uvicorn worker.

    python app/backend/bench/bench_api.py [--requests 300] [--chat-requests 60] [--concurrency 8]

Uses DATABASE_URL when set (migrations are applied), otherwise a throw-away PostgreSQL like the tests.
Writes app/backend/bench/results.json and prints it. Not a test: figures depend on the machine and its load.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import httpx

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))

from backend_testkit.postgres import start_postgres  # noqa: E402
from backend_testkit.servers import ProcessServer  # noqa: E402
from backend_testkit.tokens import HS_SECRET, hs256_token  # noqa: E402


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = max(0, min(len(ordered) - 1, round(q / 100 * len(ordered) + 0.5) - 1))
    return ordered[index]


async def scenario(name: str, base_url: str, make_request, total: int, concurrency: int) -> dict:  # type: ignore[no-untyped-def]
    latencies: list[float] = []
    errors = 0
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(total):
        queue.put_nowait(i)

    async def worker(client: httpx.AsyncClient) -> None:
        nonlocal errors
        while True:
            try:
                i = queue.get_nowait()
            except asyncio.QueueEmpty:
                return
            started = time.perf_counter()
            response = await make_request(client, i)
            latencies.append((time.perf_counter() - started) * 1000)
            if response.status_code >= 400:
                errors += 1

    async with httpx.AsyncClient(base_url=base_url, timeout=60, trust_env=False) as client:
        for i in range(min(10, total)):  # warm-up: connections, caches
            await make_request(client, -1 - i)
        started = time.perf_counter()
        await asyncio.gather(*(worker(client) for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    return {
        "scenario": name,
        "requests": total,
        "errors": errors,
        "concurrency": concurrency,
        "seconds": round(elapsed, 3),
        "throughput_rps": round(total / elapsed, 1),
        "latency_ms": {
            "mean": round(statistics.fmean(latencies), 2),
            "p50": round(percentile(latencies, 50), 2),
            "p95": round(percentile(latencies, 95), 2),
            "p99": round(percentile(latencies, 99), 2),
            "max": round(max(latencies), 2),
        },
    }


async def run(base_url: str, args: argparse.Namespace) -> list[dict]:
    user = f"bench-{uuid.uuid4().hex[:8]}"
    auth = {"Authorization": f"Bearer {hs256_token(user, expires_in=3600)}"}
    async with httpx.AsyncClient(base_url=base_url, headers=auth, trust_env=False) as client:
        for i in range(20):  # the list scenario returns 20 tasks
            (await client.post(f"/api/{user}/tasks", json={"title": f"seed task {i}"})).raise_for_status()

    tasks_url = f"/api/{user}/tasks"

    async def list_tasks(client: httpx.AsyncClient, i: int) -> httpx.Response:
        return await client.get(tasks_url, headers=auth)

    async def create_task(client: httpx.AsyncClient, i: int) -> httpx.Response:
        return await client.post(tasks_url, json={"title": f"bench task {i}"}, headers=auth)

    chat_user = f"bench-chat-{uuid.uuid4().hex[:8]}"
    chat_auth = {"Authorization": f"Bearer {hs256_token(chat_user, expires_in=3600)}"}

    async def chat_turn(client: httpx.AsyncClient, i: int) -> httpx.Response:
        # Alternate an add and a list: each turn opens an MCP client session over loopback HTTP.
        message = f"add chat task {i}" if i % 2 == 0 else "what's left to do?"
        return await client.post(f"/api/{chat_user}/chat", json={"message": message}, headers=chat_auth)

    return [
        await scenario("list_tasks", base_url, list_tasks, args.requests, args.concurrency),
        await scenario("create_task", base_url, create_task, args.requests, args.concurrency),
        await scenario("chat_turn", base_url, chat_turn, args.chat_requests, args.concurrency),
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--chat-requests", type=int, default=60)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--output", type=Path, default=HERE / "results.json")
    args = parser.parse_args()

    postgres = None
    database_url = os.environ.get("DATABASE_URL")
    if not database_url:
        postgres = start_postgres()
        database_url = postgres.create_database("todo_bench")
    env = {"DATABASE_URL": database_url, "AUTH_MODE": "hs256", "AUTH_JWT_SECRET": HS_SECRET, "LOG_LEVEL": "WARNING"}
    migrate = subprocess.run([sys.executable, "-m", "todo_backend.migrate"], env={**os.environ, **env}, capture_output=True, text=True)
    if migrate.returncode != 0:
        print(migrate.stderr, file=sys.stderr)
        return 1
    server = ProcessServer(env, extra_args=("--workers", "1")).start()
    try:
        results = asyncio.run(run(server.url, args))
    finally:
        server.stop()
        if postgres is not None:
            postgres.stop()

    report = {
        "recorded_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "server": "uvicorn, 1 worker, PostgreSQL on 127.0.0.1, offline chat agent (MCP over loopback HTTP)",
        "machine": {
            "cpus": os.cpu_count(),
            "load_avg_1m_at_end": round(os.getloadavg()[0], 2),
            "python": platform.python_version(),
        },
        "results": results,
    }
    args.output.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
