"""Benchmark of the kind provider on our offline node image: create → node Ready → DNS answering from a
pod → a `kind load`ed image answering on a NodePort on 127.0.0.1 → delete, cold and warm.

Not a test: it records figures into reports/bench-kind.json. "cold" is the first cluster after the node
image was (re)built; "warm" the runs after it (same image; kind and dockerd caches warm). CPU seconds
are the node container's (its cpuacct cgroup, read just before delete) plus this process's children
(kind, kubectl, docker clients).

    .venv/bin/python bench/bench_kind.py [--runs 2] [--rebuild-node-image] [--host-ports 30080=31080,30081=31081]

A cluster named deployproof-bench is created and deleted by each run; nothing else is touched.
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import tempfile
import time
from pathlib import Path

import yaml

from deployproof import versions
from deployproof.images import BuildContext, build
from deployproof.progress import configure_cli_logging, say
from deployproof.providers.kind import KindProvider, parse_host_ports
from deployproof.runner import run
from deployproof.waits import poll_until

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "reports" / "bench-kind.json"
ECHO_SOURCE = REPO / "tests_deploy" / "testdata" / "echo"
ECHO_DOCKERFILE = b'FROM scratch\nCOPY echo /echo\nUSER 65532:65532\nENTRYPOINT ["/echo"]\n'
CLUSTER = "deployproof-bench"
PUBLISHED = {"kind create cluster (minikube time-to-k8s, v1.36.0)": "14.2 s command, 33.0 s to app + DNS"}


def echo_image() -> str:
    with tempfile.TemporaryDirectory(prefix="deployproof-echo-") as tmp:
        binary = Path(tmp) / "echo"
        run(["go", "build", "-trimpath", "-ldflags", "-s -w", "-o", str(binary), "."], cwd=ECHO_SOURCE,
            env={"CGO_ENABLED": "0", "GOFLAGS": "-buildvcs=false"})
        return build("deployproof-echo", BuildContext(files=(("echo", binary),), dockerfile=ECHO_DOCKERFILE), label="echo").tag


def workload(image: str) -> str:
    labels = {"app": "bench-echo"}
    container = {"name": "echo", "image": image, "imagePullPolicy": "Never", "ports": [{"containerPort": 8080}]}
    return yaml.safe_dump_all([
        {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "bench-echo", "namespace": "default"},
         "spec": {"replicas": 1, "selector": {"matchLabels": labels},
                  "template": {"metadata": {"labels": labels}, "spec": {"containers": [container]}}}},
        {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "bench-echo", "namespace": "default"},
         "spec": {"type": "NodePort", "selector": labels,
                  "ports": [{"port": 8080, "targetPort": 8080, "nodePort": versions.ECHO_NODE_PORT}]}},
    ])


def node_cpu_seconds(node: str) -> float | None:
    container_id = run(["docker", "inspect", "--format", "{{.Id}}", node], quiet=True).stdout.strip()
    usage = Path(f"/sys/fs/cgroup/cpuacct/docker/{container_id}/cpuacct.usage")
    return round(int(usage.read_text()) / 1e9, 1) if usage.exists() else None


def app_and_dns(kubectl: list[str], provider, image: str) -> dict:
    """The time-to-k8s steps after Ready, on any provider: the echo workload answering on its NodePort at the provider's
    URL for it, then a pod resolving and fetching its Service by name."""
    figures: dict = {}
    mark = time.monotonic()
    run([*kubectl, "apply", "-f", "-"], input=workload(image), quiet=True)
    url = provider.node_port_url(versions.ECHO_NODE_PORT)

    def answers() -> tuple[bool, str]:
        out = run(["curl", "-s", "-m", "2", url], check=False, quiet=True)
        return out.stdout.startswith("hello from"), out.stdout[:60] or out.stderr[-60:]

    poll_until(answers, description=f"the echo NodePort answering on {url}", timeout=180)
    figures["node_port_answering_s"] = round(time.monotonic() - mark, 1)

    mark = time.monotonic()
    fetch = f"http://bench-echo.default.svc.cluster.local:8080/"
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
    return figures


def measured_run(provider, image: str, *, kubectl: list[str], node: str, ready_key: str, load_key: str) -> dict:
    """One cluster of `provider` through the time-to-k8s steps — up → Ready → image loaded → app and DNS → delete — with
    the node container's CPU and this process's children's; the provider's own leftovers are checked by the caller."""
    figures: dict = {}
    children_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    begun = time.monotonic()
    figures["up_steps_s"] = {name: round(s, 1) for name, s in provider.up().items()}
    figures[ready_key] = round(time.monotonic() - begun, 1)

    mark = time.monotonic()
    provider.load_images([image])
    figures[load_key] = round(time.monotonic() - mark, 1)

    figures.update(app_and_dns(kubectl, provider, image))
    figures["total_to_app_and_dns_s"] = round(time.monotonic() - begun, 1)
    figures["node_cpu_s"] = node_cpu_seconds(node)

    mark = time.monotonic()
    figures["delete_problems"] = provider.down()
    figures["delete_s"] = round(time.monotonic() - mark, 1)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    figures["client_cpu_s"] = round(children.ru_utime + children.ru_stime - children_before.ru_utime - children_before.ru_stime, 1)
    return figures


def one_run(provider: KindProvider, image: str) -> dict:
    figures = measured_run(provider, image, kubectl=[provider.kubectl_bin, "--kubeconfig", str(provider.kubeconfig())],
                           node=f"{CLUSTER}-control-plane", ready_key="create_to_ready_s", load_key="kind_load_s")
    left = run(["docker", "ps", "-aq", "--filter", f"label=io.x-k8s.kind.cluster={CLUSTER}"], quiet=True).stdout.split()
    volumes = [v for v in run(["docker", "volume", "ls", "-q"], quiet=True).stdout.split() if v not in VOLUMES_BEFORE]
    figures["left_after_delete"] = {"containers": left, "volumes": volumes,
                                    "kind_network": run(["docker", "network", "inspect", "kind"], check=False, quiet=True).returncode == 0}
    return figures


VOLUMES_BEFORE: set[str] = set()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=2, help="clusters to create in a row (the first is 'cold')")
    parser.add_argument("--rebuild-node-image", action="store_true", help="rebuild the node image first (--force)")
    parser.add_argument("--host-ports", default="", help="NodePort=hostPort pairs, e.g. 30081=31081 beside another cluster")
    options = parser.parse_args()
    configure_cli_logging()
    from deployproof.providers.kind_node.nodeimage import ensure_node_image

    VOLUMES_BEFORE.update(run(["docker", "volume", "ls", "-q"], quiet=True).stdout.split())
    results: dict = {"measured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                     "machine": {"cpus": __import__("os").cpu_count(), "kernel": platform.release()},
                     "versions": {"kind": versions.KIND, "kubernetes": versions.KUBERNETES, "containerd": versions.CONTAINERD},
                     "published": PUBLISHED, "runs": []}
    mark = time.monotonic()
    node_image = ensure_node_image(force=options.rebuild_node_image)
    results["node_image"] = {"tag": node_image, "rebuilt": options.rebuild_node_image, "seconds": round(time.monotonic() - mark, 1)}
    image = echo_image()
    provider = KindProvider(cluster_name=CLUSTER, node_image=node_image, host_ports=parse_host_ports(options.host_ports))
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
