"""The one way to wait: until a condition holds, with a deadline, saying what was awaited and what was seen last.

`watch_until` follows a Kubernetes list through a watch (events, not polling).
`poll_until` is for things nothing can watch (a process' health URL, a socket file)
and backs off between checks. Both raise WaitTimeout naming the condition and the
last observed state, so a failure explains itself.
"""

from __future__ import annotations

import time
from typing import Any, Callable, TypeVar

from .errors import WaitTimeout
from .progress import say

T = TypeVar("T")


def poll_until(
    check: Callable[[], tuple[bool, Any]],
    *,
    description: str,
    timeout: float,
    interval: float = 0.25,
    max_interval: float = 3.0,
    progress_every: float = 20.0,
) -> Any:
    """Call `check` until it returns (True, value); return value.

    `check` returns (done, observation); exceptions count as observations,
    so a refused connection simply means "not yet".
    """
    deadline = time.monotonic() + timeout
    begun = time.monotonic()
    next_report = begun + progress_every
    last: Any = "nothing observed yet"
    while True:
        try:
            done, last = check()
        except Exception as exc:  # noqa: BLE001 - every failure is "not ready yet" until the deadline
            done, last = False, f"{type(exc).__name__}: {exc}"
        if done:
            return last
        now = time.monotonic()
        if now >= deadline:
            raise WaitTimeout(
                f"timed out after {timeout:.0f}s waiting for {description}; last seen: {_short(last)}",
                "see the component logs (deployproof cluster logs) or raise the timeout",
            )
        if now >= next_report:
            say(f"  … still waiting for {description} ({now - begun:.0f}s): {_short(last)}")
            next_report = now + progress_every
        time.sleep(min(interval, max(0.0, deadline - now)))
        interval = min(interval * 1.5, max_interval)


def watch_until(
    list_func: Callable[..., Any],
    predicate: Callable[[list[Any]], tuple[bool, Any]],
    *,
    description: str,
    timeout: float,
    **list_kwargs: Any,
) -> Any:
    """Watch the objects returned by a kubernetes-client `list_*` function until `predicate` holds.

    `predicate` sees the current list of objects (kept up to date from the watch
    events) and returns (done, observation). Returns the observation.
    """
    from kubernetes import watch  # imported here: the CLI's help must work without the client installed

    deadline = time.monotonic() + timeout
    last: Any = "nothing observed yet"
    objects: dict[str, Any] = {}
    begun = time.monotonic()
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise WaitTimeout(
                f"timed out after {timeout:.0f}s waiting for {description}; last seen: {_short(last)}",
                "look at the diagnostics folder (events, pod logs) for why",
            )
        try:
            listing = list_func(**list_kwargs)
            objects = {_key(o): o for o in listing.items}
            done, last = predicate(list(objects.values()))
            if done:
                return last
            stream = watch.Watch().stream(
                list_func,
                resource_version=listing.metadata.resource_version,
                timeout_seconds=max(1, int(min(remaining, 30))),
                **list_kwargs,
            )
            for event in stream:
                obj = event["object"]
                if event["type"] == "DELETED":
                    objects.pop(_key(obj), None)
                elif event["type"] in ("ADDED", "MODIFIED"):
                    objects[_key(obj)] = obj
                done, last = predicate(list(objects.values()))
                if done:
                    return last
                if time.monotonic() >= deadline:
                    break
        except Exception as exc:  # noqa: BLE001 - an expired watch or a blip of the API: list again
            if _is_gone(exc):
                continue
            last = f"{type(exc).__name__}: {exc}"
            time.sleep(1)
        if time.monotonic() - begun > 20:
            say(f"  … still waiting for {description}: {_short(last)}")


def _key(obj: Any) -> str:
    meta = obj.metadata
    return f"{meta.namespace}/{meta.name}"


def _is_gone(exc: Exception) -> bool:
    return getattr(exc, "status", None) == 410


def _short(value: Any, limit: int = 600) -> str:
    text = str(value)
    return text if len(text) <= limit else text[:limit] + " …"
