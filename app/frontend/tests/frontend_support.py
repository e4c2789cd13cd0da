"""Fixtures for the frontend tests (no Kubernetes, no Docker).

Run from the repository root:  python -m pytest app/frontend/tests -q

What they set up, all on 127.0.0.1 with free ports and throw-away folders:
  * the production build (`npm ci` / `npm run build` when missing or older than the sources),
  * a copy of `.next/standalone` in a temp folder, exactly what the Docker image holds, so the tests prove
    that folder is self-contained (`node server.js`, `node migrate.mjs`),
  * a real PostgreSQL 15 (initdb as user `postgres` when running as root),
  * the real backend (uvicorn todo_backend.main:app, AUTH_MODE=jwks against this frontend) when importable.

Environment knobs: PG_BIN (default /usr/lib/postgresql/15/bin), FRONTEND_SKIP_BUILD=1 (use the build as is),
FRONTEND_FORCE_BUILD=1.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

FRONTEND_DIR = Path(__file__).resolve().parents[1]
REPO_ROOT = FRONTEND_DIR.parents[1]
BACKEND_DIR = REPO_ROOT / "app" / "backend"
BACKEND_SRC = BACKEND_DIR / "src"
PG_BIN = Path(os.environ.get("PG_BIN", "/usr/lib/postgresql/15/bin"))
SECRET = "test-secret-0123456789-abcdefghijklmnopqrstuvwxyz"
SOURCE_PATHS = ["app", "components", "lib", "public", "scripts", "instrumentation.ts", "migrate.mjs",
                "next.config.mjs", "package.json", "package-lock.json", "tsconfig.json"]


# --------------------------------------------------------------------------- helpers

def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url: str, timeout: float, proc: subprocess.Popen | None = None, log: Path | None = None,
              ok=lambda r: r.status_code < 500) -> None:
    deadline = time.monotonic() + timeout
    last = "no attempt"
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            tail = log.read_text(errors="replace")[-4000:] if log and log.exists() else ""
            raise RuntimeError(f"process for {url} exited with {proc.returncode}:\n{tail}")
        try:
            r = httpx.get(url, timeout=3)
            if ok(r):
                return
            last = f"HTTP {r.status_code}: {r.text[:200]}"
        except httpx.HTTPError as exc:
            last = repr(exc)
        time.sleep(0.3)
    tail = log.read_text(errors="replace")[-4000:] if log and log.exists() else ""
    raise RuntimeError(f"{url} not ready after {timeout}s ({last})\n{tail}")


def stop(proc: subprocess.Popen, timeout: float = 10) -> None:
    if proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(5)


def run(cmd: list[str], **kw) -> subprocess.CompletedProcess:
    res = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if res.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({res.returncode}):\n{res.stdout[-3000:]}\n{res.stderr[-3000:]}")
    return res


def _newest_source_mtime() -> float:
    newest = 0.0
    for rel in SOURCE_PATHS:
        p = FRONTEND_DIR / rel
        if p.is_file():
            newest = max(newest, p.stat().st_mtime)
        elif p.is_dir():
            for f in p.rglob("*"):
                if f.is_file():
                    newest = max(newest, f.stat().st_mtime)
    return newest


# --------------------------------------------------------------------------- build

def check_node() -> None:
    """Fail unless node and npm on PATH meet package.json's engines (./dev puts the pinned Node.js first)."""
    fix = 'put the pinned Node.js first on PATH: export PATH="$(.venv/bin/python -m deployproof.nodejs):$PATH"'
    if shutil.which("node") is None or shutil.which("npm") is None:
        pytest.fail(f"node and npm are required; {fix}", pytrace=False)
    wanted = json.loads((FRONTEND_DIR / "package.json").read_text())["engines"]["node"]
    minimum = int(re.fullmatch(r">=\s*(\d+)(?:\.\d+)*", wanted).group(1))
    found = run(["node", "--version"]).stdout.strip()
    if int(found.lstrip("v").split(".")[0]) < minimum:
        pytest.fail(f"node {found} ({shutil.which('node')}) is older than engines {wanted}; {fix}", pytrace=False)


