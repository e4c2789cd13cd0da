"""Benchmark of the minikube provider, offline on our node image: start → node Ready (and the metrics API and
NetworkPolicy agent, as the suite starts it) → a `minikube image load`ed image answering on a NodePort at the node's
IP → DNS answering from a pod → delete, cold and warm — the steps of minikube's own time-to-k8s.

Not a test: it records figures into reports/bench-minikube.json. "cold" is the first start after the node image and
offline cache were (re)built; "warm" the runs after it. CPU seconds are the node container's (its cpuacct cgroup,
read just before delete) plus this process's children (minikube, kubectl, docker clients).

    .venv/bin/python bench/bench_minikube.py [--runs 2]

A profile named deployproof-bench is started and deleted by each run (in deployproof's own MINIKUBE_HOME); nothing
else is touched.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

from bench_kind import echo_image, measured_run

from deployproof import versions
from deployproof.progress import configure_cli_logging, say
from deployproof.providers.minikube import MinikubeProvider, MinikubeSettings
from deployproof.runner import run

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "reports" / "bench-minikube.json"
PROFILE = "deployproof-bench"
PUBLISHED = {"minikube start (time-to-k8s v1.36.0)": "50.8 s to app + DNS"}


def one_run(provider: MinikubeProvider, image: str) -> dict:
    kubectl = [provider.kubectl_bin, "--kubeconfig", str(provider.kubeconfig()), "--context", provider.context()]
    figures = measured_run(provider, image, kubectl=kubectl, node=PROFILE, ready_key="start_to_ready_s", load_key="image_load_s")
    figures["left_after_delete"] = run(["docker", "ps", "-aq", "--filter", f"label=name.minikube.sigs.k8s.io={PROFILE}"],
                                       quiet=True).stdout.split()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=2, help="profiles to start in a row (the first is 'cold')")
    options = parser.parse_args()
    configure_cli_logging()
    provider = MinikubeProvider(MinikubeSettings(profile=PROFILE, offline=True))
    results: dict = {"measured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                     "machine": {"cpus": os.cpu_count(), "kernel": platform.release()},
                     "versions": {"minikube": versions.MINIKUBE, "kubernetes": provider.settings.kubernetes_version},
                     "published": PUBLISHED, "runs": []}
    image = echo_image()
    if provider.exists():
        provider.down()
    for index in range(options.runs):
        figures = one_run(provider, image)
        figures["run"] = "cold" if index == 0 else "warm"
        results["runs"].append(figures)
        say(f"run {index + 1} ({figures['run']}): {json.dumps(figures)}")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
