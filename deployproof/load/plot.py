"""A load run as one PNG for the report: throughput and users, latency, and replicas, on one time axis."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

from .replicas import ReplicaSample
from .results import LoadResult


def plot_run(result: LoadResult, samples: Sequence[ReplicaSample], path: Path, title: str,
             marks: Sequence[tuple[float, str]] = ()) -> Path:
    """Write `path` (PNG): RPS and users, p50/p95, and each Deployment's desired/ready replicas over
    seconds since the Locust process started. `marks` are (epoch, label) events drawn as vertical lines."""
    import matplotlib

    matplotlib.use("Agg")  # files only: no display on CI machines
    import matplotlib.pyplot as plt

    zero = result.started_at or (result.history[0].timestamp if result.history else 0.0)
    seconds = [p.timestamp - zero for p in result.history]
    figure, (throughput, latency, replicas) = plt.subplots(3, 1, sharex=True, figsize=(10, 8.5), constrained_layout=True)
    figure.suptitle(title)

    throughput.plot(seconds, [p.rps for p in result.history], label="requests/s", color="tab:blue")
    throughput.plot(seconds, [p.failures_per_s for p in result.history], label="failures/s", color="tab:red")
    throughput.set_ylabel("requests/s")
    users = throughput.twinx()
    users.step(seconds, [p.users for p in result.history], where="post", label="users", color="tab:gray", linestyle="--")
    users.set_ylabel("users")
    throughput.legend(loc="upper left")
    users.legend(loc="upper right")

    latency.plot(seconds, [p.p50_ms for p in result.history], label="p50", color="tab:green")
    latency.plot(seconds, [p.p95_ms for p in result.history], label="p95", color="tab:orange")
    latency.set_ylabel("ms (last ~10 s)")
    latency.legend(loc="upper left")

    colours = iter(("tab:blue", "tab:brown", "tab:olive", "tab:cyan"))
    for name in sorted({s.deployment for s in samples}):
        mine = [s for s in samples if s.deployment == name]
        at = [s.timestamp - zero for s in mine]
        colour = next(colours, None)
        replicas.step(at, [s.desired for s in mine], where="post", label=f"{name} desired", linestyle="--", color=colour)
        replicas.step(at, [s.ready for s in mine], where="post", label=f"{name} ready", color=colour)
    replicas.set_ylim(bottom=0, top=max([s.desired for s in samples] + [s.ready for s in samples] + [1]) + 0.5)
    replicas.set_ylabel("replicas")
    replicas.set_xlabel("seconds since the load started")
    replicas.yaxis.get_major_locator().set_params(integer=True)
    replicas.legend(loc="upper left")

    for moment, label in marks:
        for axis in (throughput, latency, replicas):
            axis.axvline(moment - zero, color="tab:purple", linestyle=":", linewidth=1)
        replicas.annotate(label, (moment - zero, 0), xytext=(3, 3), textcoords="offset points", fontsize=8, color="tab:purple")

    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return path
