"""Tear-down of the embedded cluster: stop exactly what we started, then remove what it left.

Order matters: stop the control loops first (nothing new gets scheduled), then the
kubelet, then remove every pod sandbox through containerd (CNI releases addresses,
veths and network namespaces), then the rest. Each part is best effort and its
problem is gathered, so one stuck mount does not leave everything else behind.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import time
from pathlib import Path
from typing import Callable

from ...progress import say, step
from ...runner import run
from . import build, host, processes
from .context import Placed, StepContext

LAST_LOGS = Path("/var/log/deployproof/last-cluster")


def tear_down(ctx: StepContext) -> list[str]:
    problems: list[str] = []
    if not ctx.layout.root.exists() and not ctx.layout.containerd_state.exists():
        say("no embedded cluster state found; nothing to tear down")
        return problems
    for name, action in _STEPS:
        try:
            with step(f"down: {name}", ctx.timings):
                action(ctx, problems)
        except Exception as exc:  # noqa: BLE001 - gather and go on: leave as little as possible behind
            problems.append(f"{name}: {exc}")
    if problems:
        say("tear-down finished with problems:\n  - " + "\n  - ".join(problems))
    return problems


def _stop_control_loops(ctx: StepContext, problems: list[str]) -> None:
    for component in ("kube-scheduler", "kube-controller-manager", "kubelet"):
        processes.stop(ctx.layout, component)


def _remove_pods(ctx: StepContext, problems: list[str]) -> None:
    if not processes.running(ctx.layout).get("containerd"):
        return
    crictl = [ctx.bin("crictl"), "--runtime-endpoint", f"unix://{ctx.layout.containerd_socket}", "--timeout", "60s"]
    # rmp -fa stops each sandbox (CNI DEL: veth, address and netns released) and removes it.
    out = run([*crictl, "rmp", "-fa"], check=False, quiet=True)
    if out.returncode != 0:
        problems.append(f"crictl rmp: {out.stderr.strip()[-300:]}")


def _stop_proxy_and_runtime(ctx: StepContext, problems: list[str]) -> None:
    processes.stop(ctx.layout, "kube-proxy")
    processes.stop(ctx.layout, "netpol-table-guard")  # the kernel deletes its table with it
    kube_proxy = Path(ctx.bin("kube-proxy"))  # of the release that ran (StepContext.kubernetes_version)
    if kube_proxy.exists():
        run([str(kube_proxy), "--cleanup"], check=False, quiet=True)
    processes.stop(ctx.layout, "containerd")
    socket = str(ctx.layout.containerd_socket)
    # Shims outlive containerd by design; ours name our socket in their command line.
    for pid in _pids_with_cmdline(lambda cmd: "containerd-shim" in cmd and socket in cmd):
        try:
            os.kill(pid, 9)
        except ProcessLookupError:
            pass


KUBEPODS = "kubepods"  # the kubelet's cgroup (cgroupsPerQOS) in every hierarchy
CGROUP_ROOT = Path("/sys/fs/cgroup")


def _pod_cgroups() -> list[Path]:
    """Every cgroup directory of the kubelet's pods, deepest first (rmdir order)."""
    found = []
    for hierarchy in CGROUP_ROOT.iterdir() if CGROUP_ROOT.exists() else []:
        top = hierarchy / KUBEPODS
        if top.is_dir():
            found += [p for p in top.rglob("*") if p.is_dir()] + [top]
    return sorted(found, key=lambda p: len(p.parts), reverse=True)


def _remove_pod_cgroups(ctx: StepContext, problems: list[str]) -> None:
    """Kill what still runs in a pod cgroup (a crashed run's containers), then remove the cgroups."""
    cgroups = _pod_cgroups()
    for cgroup in cgroups:
        for pid in (cgroup / "cgroup.procs").read_text().split() if (cgroup / "cgroup.procs").exists() else []:
            try:
                os.kill(int(pid), 9)
            except (ProcessLookupError, ValueError):
                pass
    deadline = time.monotonic() + 10
    for cgroup in cgroups:
        while cgroup.exists():
            try:
                cgroup.rmdir()
            except OSError:
                if time.monotonic() > deadline:
                    problems.append(f"cgroup {cgroup} is busy")
                    break
                time.sleep(0.1)


