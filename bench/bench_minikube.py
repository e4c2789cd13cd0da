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
import resource
import time
from pathlib import Path

from bench_kind import echo_image, node_cpu_seconds, workload

from deployproof import versions
from deployproof.progress import configure_cli_logging, say
from deployproof.providers.minikube import MinikubeProvider, MinikubeSettings
from deployproof.runner import run
from deployproof.waits import poll_until

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "reports" / "bench-minikube.json"
PROFILE = "deployproof-bench"
PUBLISHED = {"minikube start (time-to-k8s v1.36.0)": "50.8 s to app + DNS"}


def one_run(provider: MinikubeProvider, image: str) -> dict:
    kubectl = [provider.kubectl_bin, "--kubeconfig", str(provider.kubeconfig()), "--context", provider.context()]
    figures: dict = {}
    children_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    begun = time.monotonic()
    figures["up_steps_s"] = {name: round(s, 1) for name, s in provider.up().items()}
    figures["start_to_ready_s"] = round(time.monotonic() - begun, 1)

    mark = time.monotonic()
    provider.load_images([image])
    figures["image_load_s"] = round(time.monotonic() - mark, 1)

    mark = time.monotonic()
    run([*kubectl, "apply", "-f", "-"], input=workload(image), quiet=True)
    url = provider.node_port_url(versions.ECHO_NODE_PORT)

    def answers() -> tuple[bool, str]:
        out = run(["curl", "-s", "-m", "2", url], check=False, quiet=True)
        return out.stdout.startswith("hello from"), out.stdout[:60] or out.stderr[-60:]

    poll_until(answers, description=f"the echo NodePort answering on {url}", timeout=180)
    figures["node_port_answering_s"] = round(time.monotonic() - mark, 1)

    mark = time.monotonic()
    fetch = "http://bench-echo.default.svc.cluster.local:8080/"
    run([*kubectl, "run", "bench-dns", "--image", image, "--image-pull-policy=Never", "--restart=Never", "--", "-fetch", fetch], quiet=True)

    def resolved() -> tuple[bool, str]:
        phase = run([*kubectl, "get", "pod", "bench-dns", "-o", "jsonpath={.status.phase}"], check=False, quiet=True).stdout
        if phase not in ("Succeeded", "Failed"):
            return False, phase
        logs = run([*kubectl, "logs", "bench-dns"], check=False, quiet=True).stdout
        if "status 200" not in logs:
            raise RuntimeError(f"a pod could not fetch {fetch} by name: {logs[-200:]}")
        return True, logs

    poll_until(resolved, description="a pod resolving and fetching the echo Service by name", timeout=120)
    figures["dns_from_pod_s"] = round(time.monotonic() - mark, 1)
    figures["total_to_app_and_dns_s"] = round(time.monotonic() - begun, 1)
    figures["node_cpu_s"] = node_cpu_seconds(PROFILE)

    mark = time.monotonic()
    figures["delete_problems"] = provider.down()
    figures["delete_s"] = round(time.monotonic() - mark, 1)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    figures["client_cpu_s"] = round(children.ru_utime + children.ru_stime - children_before.ru_utime - children_before.ru_stime, 1)
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
