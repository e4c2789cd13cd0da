"""Host preparation for the embedded cluster, recorded so tear-down can put the machine back.

Every change (a sysctl's old value, a cgroup hierarchy we mounted, the node interface, our
iptables chain) is written to host-changes.json before it is made.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from ...progress import say
from ...runner import run
from .layout import Layout, Network

SYSCTLS = {
    "net.ipv4.ip_forward": "1",
    "net.bridge.bridge-nf-call-iptables": "1",
    # kube-proxy sets this itself for localhost NodePorts; recorded here so down restores it.
    "net.ipv4.conf.all.route_localnet": "1",
}
KERNEL_MODULES = ("br_netfilter", "overlay")
CGROUP_ROOT = Path("/sys/fs/cgroup")
# cgroup v1 hierarchies the kernel enables but this host may not mount. The kubelet calls hugetlb
# optional, but containerd's CRI stats read every enabled hierarchy: without it every container
# reports 0 CPU and the metrics API (so the HPA) has no pod metrics.
OPTIONAL_CGROUPS = ("hugetlb",)


def cgroup_v1_host() -> bool:
    """Whether /sys/fs/cgroup is cgroup v1 (or hybrid): a unified (v2) mount has cgroup.controllers at its root."""
    return CGROUP_ROOT.exists() and not (CGROUP_ROOT / "cgroup.controllers").exists()


def _sysctl_path(name: str) -> Path:
    return Path("/proc/sys") / name.replace(".", "/")


class HostChanges:
    """The journal of what we changed on the host."""

    def __init__(self, layout: Layout) -> None:
        self.path = layout.host_state
        self.data: dict = json.loads(self.path.read_text()) if self.path.exists() else {"sysctls": {}, "cgroup_mounts": [], "interfaces": [], "chains": []}

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_text(json.dumps(self.data, indent=2))


def prepare(layout: Layout, net: Network) -> None:
    changes = HostChanges(layout)
    if "preexisting_chains" not in changes.data:
        # Chains named like Kubernetes' that were there before us are not ours to remove.
        changes.data["preexisting_chains"] = _chains()
        changes.save()
    for module in KERNEL_MODULES:
        run(["modprobe", module], check=False, quiet=True)
    for name, value in SYSCTLS.items():
        path = _sysctl_path(name)
        old = path.read_text().strip()
        changes.data["sysctls"].setdefault(name, old)
        changes.save()
        if old != value:
            path.write_text(value)
    for subsystem in OPTIONAL_CGROUPS:
        target = CGROUP_ROOT / subsystem
        if not target.joinpath("tasks").exists():
            changes.data.setdefault("cgroup_mounts", []).append(str(target))
            changes.save()
            target.mkdir(exist_ok=True)
            run(["mount", "-t", "cgroup", "-o", subsystem, subsystem, str(target)])
    _ensure_dummy_interface(changes, net)
    _ensure_filter_chains(changes, net)


def _chains() -> list[str]:
    found = []
    for table in ("filter", "nat", "mangle"):
        rules = run(["iptables", "-w", "-t", table, "-S"], check=False, quiet=True).stdout.splitlines()
        found += [f"{table}/{line.split()[1]}" for line in rules if line.startswith("-N ")]
    return found


def _ensure_dummy_interface(changes: HostChanges, net: Network) -> None:
    link = run(["ip", "-o", "link", "show", net.node_interface], check=False, quiet=True)
    if link.returncode != 0:
        changes.data["interfaces"].append(net.node_interface)
        changes.save()
        # A port-less bridge works as a dummy interface (the dummy driver is often not built in).
        run(["ip", "link", "add", net.node_interface, "type", "bridge"], quiet=True)
    addrs = run(["ip", "-o", "-4", "addr", "show", "dev", net.node_interface], quiet=True).stdout
    if f" {net.node_ip}/" not in addrs:
        run(["ip", "addr", "add", f"{net.node_ip}/32", "dev", net.node_interface], quiet=True)
    run(["ip", "link", "set", net.node_interface, "up"], quiet=True)


def _ensure_filter_chains(changes: HostChanges, net: Network) -> None:
    """Our filter chains, rebuilt on every bring-up:

    - a Service address that kube-proxy did not translate (no endpoint yet, or kube-proxy between its nat and
      filter updates) is refused here, in FORWARD (pods) and OUTPUT (host-network pods): it would otherwise
      follow the default route off the host (measured: a 404 from whatever answered on the network, passed to
      a client as the backend's answer);
    - new pod connections go to the NetworkPolicy agent's queue (this kernel lacks nftables' queue expression,
      which the agent's own rules need; xtables' NFQUEUE reaches the same queue, and --queue-bypass lets
      traffic through while no agent listens);
    - the rest of pod traffic is accepted: dockerd sets the FORWARD policy to DROP.
    """
    queue = ["-m", "conntrack", "--ctstate", "NEW", "-j", "NFQUEUE", "--queue-num", str(net.policy_queue), "--queue-bypass"]
    untranslated = ["-d", net.service_cidr, "-j", "REJECT", "--reject-with", "icmp-port-unreachable"]
    rules = {
        (net.forward_chain, "FORWARD"): [untranslated, ["-s", net.pod_cidr, *queue], ["-d", net.pod_cidr, *queue],
                                         ["-s", net.pod_cidr, "-j", "ACCEPT"], ["-d", net.pod_cidr, "-j", "ACCEPT"]],
        (net.output_chain, "OUTPUT"): [untranslated],
    }
    for (chain, parent), chain_rules in rules.items():
        if chain not in changes.data["chains"]:
            changes.data["chains"].append(chain)
            changes.save()
        if run(["iptables", "-w", "-n", "-L", chain], check=False, quiet=True).returncode != 0:
            run(["iptables", "-w", "-N", chain], quiet=True)
        run(["iptables", "-w", "-F", chain], quiet=True)
        for rule in chain_rules:
            run(["iptables", "-w", "-A", chain, *rule], quiet=True)
        if run(["iptables", "-w", "-C", parent, "-j", chain], check=False, quiet=True).returncode != 0:
            run(["iptables", "-w", "-I", parent, "1", "-j", chain], quiet=True)


def restore(layout: Layout, net: Network) -> list[str]:
    """Undo every recorded change; return the problems met (tear-down goes on past them)."""
    changes = HostChanges(layout)
    problems: list[str] = []
    for chain in changes.data["chains"]:
        # A few attempts: another program's concurrent iptables-nft change can make one fail.
        for _ in range(3):
            for parent in ("FORWARD", "OUTPUT"):
                while run(["iptables", "-w", "-D", parent, "-j", chain], check=False, quiet=True).returncode == 0:
                    pass  # every jump into it, however many
            run(["iptables", "-w", "-F", chain], check=False, quiet=True)
            if run(["iptables", "-w", "-X", chain], check=False, quiet=True).returncode == 0:
                break
            time.sleep(1)
        else:
            problems.append(f"iptables chain {chain} could not be removed")
    for iface in changes.data["interfaces"]:
        run(["ip", "link", "del", iface], check=False, quiet=True)
    for target in reversed(changes.data.get("cgroup_mounts", [])):
        # Other programs (dockerd) make cgroups in a hierarchy once it is mounted; empty ones can go.
        for child in sorted((p for p in Path(target).rglob("*") if p.is_dir()), key=lambda p: len(p.parts), reverse=True):
            try:
                child.rmdir()
            except OSError:
                pass
        if run(["umount", target], check=False, quiet=True).returncode == 0:
            Path(target).rmdir()
        else:
            problems.append(f"cgroup mount {target} is busy; left mounted")
    for name, old in changes.data["sysctls"].items():
        try:
            _sysctl_path(name).write_text(old)
        except OSError as exc:
            problems.append(f"sysctl {name}: {exc}")
    if problems:
        say("host restore: " + "; ".join(problems))
    changes.path.unlink(missing_ok=True)
    return problems
