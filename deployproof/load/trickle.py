"""A light, steady request stream (one GET every `interval_s`) that records every outcome with its time.

Where Locust measures throughput, the trickle answers "did any request fail, when, and how": it
runs beside a pod kill, a rollout or a database outage, and its record gives the failures, the
outage window and which pods answered. Bounded in time (`limit_s`): it stops by itself.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from dataclasses import dataclass

import httpx


@dataclass
class Outcome:
    at: float  # time.monotonic() when the request was sent
    status: int | None  # None: no HTTP answer (connection refused, timeout)
    detail: str  # the error body's first characters, or the exception's name
    took_s: float = 0.0  # until the answer (or the error) came

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


class Trickle(threading.Thread):
    """GETs `url` every `interval_s` until stopped (or `limit_s` passes); use as a context manager."""

    def __init__(self, url: str, headers: dict[str, str] | None = None, interval_s: float = 0.2, limit_s: float = 180,
                 timeout_s: float = 10) -> None:
        super().__init__(daemon=True, name="trickle")
        self.url, self.headers = url, headers or {}
        self.interval_s, self.limit_s, self.timeout_s = interval_s, limit_s, timeout_s
        self.outcomes: list[Outcome] = []
        self.served_by: Counter[str] = Counter()
        self.halt = threading.Event()

    def run(self) -> None:
        deadline = time.monotonic() + self.limit_s
        with httpx.Client(timeout=self.timeout_s) as client:
            while not self.halt.is_set() and time.monotonic() < deadline:
                sent = time.monotonic()
                try:
                    response = client.get(self.url, headers=self.headers)
                    detail = "" if response.is_success else response.text[:160]
                    self.outcomes.append(Outcome(sent, response.status_code, detail, round(time.monotonic() - sent, 2)))
                    if pod := response.headers.get("x-served-by"):
                        self.served_by[pod] += 1
                except httpx.HTTPError as exc:
                    self.outcomes.append(Outcome(sent, None, f"{type(exc).__name__}: {exc}"[:160], round(time.monotonic() - sent, 2)))
                self.halt.wait(self.interval_s)

    @property
    def ok(self) -> int:
        return sum(o.ok for o in self.outcomes)

    @property
    def failures(self) -> list[Outcome]:
        return [o for o in self.outcomes if not o.ok]

    def statuses(self, since: float = 0.0) -> Counter[str]:
        """How often each status (or "no answer") came back after `since` (monotonic)."""
        return Counter(str(o.status) if o.status is not None else "no answer" for o in self.outcomes if o.at >= since)

    def outage_s(self) -> float:
        """Seconds from the first failed request to the first success after the last one (0 when none failed)."""
        failed = self.failures
        if not failed:
            return 0.0
        last = failed[-1].at
        after = [o.at for o in self.outcomes if o.ok and o.at > last]
        end = after[0] if after else last
        return round(end - failed[0].at, 1)

    def first_success_after(self, moment: float) -> float | None:
        return next((o.at for o in self.outcomes if o.ok and o.at >= moment), None)

    def __enter__(self) -> "Trickle":
        self.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self.halt.set()
        self.join(timeout=self.timeout_s + 5)