@pytest.fixture(scope="session")
def standalone_build() -> Path:
    """The built standalone folder (built here if missing or stale)."""
    marker = FRONTEND_DIR / ".next" / "standalone" / "migrate.mjs"
    check_node()
    if os.environ.get("FRONTEND_SKIP_BUILD") != "1":
        stale = not marker.exists() or marker.stat().st_mtime < _newest_source_mtime()
        if stale or os.environ.get("FRONTEND_FORCE_BUILD") == "1":
            if not (FRONTEND_DIR / "node_modules" / "next").exists():
                run(["npm", "ci", "--no-audit", "--no-fund"], cwd=FRONTEND_DIR, timeout=900)
            # The build must succeed with none of the app's settings present.
            env = {k: v for k, v in os.environ.items()
                   if k not in {"DATABASE_URL", "BETTER_AUTH_SECRET", "BETTER_AUTH_URL",
                                "BETTER_AUTH_TRUSTED_ORIGINS", "BACKEND_URL"}}
            env["NEXT_TELEMETRY_DISABLED"] = "1"
            run(["npm", "run", "build"], cwd=FRONTEND_DIR, env=env, timeout=1500)
    if not marker.exists():
        pytest.fail(f"{marker} missing after the build")
    return marker.parent


@pytest.fixture(scope="session")
def app_dir(standalone_build: Path, tmp_path_factory) -> Path:
    """A copy of .next/standalone outside the project (no parent node_modules to fall back on)."""
    dest = Path(tempfile.mkdtemp(prefix="todo-frontend-image-"))
    shutil.copytree(standalone_build, dest / "app", symlinks=True)
    yield dest / "app"
    shutil.rmtree(dest, ignore_errors=True)


# --------------------------------------------------------------------------- postgres

@dataclass
class Postgres:
    port: int
    url: str
    proc: subprocess.Popen
    datadir: Path

    def create_database(self, name: str) -> str:
        run([str(PG_BIN / "createdb"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", name])
        return f"postgresql://postgres@127.0.0.1:{self.port}/{name}"


@pytest.fixture(scope="session")
def postgres() -> Postgres:
    if not (PG_BIN / "initdb").exists():
        pytest.fail(f"PostgreSQL server binaries not found in {PG_BIN} (set PG_BIN)")
    base = Path(tempfile.mkdtemp(prefix="todo-frontend-pg-"))
    datadir, sockdir = base / "data", base / "sock"
    sockdir.mkdir()
    as_root = os.geteuid() == 0
    if as_root:
        shutil.chown(base, "postgres", "postgres")
        shutil.chown(sockdir, "postgres", "postgres")
        os.chmod(base, 0o755)

    def as_pg(cmd: list[str]) -> list[str]:
        return ["runuser", "-u", "postgres", "--", *cmd] if as_root else cmd

    run(as_pg([str(PG_BIN / "initdb"), "-D", str(datadir), "-U", "postgres", "--auth=trust",
               "--encoding=UTF8", "--no-sync"]))
    port = free_port()
    log = base / "postgres.log"
    logf = open(log, "w")
    if as_root:
        shutil.chown(log, "postgres", "postgres")
    proc = subprocess.Popen(
        as_pg([str(PG_BIN / "postgres"), "-D", str(datadir), "-h", "127.0.0.1", "-p", str(port),
               "-k", str(sockdir), "-c", "fsync=off", "-c", "max_connections=200"]),
        stdout=logf, stderr=subprocess.STDOUT, start_new_session=True,
    )
    deadline = time.monotonic() + 60
    while True:
        r = subprocess.run([str(PG_BIN / "pg_isready"), "-h", "127.0.0.1", "-p", str(port)], capture_output=True)
        if r.returncode == 0:
            break
        if proc.poll() is not None or time.monotonic() > deadline:
            stop(proc)
            pytest.fail("postgres did not start:\n" + log.read_text(errors="replace")[-3000:])
        time.sleep(0.3)
    pg = Postgres(port=port, url=f"postgresql://postgres@127.0.0.1:{port}/postgres", proc=proc, datadir=datadir)
    yield pg
    stop(proc, timeout=20)
    logf.close()
    shutil.rmtree(base, ignore_errors=True)


# --------------------------------------------------------------------------- processes

@dataclass
class Frontend:
    port: int
    url: str
    proc: subprocess.Popen
    log: Path
    env: dict = field(default_factory=dict)


def frontend_env(database_url: str, port: int, backend_url: str) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BETTER_AUTH_", "NEXT_"))}
    env.update({
        "NODE_ENV": "production",
        "NEXT_TELEMETRY_DISABLED": "1",
        "PORT": str(port),
        "HOSTNAME": "127.0.0.1",
        "DATABASE_URL": database_url,
        "BETTER_AUTH_SECRET": SECRET,
        "BETTER_AUTH_URL": f"http://127.0.0.1:{port}",
        "BETTER_AUTH_TRUSTED_ORIGINS": f"http://localhost:{port}",
        "BACKEND_URL": backend_url,
        # Rate limiting stays on; the tests sign up many users from 127.0.0.1, as a load test would.
        "BETTER_AUTH_RATE_LIMIT_SIGN_IN_MAX": "1000",
        "BETTER_AUTH_RATE_LIMIT_MAX": "10000",
    })
    return env


def migrate(app_dir: Path, database_url: str) -> str:
    env = {**os.environ, "DATABASE_URL": database_url}
    return run(["node", "migrate.mjs"], cwd=app_dir, env=env, timeout=120).stdout


@contextlib.contextmanager
def start_frontend(app_dir: Path, env: dict, logdir: Path):
    port = int(env["PORT"])
    log = logdir / f"frontend-{port}.log"
    with open(log, "w") as logf:
        proc = subprocess.Popen(["node", "server.js"], cwd=app_dir, env=env, stdout=logf,
                                stderr=subprocess.STDOUT, start_new_session=True)
        fe = Frontend(port=port, url=f"http://127.0.0.1:{port}", proc=proc, log=log, env=env)
        try:
            wait_http(f"{fe.url}/api/health", 90, proc, log, ok=lambda r: r.status_code == 200)
            yield fe
        finally:
            stop(proc)


def backend_importable() -> tuple[bool, str]:
    if not BACKEND_SRC.exists():
        return False, f"{BACKEND_SRC} does not exist"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(BACKEND_SRC), os.environ.get("PYTHONPATH")]))}
    r = subprocess.run([sys.executable, "-c", "import todo_backend.main, todo_backend.migrate"],
                       capture_output=True, text=True, env=env, cwd=BACKEND_DIR)
    if r.returncode != 0:
        return False, r.stderr.strip()[-2000:]
    return True, ""


