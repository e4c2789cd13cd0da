"""Start the cluster's components as child processes and stop exactly those, by PID."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path
from typing import Sequence

from ...progress import say
from ...runner import start_background
from .layout import Layout


def start(layout: Layout, component: str, argv: Sequence[str | os.PathLike[str]], env: dict[str, str] | None = None) -> int:
    layout.pids.mkdir(parents=True, exist_ok=True)
    proc = start_background(argv, log_path=layout.log_file(component), env=env)
    # Record the PID with the binary path, so stop() never kills a recycled PID of another program.
    layout.pid_file(component).write_text(f"{proc.pid}\n{Path(str(argv[0])).resolve()}\n")
    return proc.pid


def recorded(layout: Layout) -> dict[str, tuple[int, str]]:
    """component → (pid, binary) for every PID file in the state dir."""
    found: dict[str, tuple[int, str]] = {}
    if not layout.pids.exists():
        return found
    for pid_file in sorted(layout.pids.glob("*.pid")):
        lines = pid_file.read_text().split("\n")
        try:
            found[pid_file.stem] = (int(lines[0]), lines[1] if len(lines) > 1 else "")
        except ValueError:
            continue
    return found


def is_running(pid: int, binary: str) -> bool:
    """True when `pid` is alive and still runs `binary` (not a recycled PID, not a zombie)."""
    try:
        exe = os.readlink(f"/proc/{pid}/exe")
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z" and (not binary or exe.removesuffix(" (deleted)") == binary)


def running(layout: Layout) -> dict[str, bool]:
    return {name: is_running(pid, binary) for name, (pid, binary) in recorded(layout).items()}


def stop(layout: Layout, component: str, grace: float = 15.0) -> None:
    entry = recorded(layout).get(component)
    if entry is None:
        return
    pid, binary = entry
    if is_running(pid, binary):
        say(f"stopping {component} (pid {pid})")
        _signal(pid, signal.SIGTERM)
        deadline = time.monotonic() + grace
        while is_running(pid, binary) and time.monotonic() < deadline:
            time.sleep(0.1)
        if is_running(pid, binary):
            say(f"{component} (pid {pid}) ignored SIGTERM for {grace:.0f}s; sending SIGKILL")
            _signal(pid, signal.SIGKILL)
            while is_running(pid, binary):
                time.sleep(0.1)
    _reap(pid)
    layout.pid_file(component).unlink(missing_ok=True)


def _signal(pid: int, sig: signal.Signals) -> None:
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass


def _reap(pid: int) -> None:
    # When we are the parent (same Python process started it), collect the exit status.
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass
