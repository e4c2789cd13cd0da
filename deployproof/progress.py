"""Progress output for long steps: what is happening and how long it has taken."""

from __future__ import annotations

import contextlib
import sys
import time
from typing import Iterator

_start = time.monotonic()


def say(message: str) -> None:
    """Print one progress line with the time since this process started."""
    elapsed = time.monotonic() - _start
    print(f"[{elapsed:7.1f}s] {message}", file=sys.stderr, flush=True)


@contextlib.contextmanager
def step(name: str, timings: dict[str, float] | None = None) -> Iterator[None]:
    """Announce a named step, then report how long it took (also into `timings`)."""
    say(f"▶ {name} …")
    begun = time.monotonic()
    try:
        yield
    except BaseException:
        say(f"✗ {name} failed after {time.monotonic() - begun:.1f}s")
        raise
    took = time.monotonic() - begun
    if timings is not None:
        timings[name] = round(took, 2)
    say(f"✓ {name} ({took:.1f}s)")