@contextlib.contextmanager
def start_backend(database_url: str, port: int, jwks_url: str, logdir: Path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AUTH_", "CHAT_", "OPENAI_"))}
    env.update({
        "PYTHONPATH": os.pathsep.join(filter(None, [str(BACKEND_SRC), os.environ.get("PYTHONPATH")])),
        "DATABASE_URL": database_url,
        "AUTH_MODE": "jwks",
        "AUTH_JWKS_URL": jwks_url,
        "CHAT_AGENT": "offline",
        # the chat agent calls the backend's own /mcp; its default assumes port 8000
        "MCP_SELF_URL": f"http://127.0.0.1:{port}/mcp",
        "LOG_LEVEL": "INFO",
    })
    run([sys.executable, "-m", "todo_backend.migrate"], env=env, cwd=BACKEND_DIR, timeout=120)
    log = logdir / f"backend-{port}.log"
    with open(log, "w") as logf:
        proc = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "todo_backend.main:app", "--host", "127.0.0.1", "--port", str(port)],
            cwd=BACKEND_DIR, env=env, stdout=logf, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            wait_http(f"http://127.0.0.1:{port}/healthz", 60, proc, log, ok=lambda r: r.status_code == 200)
            yield proc, log
        finally:
            stop(proc)


@pytest.fixture(scope="session")
def logdir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("logs")


@dataclass
class Stack:
    frontend: Frontend
    backend_port: int
    backend_log: Path | None
    database_url: str


@pytest.fixture(scope="session")
def stack(app_dir, postgres, logdir) -> Stack:
    """Frontend + real backend on one database. Fails (does not skip) when the backend cannot be imported."""
    ok, why = backend_importable()
    if not ok:
        pytest.fail(
            "the real backend is needed for this test but `import todo_backend.main` failed "
            f"(PYTHONPATH={BACKEND_SRC}; install its deps with `pip install -e app/backend`):\n{why}",
            pytrace=False,
        )
    db = postgres.create_database("todo_e2e")
    migrate(app_dir, db)
    fe_port, be_port = free_port(), free_port()
    env = frontend_env(db, fe_port, f"http://127.0.0.1:{be_port}")
    with start_frontend(app_dir, env, logdir) as fe:
        with start_backend(db, be_port, f"{fe.url}/api/auth/jwks", logdir) as (_proc, be_log):
            yield Stack(frontend=fe, backend_port=be_port, backend_log=be_log, database_url=db)
