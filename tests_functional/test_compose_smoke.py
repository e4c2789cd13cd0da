"""The whole stack under docker compose (no Kubernetes): images build, start, and answer on 127.0.0.1.

Builds the three images (skipped when their content tags exist), brings compose.yaml up under a
project name of its own on free localhost ports, checks the frontend's /api/health and, through the
frontend, the backend's readiness (/api/backend-health), and always takes the stack down.

Compose: the v2 plugin (`docker compose`) when installed, else v1 (`docker-compose`, Debian's
docker-compose package), which has no `--wait`: its `up -d` blocks until the depends_on conditions
(database healthy, migrations completed) hold, and the frontend is then polled until it answers.
"""

from __future__ import annotations

import os
import shutil
import socket
import time
import urllib.error
import urllib.request

import pytest

from deployproof.images import REPO_ROOT, build_app_images, env_lines
from deployproof.errors import WaitTimeout
from deployproof.progress import say
from deployproof.runner import run
from deployproof.waits import poll_until

pytestmark = pytest.mark.functional

UP_TIMEOUT = 240.0
READY_TIMEOUT = 120.0


def compose_command() -> list[str]:
    if shutil.which("docker") and run(["docker", "compose", "version"], check=False, quiet=True).returncode == 0:
        return ["docker", "compose"]
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    pytest.fail("docker compose is not installed (fix: apt-get install docker-compose, or the compose v2 plugin)", pytrace=False)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read().decode(errors="replace")
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode(errors="replace")


def wait_for_status(url: str, timeout: float) -> float:
    """Wait until `url` answers 200; return the seconds it took (WaitTimeout names the last answer)."""
    begun = time.monotonic()

    def answers() -> tuple[bool, str]:
        status, body = get(url)
        return status == 200, f"{status} {body[:200]}"

    poll_until(answers, description=f"{url} to answer 200", timeout=timeout)
    return time.monotonic() - begun


@pytest.fixture(scope="module")
def compose_stack(tmp_path_factory):
    compose = compose_command()
    refs = build_app_images(os.environ.get("DEPLOYPROOF_IMAGE_BASE", "local"))
    frontend_port, backend_port = free_port(), free_port()
    env_file = tmp_path_factory.mktemp("compose") / "images.env"
    env_file.write_text("\n".join([*env_lines(refs), f"FRONTEND_PORT={frontend_port}", f"BACKEND_PORT={backend_port}"]) + "\n")
    project = f"deployproof-smoke-{os.getpid()}"
    base = [*compose, "--project-name", project, "--env-file", str(env_file), "--file", str(REPO_ROOT / "compose.yaml")]
    up = [*base, "up", "-d"] + (["--wait"] if compose[0] == "docker" else [])
    say(f"compose up: {' '.join(up)}")
    begun = time.monotonic()
    try:
        proc = run(up, check=False, timeout=UP_TIMEOUT, cwd=REPO_ROOT)
        assert proc.returncode == 0, f"compose up failed:\n{proc.stderr[-3000:]}\n{_logs(base)}"
        try:
            wait_for_status(f"http://127.0.0.1:{frontend_port}/api/health", READY_TIMEOUT)
        except WaitTimeout as exc:
            raise AssertionError(f"{exc}\n{_logs(base)}") from None
        say(f"stack up and frontend healthy in {time.monotonic() - begun:.1f}s")
        yield {"frontend": f"http://127.0.0.1:{frontend_port}", "backend": f"http://127.0.0.1:{backend_port}", "logs": lambda: _logs(base)}
    finally:
        run([*base, "down", "-v", "--remove-orphans"], check=False, timeout=120, cwd=REPO_ROOT)


def _logs(base: list[str]) -> str:
    proc = run([*base, "logs", "--no-color", "--tail", "40"], check=False, quiet=True, timeout=60)
    return "---- compose logs ----\n" + proc.stdout[-6000:]


def test_frontend_health_answers_on_localhost(compose_stack):
    status, body = get(compose_stack["frontend"] + "/api/health")
    assert status == 200, body


def test_backend_is_ready_through_the_frontend(compose_stack):
    try:
        wait_for_status(compose_stack["frontend"] + "/api/backend-health", 60)
    except WaitTimeout as exc:
        raise AssertionError(f"{exc}\n{compose_stack['logs']()}") from None


def test_backend_health_answers_on_localhost(compose_stack):
    status, body = get(compose_stack["backend"] + "/healthz")
    assert status == 200, body
