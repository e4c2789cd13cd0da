"""The app's users, simulated: each signs up through Better Auth, takes its JWT, then lists, adds and
completes its tasks and chats with the assistant, thinking a little between actions.

Run it through deployproof.load.headless (headless, bounded users and time). Every setting is an
environment variable, so one file serves every run:

  DEPLOYPROOF_LOAD_WEIGHT_LIST, _ADD, _COMPLETE, _CHAT   how often each action is picked (default 4, 2, 2, 1)
  DEPLOYPROOF_LOAD_WAIT_MIN, DEPLOYPROOF_LOAD_WAIT_MAX   seconds a user thinks between actions (default 0.5, 1.5)
  DEPLOYPROOF_LOAD_STEPS       "users:seconds,…" — ramp in steps (a load shape) instead of --users
  DEPLOYPROOF_LOAD_SPAWN_RATE  users started (or stopped) per second between steps (default 2)
  DEPLOYPROOF_LOAD_SERVED_BY   file the X-Served-By counts (which backend pod answered) are written to at the end

Beside Locust's CSV files (same --csv prefix) it writes what it ran and when its steps changed:
  <prefix>_scenario.json   the scenario as this process runs it: task weights, wait times, steps, spawn rate
  <prefix>_timeline.jsonl  a line per step change, flushed at once, so a test can follow the run live
  <prefix>_requests.csv    a line per request (when its answer came, name, milliseconds, ok): a step's percentiles
                           over every request of its plateau, not Locust's ~10-second window at its end

The target must pass deployproof.load.targets' rule (loopback, a node of a cluster deployproof created, or what
--allow-load-to names; the parent hands the rule down in DEPLOYPROOF_LOAD_TARGETS): any other --host stops the run
before the first request.
"""

from __future__ import annotations

import csv
import json
import os
import random
import time
import uuid
from collections import Counter

from locust import LoadTestShape, between, events, task
from locust.contrib.fasthttp import FastHttpUser

from deployproof.load.results import REQUESTS_SUFFIX, SCENARIO_SUFFIX, TIMELINE_SUFFIX  # next to Locust's CSV files
from deployproof.load.targets import LoadRefused, LoadTargets

TOKEN_REFRESH_S = 600  # Better Auth's JWTs live 15 minutes; runs are far shorter, but a long one stays signed in


def _why(response) -> str:
    """Status and body, or the connection error when there was no HTTP answer (status 0)."""
    if not response.status_code and getattr(response, "error", None) is not None:
        return f"no answer: {response.error!r}"[:160]
    return f"{response.status_code} {(response.text or '')[:120]}"


def _env_number(name: str, default: float) -> float:
    raw = os.environ.get(name, "")
    try:
        return float(raw) if raw else default
    except ValueError:
        raise SystemExit(f"{name}={raw!r} is not a number") from None


def _weight(action: str, default: int) -> int:
    return max(0, int(_env_number(f"DEPLOYPROOF_LOAD_WEIGHT_{action.upper()}", default)))


def parse_steps(spec: str) -> list[tuple[int, float]]:
    """'5:30,10:30' → [(5, 30.0), (10, 30.0)]: users held for seconds, in order."""
    steps = []
    for part in filter(None, (p.strip() for p in spec.split(","))):
        users, _, seconds = part.partition(":")
        steps.append((int(users), float(seconds)))
    return steps


STEPS = parse_steps(os.environ.get("DEPLOYPROOF_LOAD_STEPS", ""))
SPAWN_RATE = _env_number("DEPLOYPROOF_LOAD_SPAWN_RATE", 2)
WAIT_MIN_S = _env_number("DEPLOYPROOF_LOAD_WAIT_MIN", 0.5)
WAIT_MAX_S = _env_number("DEPLOYPROOF_LOAD_WAIT_MAX", 1.5)
CHAT_MESSAGES = (
    "show my tasks",
    "what's left to do?",
    "add a task to water the plants",
    "remind me to call the bank",
    "show completed tasks",
)

# Which backend pod answered (the backend's X-Served-By, passed back by the frontend's proxy).
served_by: Counter[str] = Counter()
first_seen: dict[str, float] = {}


@events.init.add_listener
def _only_allowed_targets(environment, **_kwargs) -> None:
    # SystemExit passes through Locust's event hooks: the process ends before any user starts.
    try:
        LoadTargets.from_env(os.environ).check(environment.host or "")
    except LoadRefused as exc:
        raise SystemExit(f"{exc.cause}\n  fix: {exc.fix}") from None


_timeline_path = ""


def _csv_prefix(environment) -> str:
    return getattr(environment.parsed_options, "csv_prefix", None) or ""


def _mark(event: str, users: int, seconds: float | None = None) -> None:
    """One timeline line, written and closed at once: Locust flushes its own history CSV only every 5 s."""
    if _timeline_path:
        with open(_timeline_path, "a") as out:
            out.write(json.dumps({"at": time.time(), "event": event, "users": users, "seconds": seconds}) + "\n")


@events.init.add_listener
def _record_scenario(environment, **_kwargs) -> None:
    global _timeline_path
    prefix = _csv_prefix(environment)
    if not prefix:
        return
    _timeline_path = prefix + TIMELINE_SUFFIX
    # Read from the class Locust runs (its task list repeats each task by its weight), not restated by hand.
    scenario = {
        "user_class": TodoUser.__name__,
        "task_weights": dict(Counter(t.__name__ for t in TodoUser.tasks)),
        "wait_s": {"min": WAIT_MIN_S, "max": WAIT_MAX_S, "kind": "between (uniform)"},
        "steps": [{"users": users, "seconds": seconds} for users, seconds in STEPS],
        "spawn_rate": SPAWN_RATE if STEPS else getattr(environment.parsed_options, "spawn_rate", None),
        "users": None if STEPS else getattr(environment.parsed_options, "num_users", None),
        "token_refresh_s": TOKEN_REFRESH_S,
    }
    with open(prefix + SCENARIO_SUFFIX, "w") as out:
        json.dump(scenario, out, indent=2)


