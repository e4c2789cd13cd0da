"""The load library without a cluster: plans and their bounds, the target rule at the run, CSV parsing, steps and
the knee, the trickle's outage arithmetic, the plot, and one short real Locust run against a fake app
on 127.0.0.1 (the locustfile's whole user journey, end to end, in a few seconds)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from deployproof.errors import DeployProofError
from deployproof.load import LoadPlan, StepLoadBounds, assess_step_load, find_knee, run_load, steps_from_history
from deployproof.load.headless import LOCUSTFILE, LoadRun
from deployproof.load.plot import plot_run
from deployproof.load.replicas import ReplicaSample
from deployproof.load.results import HistoryPoint, LoadResult, parse_history, parse_stats
from deployproof.load.targets import LoadRefused, LoadTargets
from deployproof.load.trickle import Outcome, Trickle

STATS_CSV = """Type,Name,Request Count,Failure Count,Median Response Time,Average Response Time,Min Response Time,Max Response Time,Average Content Size,Requests/s,Failures/s,50%,66%,75%,80%,90%,95%,98%,99%,99.9%,99.99%,100%
GET,/api/[user]/tasks,12,1,25,43.0,13.6,120.4,222.75,1.16,0.1,25,35,71,71,110,120,120,120,120,120,120
POST,/api/auth/sign-up/email,3,0,1900,1892.1,1878.0,1904.0,300,0.29,0.0,1900,1900,1900,1900,1900,1900,1900,1900,1900,1900,1900
,Aggregated,15,1,35,250.0,12.0,1904.0,250,3.0,0.1,35,110,130,150,420,1900,1900,1900,1900,1900,1900
"""


def _history_csv(rows: list[tuple[int, int, int, int, str]]) -> str:
    """(timestamp, users, total requests, total failures, p95) → a stats_history file with endpoint rows mixed in."""
    header = ("Timestamp,User Count,Type,Name,Requests/s,Failures/s,50%,66%,75%,80%,90%,95%,98%,99%,99.9%,99.99%,100%,"
              "Total Request Count,Total Failure Count,Total Median Response Time,Total Average Response Time,"
              "Total Min Response Time,Total Max Response Time,Total Average Content Size")
    lines = [header]
    for ts, users, total, failed, p95 in rows:
        lines.append(f"{ts},{users},GET,/api/[user]/tasks,1.0,0.0,10,10,10,10,10,10,10,10,10,10,10,{total},{failed},10,10,1,20,5")
        lines.append(f"{ts},{users},,Aggregated,2.0,0.0,20,20,20,20,20,{p95},{p95},{p95},{p95},{p95},{p95},{total},{failed},20,20,1,40,5")
    return "\n".join(lines) + "\n"


def test_stats_csv_becomes_endpoints_and_the_aggregate(tmp_path: Path) -> None:
    path = tmp_path / "run_stats.csv"
    path.write_text(STATS_CSV)
    endpoints, total = parse_stats(path)
    assert [e.label for e in endpoints] == ["GET /api/[user]/tasks", "POST /api/auth/sign-up/email"]
    tasks = endpoints[0]
    assert (tasks.requests, tasks.failures, tasks.p50_ms, tasks.p95_ms, tasks.p99_ms) == (12, 1, 25, 120, 120)
    assert total.name == "Aggregated" and total.requests == 15 and total.rps == 3.0 and total.p95_ms == 1900
    assert round(total.failure_ratio, 3) == round(1 / 15, 3)


def test_history_keeps_the_aggregate_and_steps_are_plateaus_of_the_user_count(tmp_path: Path) -> None:
    rows = [(100, 0, 0, 0, "N/A")]
    rows += [(101 + i, 5, 10 * i, 0, "200") for i in range(10)]  # 5 users: 10 requests a second
    rows += [(111, 7, 95, 0, "200")]  # a one-second ramp: not a step
    rows += [(112 + i, 10, 100 + 18 * i, i // 5, "450") for i in range(10)]
    path = tmp_path / "run_stats_history.csv"
    path.write_text(_history_csv(rows))
    history = parse_history(path)
    assert len(history) == len(rows) and history[0].p95_ms is None
    steps = steps_from_history(history)
    assert [s.users for s in steps] == [5, 10]
    assert steps[0].requests == 90 and steps[0].rps == 10.0 and steps[0].p95_ms == 200
    assert steps[1].requests == 162 and steps[1].failures == 1 and steps[1].rps == 18.0 and steps[1].p95_ms == 450


def test_a_steps_latency_covers_every_request_that_ended_on_its_plateau() -> None:
    from deployproof.load.results import RequestRecord, percentile

    history = [HistoryPoint(100 + i, 5, 10, 0, 20, 900, 900, 10 * i, 0) for i in range(10)]
    # 100 requests on the plateau (100, 109]: 94 fast, 6 slow; Locust's window (900 ms) is not what counts.
    inside = [RequestRecord(100.5 + i * 0.085, "GET /api/[user]/tasks", 600.0 if i % 17 == 0 else 40.0, True) for i in range(100)]
    outside = [RequestRecord(99.0, "POST /api/auth/sign-up/email", 5000.0, True), RequestRecord(109.5, "POST /api/[user]/chat", 5000.0, True)]
    [step] = steps_from_history(history, outside[:1] + inside + outside[1:])
    assert step.samples == 100 and step.p50_ms == 40.0 and step.p95_ms == 600.0 and step.p99_ms == 600.0
    [step] = steps_from_history(history, [r for r in inside if r.ms < 100])
    assert step.p95_ms == 40.0
    [step] = steps_from_history(history)  # no request log: Locust's window at the plateau's end
    assert step.samples is None and step.p95_ms == 900
    [step] = steps_from_history(history, [])  # a log with nothing on the plateau: no figure, not a fast one
    assert step.samples == 0 and step.p95_ms is None
    assert percentile([5.0, 1.0, 3.0, 2.0, 4.0], 95) == 5.0 and percentile([5.0, 1.0, 3.0, 2.0, 4.0], 50) == 3.0
    assert percentile([], 95) is None


def _step(users: int, rps: float, p95: float):
    from deployproof.load.results import StepStats

    return StepStats(users, 0, 30, int(rps * 30), 0, rps, 20, p95, p95)


def test_knee_is_where_added_users_stop_adding_throughput_or_latency_doubles() -> None:
    assert find_knee([_step(5, 5, 100), _step(10, 10, 110), _step(20, 19, 120)]) is None
    assert find_knee([_step(5, 5, 100), _step(10, 10, 110), _step(20, 11, 130)]).users == 20
    assert find_knee([_step(5, 5, 100), _step(10, 10, 250)]).users == 10
    assert find_knee([_step(5, 5, 100)]) is None
    # a fast app's jitter (20 → 45 ms) is no knee: latency counts from 100 ms
    assert find_knee([_step(5, 5, 20), _step(10, 10, 45), _step(20, 20, 90)]) is None


BOUNDS = StepLoadBounds(scales_to_users=10, p95_ms=1000)


def _failing(step, failures: int):
    step.failures = failures
    return step


def test_a_step_load_that_scales_then_levels_off_meets_its_bounds_and_reports_the_knee() -> None:
    assessment = assess_step_load([_step(5, 5, 100), _step(10, 10, 120), _step(20, 19, 180), _step(30, 21, 1900)], BOUNDS)
    assert assessment.problems == []  # p95 past the knee is reported, not bounded
    assert assessment.knee.users == 30 and [s.users for s in assessment.below_knee] == [5, 10, 20]
    assert assessment.knee_text.startswith("30 users")


def test_latency_jitter_is_no_knee_of_a_step_load_whose_throughput_keeps_rising() -> None:
    # measured on the embedded cluster: linear throughput, p95 96 → 230 → 200 → 74 ms
    assessment = assess_step_load([_step(5, 4.87, 96), _step(10, 9.69, 230), _step(20, 18.61, 200), _step(30, 29.79, 74)], BOUNDS)
    assert assessment.knee is None and assessment.problems == [] and assessment.knee_text == "none up to 30 users"


@pytest.mark.parametrize("steps, problem", [
    ([_step(5, 5, 100), _step(10, 5.5, 120), _step(20, 6, 130)], "stopped rising at 10 users"),  # saturated at once
    ([_step(5, 5, 1100), _step(10, 10, 1200), _step(20, 20, 1300)], "p95 1100 ms at 5 users"),  # slow from the start
    ([_step(5, 5, 100), _step(10, 10, 1200), _step(20, 20, 1300)], "p95 1200 ms at 10 users"),  # slower, still scaling
    ([_failing(_step(5, 5, 100), 3), _step(10, 10, 120)], "3 of 150 requests failed at 5 users"),
    ([_step(5, 5, 100), _step(10, 10, 120), _step(20, 19, 300), _step(30, 9, 900)], "collapsed to 9 rps at 30 users"),
    ([_step(5, 5, 100)], "a knee needs at least two"),
])
def test_each_bound_of_a_step_load_can_fail(steps, problem) -> None:
    problems = assess_step_load(steps, BOUNDS).problems
    assert any(problem in p for p in problems), problems


def test_plans_are_bounded_in_users_and_time() -> None:
    assert LoadPlan(steps=((5, 30), (10, 30))).bound_s == 70 and LoadPlan(steps=((5, 30), (10, 30))).peak_users == 10
    for plan in (LoadPlan(users=500), LoadPlan(users=5, run_time_s=3600), LoadPlan(users=5, weights={"delete": 1})):
        with pytest.raises(DeployProofError):
            plan.check()


@pytest.mark.parametrize("url", ["http://127.0.0.1:30080", "http://localhost:30080", "http://[::1]:30080"])
def test_loopback_targets_are_accepted_by_default(url: str, tmp_path: Path) -> None:
    run = LoadRun(LoadPlan(users=1), url, tmp_path)
    assert run.allowed_as == "loopback"
    assert json.loads(run._environment()["DEPLOYPROOF_LOAD_TARGETS"]) == {"own": [], "allowed": []}


@pytest.mark.parametrize("url", ["http://10.99.0.1:30080", "http://192.168.49.2:30080", "http://203.0.113.9"])
def test_any_other_target_is_refused_before_locust_starts(url: str, tmp_path: Path) -> None:
    with pytest.raises(LoadRefused, match="refusing to put load on") as refused:
        LoadRun(LoadPlan(users=1), url, tmp_path)
    assert "--allow-load-to" in refused.value.fix
    assert not list(tmp_path.iterdir())  # nothing started, nothing written


def test_the_run_hands_its_rule_to_the_locustfile(tmp_path: Path) -> None:
    targets = LoadTargets(own=("172.18.0.3",), allowed=("10.0.0.0/8",))
    run = LoadRun(LoadPlan(users=1), "http://172.18.0.3:30080", tmp_path, targets)
    assert run.allowed_as == "a node of a cluster deployproof created"
    assert LoadTargets.from_env(run._environment()) == targets


def test_the_locustfile_itself_refuses_other_hosts() -> None:
    # In a child process: importing locust monkey-patches the interpreter (gevent). No request is made.
    probe = (
        "import importlib.util, types, sys\n"
        f"spec = importlib.util.spec_from_file_location('lf', {str(LOCUSTFILE)!r}); lf = importlib.util.module_from_spec(spec)\n"
        "spec.loader.exec_module(lf)\n"
        "lf._only_allowed_targets(environment=types.SimpleNamespace(host='http://127.0.0.1:30080'))\n"
        "lf._only_allowed_targets(environment=types.SimpleNamespace(host='http://172.18.0.3:30080'))  # ours, by the rule handed down\n"
        "try:\n    lf._only_allowed_targets(environment=types.SimpleNamespace(host='http://10.99.0.1:30080'))\n"
        "except SystemExit as exc:\n    print('refused:', exc)\n"
        "print(lf.parse_steps('5:30, 10:12.5'))\n"
    )
    env = {**os.environ, **LoadTargets(own=("172.18.0.3",)).to_env()}
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, env=env)
    assert out.returncode == 0, out.stderr
    assert "refused: refusing to put load on http://10.99.0.1:30080: 10.99.0.1 is not loopback" in out.stdout
    assert "[(5, 30.0), (10, 12.5)]" in out.stdout


def test_trickle_outage_runs_from_the_first_failure_to_the_next_success() -> None:
    trickle = Trickle("http://127.0.0.1:9/unused")
    trickle.outcomes = [Outcome(0.0, 200, ""), Outcome(1.0, 502, "x"), Outcome(1.5, None, "refused"), Outcome(2.0, 200, ""),
                        Outcome(2.5, 200, "")]
    assert trickle.ok == 3 and len(trickle.failures) == 2
    assert trickle.outage_s() == 1.0
    assert trickle.first_success_after(1.2) == 2.0
    assert trickle.statuses(0.5) == {"502": 1, "no answer": 1, "200": 2}


def test_plot_writes_a_png(tmp_path: Path) -> None:
    history = [HistoryPoint(100 + i, 5, 4.0, 0.0, 20.0, 80.0, 90.0, 4 * i, 0) for i in range(20)]
    result = LoadResult(endpoints=[], total=None, history=history, started_at=100)  # type: ignore[arg-type]
    samples = [ReplicaSample(100 + i, "todo-backend", 2 + (i > 10), 2 + (i > 12)) for i in range(20)]
    path = plot_run(result, samples, tmp_path / "plot.png", "test", marks=[(110, "scale-out")])
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


class FakeApp(BaseHTTPRequestHandler):
    """Just enough of the frontend's API for the locustfile's journey; answers as two "backend pods"."""

    tasks: dict[str, list[dict]] = {}
    counter = 0

    def log_message(self, *args) -> None:  # quiet
        pass

    def _answer(self, status: int, body: object, served_by: bool = False) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        if served_by:
            FakeApp.counter += 1
            self.send_header("X-Served-By", f"todo-backend-{FakeApp.counter % 2}")
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        if self.path == "/api/auth/token":
            self._answer(200, {"token": "jwt"})
        else:
            self._answer(200, [], served_by=True)

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if self.path == "/api/auth/sign-up/email":
            assert self.headers["Origin"].startswith("http://127.0.0.1")
            self._answer(200, {"user": {"id": uuid.uuid4().hex}, "token": "session"})
        elif self.path.endswith("/chat"):
            self._answer(200, {"conversation_id": 1, "response": "ok", "tool_calls": []}, served_by=True)
        else:
            FakeApp.counter += 1
            self._answer(201, {"id": FakeApp.counter, "title": "t"}, served_by=True)

    def do_PATCH(self) -> None:
        self._answer(200, {"id": 1, "completed": True}, served_by=True)


def test_a_short_real_run_against_a_fake_app_on_loopback(tmp_path: Path) -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeApp)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        plan = LoadPlan(steps=((2, 3), (4, 3)), spawn_rate=4, wait_s=(0.05, 0.1))
        result = run_load(plan, f"http://127.0.0.1:{server.server_address[1]}", tmp_path)
    finally:
        server.shutdown()
    labels = {e.label for e in result.endpoints}
    assert {"POST /api/auth/sign-up/email", "GET /api/auth/token", "GET /api/[user]/tasks", "POST /api/[user]/tasks"} <= labels
    assert result.total.requests > 20 and result.total.failures == 0
    assert set(result.served_by) == {"todo-backend-0", "todo-backend-1"}
    assert result.history and max(p.users for p in result.history) == 4
    # The locustfile's request log: every request Locust counted, under the same labels, in the run's time (a
    # request of each of the 4 users may end as Locust stops, after its final stats were written: seen once in 7).
    assert result.total.requests <= len(result.requests) <= result.total.requests + 4
    assert {r.label for r in result.requests} == labels
    assert all(r.ok and result.started_at <= r.at <= result.ended_at for r in result.requests)