def _stop_control_plane(ctx: StepContext, problems: list[str]) -> None:
    for component in ("kube-apiserver", "etcd"):
        processes.stop(ctx.layout, component)
    leftover = [name for name, alive in processes.running(ctx.layout).items() if alive]
    if leftover:
        problems.append("still running: " + ", ".join(leftover))


def _unmount(ctx: StepContext, problems: list[str]) -> None:
    roots = (str(ctx.layout.root), str(ctx.layout.containerd_state))
    mounts = [m for m in _mount_points() if m.startswith(roots)]
    for mount in sorted(mounts, key=len, reverse=True):
        if run(["umount", mount], check=False, quiet=True).returncode != 0:
            if run(["umount", "-l", mount], check=False, quiet=True).returncode != 0:
                problems.append(f"could not unmount {mount}")


def _remove_network(ctx: StepContext, problems: list[str]) -> None:
    net = ctx.net
    # Network namespaces left by a crashed run (normally CNI DEL removed them).
    created_after = _started_at(ctx)
    for netns in sorted(Path("/var/run/netns").glob("cni-*")) if Path("/var/run/netns").exists() else []:
        if netns.stat().st_mtime >= created_after:
            run(["ip", "netns", "delete", netns.name], check=False, quiet=True)
    links = run(["ip", "-o", "link", "show", "master", net.bridge], check=False, quiet=True).stdout
    for veth in re.findall(r"^\d+: ([^:@]+)", links, re.M):
        run(["ip", "link", "del", veth], check=False, quiet=True)
    run(["ip", "link", "del", net.bridge], check=False, quiet=True)
    _remove_iptables_chains(ctx, problems)
    # The guard's table goes with the guard (stopped above); a crashed run's unowned table is removed here.
    for table in NFT_TABLES:
        if _nft_table_exists(table):
            run(["nft", "delete", "table", "inet", table], check=False, quiet=True)
        if _nft_table_exists(table):
            problems.append(f"nftables table inet {table} is still there (held by another process? `nft list table inet {table}`)")


NFT_TABLES = ("kube-network-policies", "kube-network-policies-dnscache")


def _nft_table_exists(table: str) -> bool:
    return bool(shutil.which("nft")) and run(["nft", "list", "table", "inet", table], check=False, quiet=True).returncode == 0


def _our_chains(rules: list[str], preexisting: set[str], table: str, network: str) -> set[str]:
    """Chains of ours in one table's `iptables -S` listing.

    CNI-* chains are the bridge plugin's, one per pod: ours when a rule into them carries our CNI
    network's name (so even a crashed run's are found). KUBE-* chains come from kubelet and
    kube-proxy: ours unless they were there before our first `up`.
    """
    ours = set()
    for line in rules:
        jump = re.search(r" -j (CNI-\S+)", line)
        if jump and f'name: \\"{network}\\"' in line:
            ours.add(jump.group(1))
        if line.startswith("-N KUBE-") and f"{table}/{line.split()[1]}" not in preexisting:
            ours.add(line.split()[1])
    return ours


def _remove_iptables_chains(ctx: StepContext, problems: list[str]) -> None:
    preexisting = set(host.HostChanges(ctx.layout).data.get("preexisting_chains", []))
    for table in ("filter", "nat", "mangle"):
        # Listed afresh on each attempt: another program's iptables-nft transaction (dockerd, a kind
        # node's network) can make one delete fail; seen once while switching releases.
        for attempt in range(3):
            left = _remove_chains_once(table, preexisting, ctx.net.cni_network)
            if not left:
                break
            time.sleep(1)
        problems.extend(f"iptables {table}/{chain} could not be removed" for chain in sorted(left))


