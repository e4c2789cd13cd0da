"""`deployproof doctor`: check the prerequisites and print, for each missing piece, the command that installs it."""

from __future__ import annotations

import os
import platform
import shutil
from dataclasses import dataclass
from pathlib import Path

from . import versions
from .nodejs import NodeInstall, install_dir
from .providers.embedded.configs import CONTAINERD_HOST_DROP_INS, kubelet_refuses_cgroup_v1
from .providers.embedded.host import cgroup_v1_host
from .providers.embedded.steps import PORTS_BY_NUMBER, ports_in_use
from .runner import run

GO_CHECK = f"go >= {versions.GO_MINIMUM}"


@dataclass
class Check:
    name: str
    ok: bool
    detail: str
    fix: str = ""


def _which(binary: str, fix: str, name: str | None = None) -> Check:
    found = shutil.which(binary)
    return Check(name or binary, bool(found), found or "not found", "" if found else fix)


def _go_check() -> Check:
    go = shutil.which("go")
    if not go:
        return Check(GO_CHECK, False, "not found", f"install Go >= {versions.GO_MINIMUM} and put it on PATH (builds Kubernetes from source)")
    version = run([go, "env", "GOVERSION"], check=False, quiet=True).stdout.strip()
    parts = version.removeprefix("go").split(".")
    minimum = tuple(int(p) for p in versions.GO_MINIMUM.split("."))
    found = tuple(int(p) for p in parts if p.isdigit())
    ok = len(found) >= 2 and found >= minimum
    return Check(GO_CHECK, ok, version, "" if ok else f"install Go >= {versions.GO_MINIMUM}")


def _node_check() -> Check:
    # The pinned wheel, never the host's node: the set-up, the frontend tests and the local base image use it.
    install = NodeInstall(install_dir())
    name = f"node {versions.NODE}"
    if not install.complete:
        return Check(name, False, "not installed", "python -m deployproof.nodejs (./dev setup does it; from PyPI, hash-checked)")
    return Check(name, True, f"{install.bin_dir} (put it first on PATH)")


def _cgroups(kubernetes_version: str = versions.KUBERNETES) -> Check:
    root = Path("/sys/fs/cgroup")
    if not cgroup_v1_host():
        return Check("cgroups", True, "cgroup v2 (unified)")
    needed = ("cpu", "cpuacct", "cpuset", "memory", "pids")
    missing = [c for c in needed if not (root / c).is_dir()]
    detail = "cgroup v1: " + ("all needed hierarchies mounted" if not missing else f"missing {missing}")
    if kubelet_refuses_cgroup_v1(kubernetes_version):
        detail += (f"; WARNING: Kubernetes {kubernetes_version} refuses cgroup v1 by default, so the embedded kubelet "
                   "runs with failCgroupV1: false (v1 is deprecated upstream: move this host to cgroup v2)")
    return Check("cgroups", not missing, detail,
                 "" if not missing else f"mount the missing hierarchies, e.g. mount -t cgroup -o {missing[0]} {missing[0]} /sys/fs/cgroup/{missing[0]}")


def _containerd_drop_ins() -> Check:
    found = sorted(str(p) for p in CONTAINERD_HOST_DROP_INS.glob("*.toml"))
    return Check("containerd drop-ins", True, "none" if not found else
                 f"the embedded containerd {versions.CONTAINERD} also reads {', '.join(found)} (containerd 2.4 always "
                 "imports /etc/containerd/conf.d): check they suit it")


# How each kernel feature shows itself, whether built in or a loaded module.
KERNEL_FEATURES = {
    "br_netfilter": lambda: Path("/proc/sys/net/bridge/bridge-nf-call-iptables").exists(),
    "overlay": lambda: "overlay" in Path("/proc/filesystems").read_text(),
}


def _kernel_module(module: str) -> Check:
    present = KERNEL_FEATURES[module]
    ok = present()
    if not ok and os.geteuid() == 0:
        run(["modprobe", module], check=False, quiet=True)
        ok = present()
    return Check(f"kernel feature {module}", ok, "available" if ok else "missing",
                 "" if ok else f"modprobe {module} (apt-get install kmod; the kernel must provide it)")


def _docker() -> Check:
    if not shutil.which("dockerd"):
        return Check("docker engine", False, "dockerd not installed", "apt-get install -y docker.io")
    try:
        import docker

        docker.from_env(timeout=5).ping()
        return Check("docker engine", True, "dockerd answers")
    except Exception:  # noqa: BLE001 - any failure means "not running"
        return Check("docker engine", True, "installed, not running (started on demand)")


def checks() -> list[Check]:
    apt = f"apt-get update && apt-get install -y {versions.APT_PACKAGES}"
    results = [
        Check("root", os.geteuid() == 0, f"uid {os.geteuid()}", "" if os.geteuid() == 0 else "run as root (sudo -E …) for the embedded provider"),
        Check("linux", platform.system() == "Linux", platform.system(), "" if platform.system() == "Linux" else "the embedded provider needs Linux; use minikube elsewhere"),
        _cgroups(),
        _containerd_drop_ins(),
        _kernel_module("br_netfilter"),
        _kernel_module("overlay"),
        _which("iptables", apt),
        _which("conntrack", apt),
        _which("runc", apt),
        Check("CNI plugins", Path("/usr/lib/cni/bridge").exists(), "/usr/lib/cni", "" if Path("/usr/lib/cni/bridge").exists() else apt),
        _which("ip", apt),
        _docker(),
        _go_check(),
        _node_check(),
        _which("strip", apt),
        _which("chromium", apt),
    ]
    taken = ports_in_use()
    if taken and _our_cluster_is_healthy():
        results.append(Check("cluster ports", True, "held by the running embedded cluster (healthy; `up` reuses it)"))
        return results
    results.append(Check("cluster ports free", not taken,
                         "all free" if not taken else ", ".join(f"{PORTS_BY_NUMBER[p]} {p}" for p in taken),
                         "" if not taken else "stop what listens there (ss -ltnp), or `deployproof cluster down` for an old embedded cluster"))
    return results


def _our_cluster_is_healthy() -> bool:
    from .providers.embedded.cluster import EmbeddedCluster

    cluster = EmbeddedCluster(kubernetes_version=None)  # whichever release runs
    try:
        return cluster.layout.root.exists() and cluster.health_problem() is None
    except Exception:  # noqa: BLE001 - no binaries or no state: not ours
        return False


def print_report(results: list[Check]) -> bool:
    width = max(len(c.name) for c in results)
    for c in results:
        mark = "ok " if c.ok else "MISSING"
        print(f"  {mark:7} {c.name:{width}}  {c.detail}")
        if not c.ok and c.fix:
            print(f"  {'':7} {'':{width}}  → {c.fix}")
    return all(c.ok for c in results)
