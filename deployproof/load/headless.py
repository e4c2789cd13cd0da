"""One bounded, headless Locust run of deployproof/load/locustfile.py as a subprocess, and its results.

Bounded three ways: users (at most MAX_USERS), time (--run-time, at most MAX_RUN_TIME_S, so the run
stops by itself even if nobody stops it) and target (the rule of targets.py: loopback, the nodes of a
cluster deployproof created, or what --allow-load-to names; checked here before Locust starts and
again inside the locustfile). The process is started through deployproof.runner; a test can let it
run out or stop it early (SIGTERM: Locust still writes its CSV files).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import CommandError, DeployProofError
from ..progress import say
from ..runner import _tail, start_background
from .results import REQUESTS_SUFFIX, LoadResult, parse_history, parse_stats, read_requests, read_served_by
from .targets import LoadTargets

LOCUSTFILE = Path(__file__).with_name("locustfile.py")
MAX_USERS = 50
MAX_RUN_TIME_S = 600
EXIT_GRACE_S = 30  # beyond --run-time: Locust stops its users and writes the CSV files
DEFAULT_WEIGHTS = {"list": 4, "add": 2, "complete": 2, "chat": 1}


def weights_from_environment() -> dict[str, int]:
    """DEPLOYPROOF_LOAD_WEIGHT_<ACTION> where set (a person tuning the mix), else the default mix."""
    return {name: int(os.environ.get(f"DEPLOYPROOF_LOAD_WEIGHT_{name.upper()}", weight)) for name, weight in DEFAULT_WEIGHTS.items()}


@dataclass(frozen=True)
class LoadPlan:
    """What to run: constant `users` (spawned at `spawn_rate`/s), or a ramp of `steps` (users, seconds).

    `run_time_s` is the hard bound either way; with steps it defaults to their sum plus 10 s.
    """

    users: int = 10
    spawn_rate: float = 2.0
    run_time_s: int = 0
    steps: tuple[tuple[int, float], ...] = ()
    weights: dict[str, int] = field(default_factory=weights_from_environment)
    wait_s: tuple[float, float] = (0.5, 1.5)

    @property
    def bound_s(self) -> int:
        if self.run_time_s:
            return self.run_time_s
        return int(sum(seconds for _, seconds in self.steps)) + 10 if self.steps else 60

    @property
    def peak_users(self) -> int:
        return max(users for users, _ in self.steps) if self.steps else self.users

    def check(self) -> None:
        if not 0 < self.peak_users <= MAX_USERS:
            raise DeployProofError(f"load plan asks for {self.peak_users} users", f"keep load runs within 1..{MAX_USERS} users")
        if not 0 < self.bound_s <= MAX_RUN_TIME_S:
            raise DeployProofError(f"load plan runs {self.bound_s}s", f"keep load runs within {MAX_RUN_TIME_S}s")
        unknown = set(self.weights) - set(DEFAULT_WEIGHTS)
        if unknown:
            raise DeployProofError(f"unknown load weights {sorted(unknown)}", f"use {sorted(DEFAULT_WEIGHTS)}")


class LoadRun:
    """A Locust process writing into `folder`: start(), then wait() for it to run out or stop() it early."""

    def __init__(self, plan: LoadPlan, base_url: str, folder: Path, targets: LoadTargets | None = None) -> None:
        """`targets`: where load may go besides loopback (LoadTargets.of(provider, settings.allow_load_to));
        None allows loopback only. A target outside the rule raises LoadRefused here, before anything runs."""
        plan.check()
        self.targets = targets or LoadTargets()
        self.allowed_as = self.targets.check(base_url)
        self.plan, self.base_url, self.folder = plan, base_url, folder
        self.prefix = folder / "locust"
        self.log_path = folder / "locust.log"
        self.served_by_path = folder / "served-by.json"
        self.process: subprocess.Popen[bytes] | None = None
        self.started_at = 0.0
        self.argv: list[str] = []

    def _environment(self) -> dict[str, str]:
        env = {f"DEPLOYPROOF_LOAD_WEIGHT_{name.upper()}": str(weight) for name, weight in self.plan.weights.items()}
        env.update({
            "DEPLOYPROOF_LOAD_WAIT_MIN": str(self.plan.wait_s[0]),
            "DEPLOYPROOF_LOAD_WAIT_MAX": str(self.plan.wait_s[1]),
            "DEPLOYPROOF_LOAD_SPAWN_RATE": str(self.plan.spawn_rate),
            "DEPLOYPROOF_LOAD_STEPS": ",".join(f"{users}:{seconds:g}" for users, seconds in self.plan.steps),
            "DEPLOYPROOF_LOAD_SERVED_BY": str(self.served_by_path),
            **self.targets.to_env(),  # the locustfile checks its --host by the same rule
        })
        return env

    def start(self) -> "LoadRun":
        self.folder.mkdir(parents=True, exist_ok=True)
        for stale in self.folder.glob("locust*"):
            stale.unlink()
        self.served_by_path.unlink(missing_ok=True)
        self.argv = [
            sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--headless", "--host", self.base_url,
            "--users", str(self.plan.peak_users), "--spawn-rate", str(self.plan.spawn_rate),
            "--run-time", f"{self.plan.bound_s}s", "--csv", str(self.prefix), "--csv-full-history",
            # Failed requests are measurements, not a failed run: the caller judges them.
            "--exit-code-on-error", "0", "--only-summary",
        ]
        shape = f"steps {list(self.plan.steps)}" if self.plan.steps else f"{self.plan.users} users"
        say(f"load: {shape} on {self.base_url} (allowed: {self.allowed_as}), at most {self.plan.bound_s}s (output in {self.folder})")
        self.started_at = time.time()
        self.process = start_background(self.argv, log_path=self.log_path, env=self._environment())
        return self

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self) -> LoadResult:
        """End the run now (Locust stops its users and still writes its CSV files) and return its results."""
        if self.running:
            assert self.process is not None
            self.process.send_signal(signal.SIGTERM)
        return self.wait()

    def wait(self) -> LoadResult:
        """Wait for the run to end by itself (its --run-time) and return its results."""
        assert self.process is not None, "start() the run first"
        try:
            returncode = self.process.wait(timeout=self.plan.bound_s + EXIT_GRACE_S)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise CommandError(self.argv, -1, self._log_tail(), "Locust did not stop after its --run-time; see the log") from None
        if returncode != 0:
            raise CommandError(self.argv, returncode, self._log_tail(), f"see {self.log_path}")
        return self.result()

    def kill(self) -> None:
        """For teardown after an error: make sure no load outlives the test."""
        if self.running:
            assert self.process is not None
            self.process.kill()
            self.process.wait()

    def result(self) -> LoadResult:
        endpoints, total = parse_stats(Path(f"{self.prefix}_stats.csv"))
        served_by, first_seen = read_served_by(self.served_by_path)
        history = parse_history(Path(f"{self.prefix}_stats_history.csv"))
        requests = read_requests(Path(f"{self.prefix}{REQUESTS_SUFFIX}"))
        return LoadResult(endpoints=endpoints, total=total, history=history, requests=requests, served_by=served_by,
                          served_by_first_seen=first_seen, started_at=self.started_at, ended_at=time.time(), folder=self.folder)

    def _log_tail(self) -> str:
        return _tail(self.log_path.read_text(errors="replace")) if self.log_path.exists() else "(no log)"

    def __enter__(self) -> "LoadRun":
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.kill()


def run_load(plan: LoadPlan, base_url: str, folder: Path, targets: LoadTargets | None = None) -> LoadResult:
    """Run the plan to its end (blocking) and return the results."""
    run = LoadRun(plan, base_url, folder, targets)
    with run:
        return run.wait()