def _remove_chains_once(table: str, preexisting: set[str], network: str) -> set[str]:
    """One pass over `table`; return our chains still there afterwards."""
    rules = run(["iptables", "-w", "-t", table, "-S"], check=False, quiet=True).stdout.splitlines()
    ours = _our_chains(rules, preexisting, table, network)
    # First every rule that jumps into one of our chains from a chain not ours, then the chains.
    for line in rules:
        jump = re.search(r" -j (\S+)", line)
        if line.startswith("-A ") and jump and jump.group(1) in ours and line.split()[1] not in ours:
            run(["iptables", "-w", "-t", table, "-D", *shlex.split(line)[1:]], check=False, quiet=True)
    for chain in ours:
        run(["iptables", "-w", "-t", table, "-F", chain], check=False, quiet=True)
    return {chain for chain in ours if run(["iptables", "-w", "-t", table, "-X", chain], check=False, quiet=True).returncode != 0}


def _restore_host(ctx: StepContext, problems: list[str]) -> None:
    problems.extend(host.restore(ctx.layout, ctx.net))


def _remove_state(ctx: StepContext, problems: list[str]) -> None:
    if ctx.layout.logs.exists():
        shutil.rmtree(LAST_LOGS, ignore_errors=True)
        shutil.copytree(ctx.layout.logs, LAST_LOGS)
        say(f"component logs of this cluster kept in {LAST_LOGS}")
    for path in (ctx.layout.root, ctx.layout.containerd_state):
        shutil.rmtree(path, ignore_errors=True)
        if path.exists():
            problems.append(f"could not remove {path}")


def _pids_with_cmdline(match: Callable[[str], bool]) -> list[int]:
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmd = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if match(cmd):
            found.append(int(proc.name))
    return found


def _mount_points() -> list[str]:
    points = []
    for line in Path("/proc/self/mounts").read_text().splitlines():
        parts = line.split()
        if len(parts) > 1:
            points.append(parts[1].replace("\\040", " "))
    return points


def _started_at(ctx: StepContext) -> float:
    try:
        return ctx.layout.root.stat().st_ctime - 60
    except OSError:
        return time.time()


def leftovers(cluster: Placed) -> list[str]:
    """What of ours is still on the machine (used by tests after `down`)."""
    found = []
    for name, (pid, binary) in processes.recorded(cluster.layout).items():
        if processes.is_running(pid, binary):
            found.append(f"process {name} ({pid})")
    bin_root = str(build.component_dir(build.COMPONENTS[0]).parent)
    for pid in _pids_with_cmdline(lambda cmd: cmd.startswith(bin_root)):
        found.append(f"process {pid} from {bin_root}")
    roots = (str(cluster.layout.root), str(cluster.layout.containerd_state))
    found += [f"mount {m}" for m in _mount_points() if m.startswith(roots)]
    for table in ("filter", "nat", "mangle"):
        rules = run(["iptables", "-w", "-t", table, "-S"], check=False, quiet=True).stdout.splitlines()
        chains = _our_chains(rules, set(), table, cluster.net.cni_network)
        chains |= {line.split()[1] for line in rules
                   if line.startswith((f"-N {cluster.net.forward_chain}", f"-N {cluster.net.output_chain}"))}
        found += [f"iptables {table}/{c}" for c in sorted(chains)]
    found += [f"nftables inet/{t}" for t in NFT_TABLES if _nft_table_exists(t)]
    for iface in (cluster.net.bridge, cluster.net.node_interface):
        if run(["ip", "link", "show", iface], check=False, quiet=True).returncode == 0:
            found.append(f"interface {iface}")
    found += [f"cgroup {c}" for c in _pod_cgroups()]
    if cluster.layout.root.exists():
        found.append(f"state dir {cluster.layout.root}")
    return found


_STEPS = [
    ("stop scheduler, controller-manager and kubelet", _stop_control_loops),
    ("remove pod sandboxes", _remove_pods),
    ("stop kube-proxy and containerd", _stop_proxy_and_runtime),
    ("remove pod cgroups", _remove_pod_cgroups),
    ("stop kube-apiserver and etcd", _stop_control_plane),
    ("unmount", _unmount),
    ("remove network (netns, veths, bridge, iptables chains)", _remove_network),
    ("restore host settings", _restore_host),
    ("remove state", _remove_state),
]