_request_log = None  # (file, csv writer) while the run goes on


@events.init.add_listener
def _open_request_log(environment, **_kwargs) -> None:
    global _request_log
    prefix = _csv_prefix(environment)
    if prefix:
        out = open(prefix + REQUESTS_SUFFIX, "w", newline="")
        writer = csv.writer(out)
        writer.writerow(["at", "type", "name", "ms", "ok"])
        _request_log = (out, writer)


@events.request.add_listener
def _log_request(request_type: str, name: str, response_time: float, exception=None, **_kwargs) -> None:
    # Fired as the answer (or the error) arrives: `at` is when the request ended.
    if _request_log is not None:
        _request_log[1].writerow([f"{time.time():.3f}", request_type, name, f"{response_time:.1f}", 0 if exception else 1])


@events.quitting.add_listener
def _close_request_log(**_kwargs) -> None:
    if _request_log is not None:
        _request_log[0].close()


@events.spawning_complete.add_listener
def _mark_spawned(user_count: int, **_kwargs) -> None:
    _mark("spawned", user_count)  # every user of the step is running: its plateau begins


@events.quitting.add_listener
def _write_served_by(environment, **_kwargs) -> None:
    path = os.environ.get("DEPLOYPROOF_LOAD_SERVED_BY")
    if path:
        with open(path, "w") as out:
            json.dump({"counts": dict(served_by), "first_seen": first_seen}, out, indent=2)


class TodoUser(FastHttpUser):
    """One person using the app through the frontend NodePort, as a browser would."""

    wait_time = between(WAIT_MIN_S, WAIT_MAX_S)

    user_id: str | None = None
    token: str = ""
    token_at: float = 0.0

    def on_start(self) -> None:
        self.task_ids: list[int] = []
        self._sign_up()

    # --- auth -------------------------------------------------------------------------------

    def _sign_up(self) -> None:
        email = f"load-{uuid.uuid4().hex[:12]}@example.test"
        body = {"email": email, "password": f"pw-{uuid.uuid4().hex}", "name": "load user"}
        with self.client.post("/api/auth/sign-up/email", json=body, headers={"Origin": self.host},
                              name="/api/auth/sign-up/email", catch_response=True) as response:
            if response.status_code != 200:
                response.failure(f"sign-up: {_why(response)}")
                return
            self.user_id = response.json()["user"]["id"]
        self._fetch_token()

    def _fetch_token(self) -> None:
        with self.client.get("/api/auth/token", name="/api/auth/token", catch_response=True) as response:
            if response.status_code != 200:
                response.failure(f"token: {_why(response)}")
                self.token = ""
                return
            self.token, self.token_at = response.json()["token"], time.monotonic()

    def _signed_in(self) -> bool:
        """Signed up with a fresh JWT; a user whose sign-up failed tries again on its next action."""
        if self.user_id is None:
            self._sign_up()
        elif not self.token or time.monotonic() - self.token_at > TOKEN_REFRESH_S:
            self._fetch_token()
        return bool(self.user_id and self.token)

    def _api(self, method: str, path: str, name: str, **kwargs):
        headers = {"Authorization": f"Bearer {self.token}"}
        response = self.client.request(method, f"/api/{self.user_id}{path}", name=f"/api/[user]{name}", headers=headers, **kwargs)
        pod = (response.headers or {}).get("x-served-by") if response.headers is not None else None
        if pod:
            served_by[pod] += 1
            first_seen.setdefault(pod, time.time())
        return response

    # --- what users do ----------------------------------------------------------------------

    @task(_weight("list", 4))
    def list_tasks(self) -> None:
        if self._signed_in():
            self._api("GET", "/tasks", "/tasks")

    @task(_weight("add", 2))
    def add_task(self) -> None:
        if self._signed_in():
            response = self._api("POST", "/tasks", "/tasks", json={"title": f"load task {random.randint(1, 10**6)}"})
            if response.status_code == 201:
                self.task_ids.append(response.json()["id"])

    @task(_weight("complete", 2))
    def complete_task(self) -> None:
        if not self._signed_in():
            return
        if not self.task_ids:
            self.add_task()
            return
        self._api("PATCH", f"/tasks/{random.choice(self.task_ids)}/complete", "/tasks/[id]/complete")

    @task(_weight("chat", 1))
    def chat(self) -> None:
        if self._signed_in():
            self._api("POST", "/chat", "/chat", json={"message": random.choice(CHAT_MESSAGES)})


if STEPS:

    class StepLoad(LoadTestShape):
        """Hold each step's user count for its seconds, then stop (--run-time stays the hard bound)."""

        use_common_options = True
        _step_index = -1

        def tick(self):
            elapsed = self.get_run_time()
            end = 0.0
            for index, (users, seconds) in enumerate(STEPS):
                end += seconds
                if elapsed < end:
                    self._moved_to(index, users, end - elapsed)
                    return users, SPAWN_RATE
            self._moved_to(len(STEPS), 0, 0.0)
            return None

        def _moved_to(self, index: int, users: int, remaining_s: float) -> None:
            if index != self._step_index:
                self._step_index = index
                _mark("target", users, remaining_s)  # the step's ramp begins and how long it lasts (0 users: the run ends)
