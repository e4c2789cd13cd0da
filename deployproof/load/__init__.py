"""Load: the Locust scenario of the app's users, its bounded headless runs, their results and plots.

No module here may be named like a package the locustfile imports (locust, gevent, …): Locust puts
this folder first on sys.path when it loads the locustfile.

- locustfile.py — what a simulated user does (sign up through Better Auth, tasks, chat)
- headless.py   — one bounded headless Locust run as a subprocess (through deployproof.runner)
- targets.py    — where load may go: loopback, nodes of a cluster deployproof created, --allow-load-to
- results.py    — the run's CSV files parsed into dataclasses (per endpoint, over time, per step)
- replicas.py   — replica counts of Deployments sampled over a run (for the plots and the HPA figures)
- trickle.py    — a light steady request stream with per-request outcomes (pod kills, rollouts, outages)
- plot.py       — throughput, latency and replicas over time as a PNG for the report
"""

from .headless import LoadPlan, LoadRun, run_load
from .results import (EndpointStats, HistoryPoint, LoadResult, StepLoadAssessment, StepLoadBounds, StepStats, assess_step_load, find_knee,
                      parse_history, parse_stats, steps_from_history)
from .targets import LoadRefused, LoadTargets

__all__ = [
    "EndpointStats",
    "HistoryPoint",
    "LoadPlan",
    "LoadRefused",
    "LoadResult",
    "LoadRun",
    "LoadTargets",
    "StepLoadAssessment",
    "StepLoadBounds",
    "StepStats",
    "assess_step_load",
    "find_knee",
    "parse_history",
    "parse_stats",
    "run_load",
    "steps_from_history",
]
