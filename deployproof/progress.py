"""Progress of long steps, through `logging`: what is happening and how long it has taken so far.

Every line goes to the `deployproof` logger (to a child named after the calling module, e.g.
`deployproof.runner`) and is shown with the time since this process started:

    [   42.7s] ▶ start kube-apiserver …
    [   49.1s] ✓ start kube-apiserver (6.4s)

Nothing is configured at import. Whoever runs the show attaches one handler to `LOGGER_NAME`:
- the CLI calls `configure_cli_logging(verbosity)` (stderr; -q → warnings only, -v → commands too);
- the pytest plugin adds a handler that writes live to the terminal around pytest's capture, formatted
  by `ProgressFormatter()`, and sets the logger's level (see `attach`).
When nobody has by the first progress line (a script such as `python -m deployproof.images`, a
benchmark), a stderr handler is attached then, so progress is never silently lost.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import time
from pathlib import Path
from types import FrameType
from typing import ContextManager, Iterator

LOGGER_NAME = "deployproof"
# `elapsed` is filled in by ProgressFormatter: seconds since this process started.
PROGRESS_FORMAT = "[%(elapsed)7.1fs] %(message)s"


def _process_age() -> float:
    """Seconds this process has been running (Linux /proc), 0 where that cannot be read."""
    try:
        started_ticks = int(Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()[19])
        uptime = float(Path("/proc/uptime").read_text().split()[0])
        return max(0.0, uptime - started_ticks / os.sysconf("SC_CLK_TCK"))
    except (OSError, ValueError, IndexError):
        return 0.0


PROCESS_STARTED = time.time() - _process_age()


class ProgressFormatter(logging.Formatter):
    """`[  12.3s] message` with the time since process start; warnings and errors say so."""

    def __init__(self, fmt: str = PROGRESS_FORMAT) -> None:
        super().__init__(fmt)

    def format(self, record: logging.LogRecord) -> str:
        record.elapsed = record.created - PROCESS_STARTED
        line = super().format(record)
        if record.levelno >= logging.WARNING:
            head, _, rest = line.partition("] ")
            line = f"{head}] {record.levelname.lower()}: {rest}" if rest else line
        return line


class StderrHandler(logging.StreamHandler):
    """A stream handler on whatever `sys.stderr` is at the time of each line (as `print` would)."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property  # type: ignore[override]
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, _value) -> None:
        pass


_attached: list[logging.Handler] = []


def attach(handler: logging.Handler, *, level: int = logging.INFO, propagate: bool = False) -> logging.Handler:
    """Show progress through `handler` (formatted by ProgressFormatter unless it has a formatter).

    Replaces a handler attached earlier through this function. `propagate=False` keeps the lines
    from reaching the root logger's handlers too (which would print them a second time).
    """
    logger = logging.getLogger(LOGGER_NAME)
    for old in _attached:
        logger.removeHandler(old)
    _attached.clear()
    if handler.formatter is None:
        handler.setFormatter(ProgressFormatter())
    logger.addHandler(handler)
    logger.setLevel(level)
    logger.propagate = propagate
    _attached.append(handler)
    return handler


def configure_cli_logging(verbosity: int = 0) -> logging.Handler:
    """Progress on stderr for the command line: verbosity < 0 (-q) warnings only, 0 steps, > 0 also every command."""
    level = logging.WARNING if verbosity < 0 else logging.INFO if verbosity == 0 else logging.DEBUG
    return attach(StderrHandler(), level=level)


def _ensure_shown() -> None:
    """Attach the stderr handler when the program configured nothing for our logger."""
    logger = logging.getLogger(LOGGER_NAME)
    if not _attached and not logger.handlers and logger.level == logging.NOTSET:
        attach(StderrHandler())


def _logger_for(frame: FrameType | None) -> logging.Logger:
    """The calling module's logger when it is one of ours (`deployproof.runner`), else `deployproof`."""
    module = frame.f_globals.get("__name__", "") if frame is not None else ""
    return logging.getLogger(module if module.startswith(LOGGER_NAME + ".") else LOGGER_NAME)


def say(message: str, level: int = logging.INFO) -> None:
    """Log one progress line (shown with the time since this process started)."""
    _ensure_shown()
    _logger_for(sys._getframe(1)).log(level, message)


def step(name: str, timings: dict[str, float] | None = None) -> ContextManager[None]:
    """Announce a named step, then log how long it took (also into `timings`, in seconds)."""
    _ensure_shown()
    return _step(_logger_for(sys._getframe(1)), name, timings)


@contextlib.contextmanager
def _step(logger: logging.Logger, name: str, timings: dict[str, float] | None) -> Iterator[None]:
    logger.info(f"▶ {name} …", extra={"step": name})
    begun = time.monotonic()
    try:
        yield
    except BaseException:
        took = time.monotonic() - begun
        logger.error(f"✗ {name} failed after {took:.1f}s", extra={"step": name, "seconds": took})
        raise
    took = time.monotonic() - begun
    if timings is not None:
        timings[name] = round(took, 2)
    logger.info(f"✓ {name} ({took:.1f}s)", extra={"step": name, "seconds": took})
