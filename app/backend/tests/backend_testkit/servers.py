"""Real uvicorn servers on 127.0.0.1: in a thread (fast) or as a subprocess (a separate process)."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import httpx
import uvicorn

from .net import free_port


def wait_until_healthy(base_url: str, timeout: float = 30.0, process: subprocess.Popen[Any] | None = None) -> None:
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"server process exited with {process.returncode}")
        try:
            if httpx.get(f"{base_url}/healthz", timeout=2.0, trust_env=False).status_code == 200:
                return
        except httpx.HTTPError as exc:
            last_error = exc
        time.sleep(0.05)
    raise TimeoutError(f"{base_url} not healthy after {timeout}s: {last_error}")


@dataclass
class ThreadedServer:
    """A uvicorn.Server running `app` in a background thread with its own event loop."""

    app: Any
    port: int = field(default_factory=free_port)

    def __post_init__(self) -> None:
        config = uvicorn.Config(self.app, host="127.0.0.1", port=self.port, log_config=None, access_log=False, lifespan="on")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, name=f"uvicorn-{self.port}", daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> "ThreadedServer":
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("uvicorn server failed to start")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)


@dataclass
class ProcessServer:
    """`python -m uvicorn todo_backend.main:app` in a child process with the given environment."""

    env: dict[str, str]
    port: int = field(default_factory=free_port)
    extra_args: tuple[str, ...] = ()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> "ProcessServer":
        env = {**os.environ, **self.env, "MCP_SELF_URL": f"{self.url}/mcp"}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "todo_backend.main:app", "--host", "127.0.0.1", "--port", str(self.port),
             "--no-access-log", "--timeout-graceful-shutdown", "5", *self.extra_args],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        try:
            wait_until_healthy(self.url, process=self.process)
        except Exception:
            self.stop()
            raise RuntimeError(f"uvicorn subprocess failed; output:\n{self.output()[-3000:]}") from None
        return self

    def stop(self) -> int | None:
        # communicate() reads what is left and closes the pipe (left open, it was a ResourceWarning per server).
        if self.process.poll() is None:
            self.process.terminate()
        try:
            self._output, _ = self.process.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self._output, _ = self.process.communicate()
        return self.process.returncode

    def output(self) -> str:
        """What the server printed, once it has been stopped ("" while it runs)."""
        return getattr(self, "_output", None) or ""
