"""The one subprocess runner: logs the command, captures output, raises with the stderr tail.

Commands and the heartbeat of long ones ("… go build running 30s: <last line>") go through
`progress.say`, i.e. the `deployproof.runner` logger.
"""

from __future__ import annotations

import logging
import os
import subprocess
import threading
import time
from collections import deque
from pathlib import Path
from typing import IO, Mapping, Sequence

from .errors import CommandError
from .progress import say

TAIL_LINES = 40


def run(
    cmd: Sequence[str | os.PathLike[str]],
    *,
    env: Mapping[str, str] | None = None,
    cwd: str | os.PathLike[str] | None = None,
    input: str | bytes | None = None,
    timeout: float | None = None,
    check: bool = True,
    quiet: bool = False,
    fix: str = "",
) -> subprocess.CompletedProcess[str]:
    """Run a command to completion and return its captured text output.

    On a non-zero exit (when `check`), raise CommandError carrying the last
    lines of stderr (or stdout if stderr is empty) and the suggested `fix`.
    """
    argv = [str(a) for a in cmd]
    # Quiet commands (polls, probes) show only at debug level (`-v`).
    say("$ " + " ".join(argv)[:400], logging.DEBUG if quiet else logging.INFO)
    full_env = {**os.environ, **env} if env is not None else None
    text_input = input.decode() if isinstance(input, bytes) else input
    try:
        proc = subprocess.run(
            argv,
            env=full_env,
            cwd=cwd,
            input=text_input,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
    except FileNotFoundError as exc:
        if not check:
            return subprocess.CompletedProcess(argv, 127, "", f"{argv[0]}: not found")
        raise CommandError(argv, 127, f"{argv[0]}: not found", fix or f"install {argv[0]} (see `deployproof doctor`)") from exc
    except subprocess.TimeoutExpired as exc:
        printed = exc.stdout.decode(errors="replace") if isinstance(exc.stdout, bytes) else (exc.stdout or "")
        raise CommandError(argv, -1, f"timed out after {timeout}s", fix, output=printed) from exc
    if check and proc.returncode != 0:
        raise CommandError(argv, proc.returncode, _tail(proc.stderr or proc.stdout), fix)
    return proc


def run_streaming(
    cmd: Sequence[str | os.PathLike[str]],
    *,
    log_path: Path,
    env: Mapping[str, str] | None = None,
    cwd: str | os.PathLike[str] | None = None,
    label: str = "",
    heartbeat: float = 30.0,
    fix: str = "",
) -> None:
    """Run a long command, teeing output into `log_path`, printing a heartbeat with the last line.

    Used for builds that take minutes: the person sees it is alive and what it is doing.
    """
    argv = [str(a) for a in cmd]
    say("$ " + " ".join(argv)[:400])
    log_path.parent.mkdir(parents=True, exist_ok=True)
    full_env = {**os.environ, **env} if env is not None else None
    tail: deque[str] = deque(maxlen=TAIL_LINES)
    begun = time.monotonic()
    with open(log_path, "w") as log, subprocess.Popen(
        argv, env=full_env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    ) as proc:
        stop = threading.Event()

        def beat() -> None:
            while not stop.wait(heartbeat):
                last = tail[-1].strip() if tail else "(no output yet)"
                say(f"  … {label or argv[0]} running {time.monotonic() - begun:.0f}s: {last[:120]}")

        ticker = threading.Thread(target=beat, daemon=True)
        ticker.start()
        assert proc.stdout is not None
        _pump(proc.stdout, log, tail)
        returncode = proc.wait()
        stop.set()
    if returncode != 0:
        raise CommandError(argv, returncode, "".join(tail) + f"\n(full log: {log_path})", fix)


def start_background(
    cmd: Sequence[str | os.PathLike[str]],
    *,
    log_path: Path,
    env: Mapping[str, str] | None = None,
) -> subprocess.Popen[bytes]:
    """Start a long-lived child process (a cluster component) writing to its own log file."""
    argv = [str(a) for a in cmd]
    say("& " + " ".join(argv)[:300])
    log_path.parent.mkdir(parents=True, exist_ok=True)
    log = open(log_path, "ab")
    full_env = {**os.environ, **env} if env is not None else None
    # A new session so that a Ctrl-C in the terminal does not kill the cluster; `down` stops it by PID.
    return subprocess.Popen(argv, env=full_env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)


def _pump(stream: IO[str], log: IO[str], tail: deque[str]) -> None:
    for line in stream:
        log.write(line)
        log.flush()
        tail.append(line)


def _tail(text: str) -> str:
    lines = text.strip().splitlines()
    return "\n".join(lines[-TAIL_LINES:])


def run_pipe(producer: Sequence[str | os.PathLike[str]], consumer: Sequence[str | os.PathLike[str]], *, fix: str = "") -> None:
    """`producer | consumer` without a temporary file (e.g. docker save | ctr import); raises on either failing."""
    first, second = [str(a) for a in producer], [str(a) for a in consumer]
    say("$ " + " ".join(first) + " | " + " ".join(second)[:200])
    with subprocess.Popen(first, stdout=subprocess.PIPE, stderr=subprocess.PIPE) as source:
        assert source.stdout is not None
        sink = subprocess.run(second, stdin=source.stdout, capture_output=True, text=True)
        source.stdout.close()
        source_err = source.stderr.read().decode(errors="replace") if source.stderr else ""
        source.wait()
    if source.returncode != 0:
        raise CommandError(first, source.returncode, _tail(source_err), fix)
    if sink.returncode != 0:
        raise CommandError(second, sink.returncode, _tail(sink.stderr or sink.stdout), fix)
