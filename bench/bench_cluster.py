"""Benchmark of the embedded cluster: one-time source build (cold), warm up to node Ready + CoreDNS answering, down.

Not a test: it records figures into reports/bench-cluster.json and prints them beside
the published figures of kind and minikube. Run as root: python bench/bench_cluster.py
(it tears down a running embedded cluster first, then leaves one up).
"""

from __future__ import annotations

import json
import platform
import threading
import time
from pathlib import Path

from deployproof import versions
from deployproof.providers.embedded import build
from deployproof.providers.embedded.cluster import EmbeddedCluster

PUBLISHED = {"kind create cluster": "12–21 s", "minikube start (docker driver)": "21–30 s"}
RESULTS = Path(__file__).resolve().parents[1] / "reports" / "bench-cluster.json"


def dns_answers(cluster: EmbeddedCluster, timeout: float = 120) -> None:
    """CoreDNS resolves the kubernetes Service: a DNS query from the host to the kube-dns ClusterIP."""
    from deployproof.waits import poll_until

    import socket
    import struct

    def query() -> tuple[bool, str]:
        name = b"".join(bytes([len(p)]) + p for p in b"kubernetes.default.svc.cluster.local".split(b".")) + b"\0"
        packet = struct.pack(">HHHHHH", 0x1234, 0x0100, 1, 0, 0, 0) + name + struct.pack(">HH", 1, 1)
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.settimeout(2)
            sock.sendto(packet, (cluster.net.dns_ip, 53))
            reply = sock.recv(512)
        answers = struct.unpack(">H", reply[6:8])[0]
        return answers > 0, f"{answers} answers"

    poll_until(query, description="CoreDNS answering for kubernetes.default", timeout=timeout, interval=0.1, max_interval=0.2)


def main() -> None:
    cluster = EmbeddedCluster()
    if cluster.layout.root.exists():
        cluster.down()
    build.ensure_built()
    cold = {c.name: build.recorded_build_seconds(c) for c in build.COMPONENTS}
    begun = time.monotonic()
    # DNS need not wait for metrics-server: a thread asks CoreDNS from the start of `up` and notes its first answer.
    first_dns: dict[str, float] = {}
    watcher = threading.Thread(target=lambda: (dns_answers(cluster, timeout=300), first_dns.setdefault("s", time.monotonic() - begun)),
                               daemon=True)
    watcher.start()
    timings = dict(cluster.up())
    up_s = round(time.monotonic() - begun, 1)
    watcher.join(timeout=120)
    dns_s = round(first_dns["s"], 1) if "s" in first_dns else None
    node_ready_s = round(sum(v for k, v in timings.items() if not k.startswith(("install", "provide", "build components"))), 1)
    begun = time.monotonic()
    problems = cluster.down()
    down_s = round(time.monotonic() - begun, 1)
    cluster.up()  # leave a cluster up, as we found one
    results = {
        "measured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": {"cpus": __import__("os").cpu_count(), "kernel": platform.release()},
        "kubernetes": versions.KUBERNETES,
        "cold_source_build_s": cold,
        "cold_source_build_total_s": round(sum(v for v in cold.values() if v), 1),
        "warm_up_to_node_ready_s": node_ready_s,
        "warm_up_to_coredns_answering_s": dns_s,
        "warm_up_complete_s": up_s,  # metrics API and NetworkPolicy agent included
        "down_s": down_s,
        "down_problems": problems,
        "steps_s": timings,
        "published_for_comparison": PUBLISHED,
    }
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2))
    print(json.dumps(results, indent=2))
    print(f"\nembedded up (warm) to CoreDNS answering: {dns_s} s, complete {up_s} s   |   " + "   |   ".join(f"{k}: {v}" for k, v in PUBLISHED.items()))


if __name__ == "__main__":
    main()
