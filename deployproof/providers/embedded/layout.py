"""Where one embedded cluster keeps its files, and the network it uses.

Everything the cluster creates lives under one state directory, so tear-down
knows exactly what to remove. The node address sits on a dummy interface of our
own, so no traffic of the cluster ever uses a real network interface.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ...paths import state_dir


@dataclass(frozen=True)
class Network:
    node_name: str = "deployproof-node"
    node_interface: str = "dp0"  # an interface of our own holding node_ip (a port-less bridge)
    node_ip: str = "10.99.0.1"
    bridge: str = "dp-cni0"
    pod_cidr: str = "10.244.0.0/16"
    node_pod_subnet: str = "10.244.0.0/24"
    service_cidr: str = "10.96.0.0/16"
    service_ip: str = "10.96.0.1"  # the `kubernetes` Service
    dns_ip: str = "10.96.0.10"
    cluster_domain: str = "cluster.local"
    forward_chain: str = "DEPLOYPROOF-FORWARD"
    output_chain: str = "DEPLOYPROOF-OUTPUT"
    # The NetworkPolicy agent's queue: new pod connections are queued here and judged by kube-network-policies.
    policy_queue: int = 98
    cni_network: str = "deployproof"  # the CNI network's name; the bridge plugin tags its iptables rules with it


# Ports the components listen on; `doctor` checks that they are free.
PORTS = {
    "etcd client": 2379,
    "etcd peer": 2380,
    "kube-apiserver": 6443,
    "kube-controller-manager": 10257,
    "kube-scheduler": 10259,
    "kubelet": 10250,
    "kubelet healthz": 10248,
    "kube-proxy metrics": 10249,
    "kube-proxy healthz": 10256,
}


@dataclass(frozen=True)
class Layout:
    root: Path

    @classmethod
    def default(cls) -> "Layout":
        return cls(state_dir())

    @property
    def pki(self) -> Path:
        return self.root / "pki"

    @property
    def config(self) -> Path:
        return self.root / "config"

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    @property
    def pids(self) -> Path:
        return self.root / "pids"

    @property
    def etcd_data(self) -> Path:
        return self.root / "etcd"

    @property
    def containerd_root(self) -> Path:
        return self.root / "containerd" / "root"

    @property
    def containerd_state(self) -> Path:
        # Under /run like containerd's default: its state holds sockets and shim bundles.
        return Path("/run/deployproof") / "containerd"

    @property
    def containerd_socket(self) -> Path:
        return self.containerd_state / "containerd.sock"

    @property
    def nri_dir(self) -> Path:
        # containerd's NRI socket, ours rather than /var/run/nri (a host's own containerd may serve that one).
        return self.containerd_state / "nri"

    @property
    def kubelet_root(self) -> Path:
        return self.root / "kubelet"

    @property
    def cni_conf_dir(self) -> Path:
        return self.root / "cni" / "net.d"

    @property
    def cni_data_dir(self) -> Path:
        return self.root / "cni" / "ipam"

    @property
    def volumes(self) -> Path:
        """Folders behind the local PersistentVolumes."""
        return self.root / "volumes"

    @property
    def kubeconfig(self) -> Path:
        """The admin kubeconfig a person or the test suite uses."""
        return self.root / "kubeconfig"

    @property
    def host_state(self) -> Path:
        """What we changed on the host (sysctls, mounts) so tear-down can put it back."""
        return self.root / "host-changes.json"

    @property
    def cluster_info(self) -> Path:
        return self.root / "cluster.json"

    def component_kubeconfig(self, component: str) -> Path:
        return self.config / f"{component}.kubeconfig"

    def pid_file(self, component: str) -> Path:
        return self.pids / f"{component}.pid"

    def log_file(self, component: str) -> Path:
        return self.logs / f"{component}.log"
