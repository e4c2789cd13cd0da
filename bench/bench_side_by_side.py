"""Embedded, kind and minikube side by side, on this machine, in one run — in the manner of minikube's time-to-k8s.

Not a test: it runs bench/bench_cluster.py (embedded: the cold source build's recorded figures, then a warm
up → CoreDNS answering → down), bench/bench_kind.py (kind: create → nodes Ready → a Deployment Ready → DNS
from a pod → NodePort on 127.0.0.1 → delete, twice: the first run is "cold") and bench/bench_minikube.py
(minikube offline: start → Ready → NodePort on the node's IP → DNS from a pod → delete, twice), one after the
other, and prints their figures beside the published ones. Results: reports/bench-side-by-side.json. Run as root, with no
cluster of either kind running (the embedded one is left up afterwards, as bench_cluster.py does).

    .venv/bin/python bench/bench_side_by_side.py
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
REPORTS = REPO / "reports"
RESULTS = REPORTS / "bench-side-by-side.json"
PUBLISHED = {"kind (time-to-k8s v1.36.0)": 33.0, "k3d (time-to-k8s v1.36.0)": 19.9, "minikube (time-to-k8s v1.36.0)": 50.8}


def run_bench(script: str, *args: str) -> float:
    begun = time.monotonic()
    subprocess.run([sys.executable, str(REPO / "bench" / script), *args], cwd=REPO, check=True)
    return round(time.monotonic() - begun, 1)


def main() -> None:
    # kind first: the embedded cluster holds the NodePorts on 127.0.0.1 that the kind node maps.
    subprocess.run([sys.executable, "-m", "deployproof", "cluster", "down", "--cluster-provider", "embedded"], cwd=REPO, check=True)
    kind_wall = run_bench("bench_kind.py", "--runs", "2")
    minikube_wall = run_bench("bench_minikube.py", "--runs", "2")
    embedded_wall = run_bench("bench_cluster.py")
    kind = json.loads((REPORTS / "bench-kind.json").read_text())
    minikube = json.loads((REPORTS / "bench-minikube.json").read_text())
    embedded = json.loads((REPORTS / "bench-cluster.json").read_text())
    rows = []
    for figures in kind["runs"]:
        rows.append({"provider": "kind (1 node)", "run": figures["run"], "to_ready_s": figures["create_to_ready_s"],
                     "to_app_and_dns_s": figures["total_to_app_and_dns_s"], "delete_s": figures["delete_s"],
                     "cpu_s": (figures.get("node_cpu_s") or 0) + figures["client_cpu_s"]})
    for figures in minikube["runs"]:
        rows.append({"provider": "minikube (offline)", "run": figures["run"], "to_ready_s": figures["start_to_ready_s"],
                     "to_app_and_dns_s": figures["total_to_app_and_dns_s"], "delete_s": figures["delete_s"],
                     "cpu_s": round((figures.get("node_cpu_s") or 0) + figures["client_cpu_s"], 1)})
    rows.append({"provider": "embedded", "run": "cold (one-time source build)", "to_ready_s": embedded["cold_source_build_total_s"],
                 "to_app_and_dns_s": None, "delete_s": None, "cpu_s": None})
    rows.append({"provider": "embedded", "run": "warm", "to_ready_s": embedded["warm_up_to_node_ready_s"],
                 "to_app_and_dns_s": embedded["warm_up_to_coredns_answering_s"], "delete_s": embedded["down_s"], "cpu_s": None})
    results = {"measured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "rows": rows,
               "wall_s": {"kind": kind_wall, "minikube": minikube_wall, "embedded": embedded_wall}, "published_s": PUBLISHED,
               "embedded_complete_up_s": embedded.get("warm_up_complete_s")}
    RESULTS.write_text(json.dumps(results, indent=2))
    print(f"\n{'provider':<20}{'run':<30}{'to Ready s':>12}{'to DNS/app s':>14}{'delete s':>10}{'CPU s':>8}")
    for row in rows:
        print(f"{row['provider']:<20}{row['run']:<30}" + "".join(
            f"{'-' if row[k] is None else row[k]:>{w}}" for k, w in (("to_ready_s", 12), ("to_app_and_dns_s", 14), ("delete_s", 10), ("cpu_s", 8))))
    print("published (time to app + DNS): " + ", ".join(f"{k} {v} s" for k, v in PUBLISHED.items()))


if __name__ == "__main__":
    main()
