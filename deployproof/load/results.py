"""A Locust run's CSV files as dataclasses: per endpoint (the whole run), over time (one point a second), per step.

Locust writes `<prefix>_stats.csv` (cumulative per endpoint plus "Aggregated") and, with
--csv-full-history, `<prefix>_stats_history.csv`: a row a second per endpoint and for the aggregate,
whose percentiles cover the last ~10 seconds and whose "Total …" columns are cumulative.
The locustfile adds `<prefix>_scenario.json` (what it ran) and `<prefix>_timeline.jsonl` (when its steps
changed, written as they happen, so a test can act at a step's start and end while the run goes on) and
`<prefix>_requests.csv` (a line per request as it ended: a step's percentiles cover all of its requests).
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass, field
from pathlib import Path

from ..percentiles import percentile

AGGREGATED = "Aggregated"
# The files the locustfile writes next to Locust's (it imports these names; a real run in the unit tests reads them).
SCENARIO_SUFFIX = "_scenario.json"
TIMELINE_SUFFIX = "_timeline.jsonl"
REQUESTS_SUFFIX = "_requests.csv"
MIN_STEP_POINTS = 5  # a plateau of the user count shorter than this is a ramp, not a step


@dataclass
class EndpointStats:
    """One endpoint over the whole run (or the whole run's aggregate, name "Aggregated")."""

    method: str
    name: str
    requests: int
    failures: int
    rps: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    avg_ms: float
    max_ms: float

    @property
    def label(self) -> str:
        return f"{self.method} {self.name}".strip()

    @property
    def failure_ratio(self) -> float:
        return self.failures / self.requests if self.requests else 0.0


@dataclass
class HistoryPoint:
    """The aggregate at one second of the run: current throughput, recent latency, cumulative counts."""

    timestamp: float
    users: int
    rps: float
    failures_per_s: float
    p50_ms: float | None
    p95_ms: float | None
    p99_ms: float | None
    total_requests: int
    total_failures: int


@dataclass(frozen=True)
class RequestRecord:
    """One request of the run, as the locustfile logged it when it ended."""

    at: float  # epoch seconds its answer (or error) arrived
    label: str  # "METHOD name", as EndpointStats.label
    ms: float
    ok: bool


@dataclass
class StepStats:
    """One plateau of the user count: throughput from the counts; latency over every request that ended in it
    (`samples` of them), or over Locust's last ~10 seconds of it when the run logged no requests (samples None)."""

    users: int
    start: float
    end: float
    requests: int
    failures: int
    rps: float
    p50_ms: float | None
    p95_ms: float | None
    p99_ms: float | None
    samples: int | None = None

    @property
    def seconds(self) -> float:
        return self.end - self.start


@dataclass
class LoadResult:
    """Everything one run measured; `total` is the "Aggregated" row."""

    endpoints: list[EndpointStats]
    total: EndpointStats
    history: list[HistoryPoint]
    requests: list[RequestRecord] = field(default_factory=list)
    served_by: dict[str, int] = field(default_factory=dict)
    served_by_first_seen: dict[str, float] = field(default_factory=dict)
    started_at: float = 0.0  # epoch seconds the Locust process started
    ended_at: float = 0.0
    folder: Path | None = None

    def endpoint(self, label: str) -> EndpointStats:
        """The endpoint whose "METHOD name" is `label`, e.g. "GET /api/[user]/tasks"."""
        for item in self.endpoints:
            if item.label == label:
                return item
        raise KeyError(f"{label!r} not in {[e.label for e in self.endpoints]}")

    def steps(self) -> list[StepStats]:
        return steps_from_history(self.history, self.requests or None)


def _number(text: str) -> float | None:
    try:
        return float(text)
    except (TypeError, ValueError):
        return None  # "N/A" before the first request


def parse_stats(path: Path) -> tuple[list[EndpointStats], EndpointStats]:
    """(endpoints, aggregate) from `<prefix>_stats.csv`."""
    endpoints: list[EndpointStats] = []
    total: EndpointStats | None = None
    with open(path, newline="") as handle:
        for row in csv.DictReader(handle):
            item = EndpointStats(
                method=row["Type"], name=row["Name"], requests=int(row["Request Count"]), failures=int(row["Failure Count"]),
                rps=round(float(row["Requests/s"]), 2), p50_ms=_number(row["50%"]) or 0.0, p95_ms=_number(row["95%"]) or 0.0,
                p99_ms=_number(row["99%"]) or 0.0, avg_ms=round(float(row["Average Response Time"]), 1),
                max_ms=round(float(row["Max Response Time"]), 1),
            )
            if item.name == AGGREGATED:
                total = item
            else:
                endpoints.append(item)
    if total is None:
        raise ValueError(f"{path}: no Aggregated row (did the run end before its first stats?)")
    return endpoints, total


def parse_history(path: Path) -> list[HistoryPoint]:
    """The aggregate's points from `<prefix>_stats_history.csv` (endpoint rows are skipped)."""
    points = []
    with open(path, newline="") as handle:
        for row in csv.DictReader(handle):
            if row["Name"] != AGGREGATED:
                continue
            points.append(HistoryPoint(
                timestamp=float(row["Timestamp"]), users=int(row["User Count"]), rps=float(row["Requests/s"]),
                failures_per_s=float(row["Failures/s"]), p50_ms=_number(row["50%"]), p95_ms=_number(row["95%"]),
                p99_ms=_number(row["99%"]), total_requests=int(row["Total Request Count"]),
                total_failures=int(row["Total Failure Count"]),
            ))
    return points


def read_requests(path: Path) -> list[RequestRecord]:
    """`<prefix>_requests.csv`, in the order the requests ended; none when the run wrote no such file."""
    if not path.exists():
        return []
    with open(path, newline="") as handle:
        return [RequestRecord(at=float(row["at"]), label=f"{row['type']} {row['name']}".strip(), ms=float(row["ms"]), ok=row["ok"] == "1")
                for row in csv.DictReader(handle)]


def steps_from_history(history: list[HistoryPoint], requests: list[RequestRecord] | None = None,
                       min_points: int = MIN_STEP_POINTS) -> list[StepStats]:
    """Plateaus of the user count (at least `min_points` seconds), each with its throughput and latency.

    Throughput is exact (cumulative counts at the plateau's ends). Latency covers every request that ended on
    the plateau when `requests` are given: a 20-user step's p95 rests on ~600 requests, where Locust's own
    window of the last ~10 seconds holds ~180 and one slow second moves it. Without them, that window is used.
    """
    steps: list[StepStats] = []
    run: list[HistoryPoint] = []
    for point in history + [None]:  # type: ignore[list-item]
        if run and (point is None or point.users != run[0].users):
            if len(run) >= min_points and run[0].users > 0:
                first, last = run[0], run[-1]
                seconds = max(last.timestamp - first.timestamp, 1.0)
                count = last.total_requests - first.total_requests
                latency: tuple[float | None, float | None, float | None, int | None] = (last.p50_ms, last.p95_ms, last.p99_ms, None)
                if requests is not None:
                    times = [r.ms for r in requests if first.timestamp < r.at <= last.timestamp]
                    latency = (percentile(times, 50), percentile(times, 95), percentile(times, 99), len(times))
                steps.append(StepStats(
                    users=first.users, start=first.timestamp, end=last.timestamp, requests=count,
                    failures=last.total_failures - first.total_failures, rps=round(count / seconds, 2),
                    p50_ms=latency[0], p95_ms=latency[1], p99_ms=latency[2], samples=latency[3],
                ))
            run = []
        if point is not None:
            run.append(point)
    return steps


LATENCY_FLOOR_MS = 100.0  # p95 "doubling" from 20 to 41 ms is noise, not a knee: latency counts from this floor


def find_knee(steps: list[StepStats], efficiency: float = 0.5, latency_factor: float | None = 2.0,
              latency_floor_ms: float = LATENCY_FLOOR_MS) -> StepStats | None:
    """The first step past which adding users stops paying: throughput per added user falls below
    `efficiency` of the first step's per-user throughput, or (unless `latency_factor` is None) p95 grows
    beyond `latency_factor` times the first step's (counted from `latency_floor_ms`, so a fast app's small
    jitter is no knee)."""
    if len(steps) < 2 or steps[0].users <= 0:
        return None
    base = steps[0]
    per_user = base.rps / base.users
    for previous, current in zip(steps, steps[1:]):
        added = current.users - previous.users
        gain = (current.rps - previous.rps) / added if added > 0 else per_user
        slower = bool(latency_factor is not None and base.p95_ms is not None and current.p95_ms is not None
                      and current.p95_ms > latency_factor * max(base.p95_ms, latency_floor_ms))
        if gain < efficiency * per_user or slower:
            return current
    return None


@dataclass(frozen=True)
class StepLoadBounds:
    """What a step load must show. Each bound is on a measured figure and can fail:

    - `scales_to_users`: throughput keeps rising (no knee) at least up to this many users; the knee is where
      throughput stops rising (latency is bounded separately, so it does not define the knee: a knee set by
      latency would make the p95 bound below it hold by construction);
    - `p95_ms`: every step below the knee answers 95 % of requests within this;
    - below the knee no request fails;
    - past the knee throughput levels off but does not collapse: no step falls below `collapse_ratio`
      of the best throughput measured before it.
    """

    scales_to_users: int
    p95_ms: float
    collapse_ratio: float = 0.75


@dataclass
class StepLoadAssessment:
    steps: list[StepStats]
    knee: StepStats | None
    problems: list[str]

    @property
    def below_knee(self) -> list[StepStats]:
        return [s for s in self.steps if self.knee is None or s.users < self.knee.users]

    @property
    def knee_text(self) -> str:
        if self.knee is None:
            return f"none up to {self.steps[-1].users if self.steps else 0} users"
        return f"{self.knee.users} users ({self.knee.rps} rps, p95 {self.knee.p95_ms} ms)"


def assess_step_load(steps: list[StepStats], bounds: StepLoadBounds) -> StepLoadAssessment:
    """The knee of a step load and every bound it breaks (empty `problems`: the run meets them all)."""
    problems: list[str] = []
    if len(steps) < 2:
        return StepLoadAssessment(steps, None, [f"{len(steps)} step(s) measured: a knee needs at least two"])
    knee = find_knee(steps, latency_factor=None)
    assessment = StepLoadAssessment(steps, knee, problems)
    if knee is not None and knee.users <= bounds.scales_to_users:
        before = steps[steps.index(knee) - 1]
        problems.append(f"throughput stopped rising at {knee.users} users ({before.rps} → {knee.rps} rps from {before.users} users); "
                        f"it must keep rising up to {bounds.scales_to_users} users")
    for step in assessment.below_knee:
        if step.p95_ms is None or step.p95_ms > bounds.p95_ms:
            problems.append(f"p95 {step.p95_ms} ms at {step.users} users (below the knee) exceeds {bounds.p95_ms:g} ms")
        if step.failures:
            problems.append(f"{step.failures} of {step.requests} requests failed at {step.users} users (below the knee)")
    best = 0.0
    for step in steps:
        if best and step.rps < bounds.collapse_ratio * best:
            problems.append(f"throughput collapsed to {step.rps} rps at {step.users} users, under {bounds.collapse_ratio:g} of "
                            f"the {best} rps measured with fewer users")
        best = max(best, step.rps)
    return assessment


def read_served_by(path: Path) -> tuple[dict[str, int], dict[str, float]]:
    """(pod → requests answered, pod → epoch first seen) as the locustfile wrote them."""
    if not path.exists():
        return {}, {}
    data = json.loads(path.read_text())
    return dict(data.get("counts", {})), dict(data.get("first_seen", {}))


@dataclass(frozen=True)
class Scenario:
    """The step-load scenario as the Locust process ran it (read from its user class, not restated by hand)."""

    user_class: str
    task_weights: dict[str, int]
    wait_min_s: float
    wait_max_s: float
    steps: tuple[tuple[int, float], ...]
    spawn_rate: float | None

    @property
    def steps_text(self) -> str:
        return ", ".join(f"{users} users for {seconds:g} s" for users, seconds in self.steps)

    @property
    def tasks_text(self) -> str:
        return ", ".join(f"{name} {weight}" for name, weight in sorted(self.task_weights.items(), key=lambda item: (-item[1], item[0])))


def read_scenario(prefix: Path) -> Scenario:
    """The scenario the locustfile recorded beside `<prefix>_stats.csv`."""
    data = json.loads(Path(f"{prefix}{SCENARIO_SUFFIX}").read_text())
    return Scenario(
        user_class=data["user_class"], task_weights={k: int(v) for k, v in data["task_weights"].items()},
        wait_min_s=float(data["wait_s"]["min"]), wait_max_s=float(data["wait_s"]["max"]),
        steps=tuple((int(s["users"]), float(s["seconds"])) for s in data["steps"]),
        spawn_rate=None if data.get("spawn_rate") is None else float(data["spawn_rate"]),
    )


@dataclass(frozen=True)
class StepEvent:
    at: float  # epoch seconds
    event: str  # "target": the shape moved to a step (its ramp begins) · "spawned": every user of the step runs
    users: int
    seconds: float | None = None  # of a "target": how long the shape holds the step from here


@dataclass(frozen=True)
class Plateau:
    """When a step's users were all running (`reached`), when the shape plans to move on (`due`) and when it did
    (`left`, None: not yet)."""

    users: int
    reached: float
    due: float | None
    left: float | None

    def ending(self, now: float, lead_s: float) -> bool:
        """The shape moved on, or will within `lead_s` (a snapshot taken now still sees only this step's users)."""
        return self.left is not None or (self.due is not None and now >= self.due - lead_s)


def read_timeline(prefix: Path) -> list[StepEvent]:
    """The step changes written so far (a line being written at this moment is left for the next read)."""
    path = Path(f"{prefix}{TIMELINE_SUFFIX}")
    if not path.exists():
        return []
    events = []
    for line in path.read_text().splitlines():
        try:
            data = json.loads(line)
        except ValueError:
            continue
        seconds = data.get("seconds")
        events.append(StepEvent(float(data["at"]), str(data["event"]), int(data["users"]), None if seconds is None else float(seconds)))
    return events


def plateau(events: list[StepEvent], users: int) -> Plateau | None:
    """The first plateau at `users`: from "spawned" at that count to the next "target" (None before it is reached)."""
    reached = next((e for e in events if e.event == "spawned" and e.users == users), None)
    if reached is None:
        return None
    target = next((e for e in reversed(events) if e.event == "target" and e.users == users and e.at <= reached.at), None)
    due = target.at + target.seconds if target is not None and target.seconds is not None else None
    left = next((e.at for e in events if e.event == "target" and e.at >= reached.at and e.users != users), None)
    return Plateau(users, reached.at, due, left)
