"""Host ports a node container publishes on 127.0.0.1 (kind's NodePorts, minikube's with host-port access), checked
free before the node is created: docker's publishing fails late and vaguely when one is taken, and a NodePort of a
cluster running as host processes (the embedded one) is DNATed before docker's mapping ever sees the packet."""

from __future__ import annotations

import shutil
import socket

from ..errors import PrerequisiteError
from ..runner import run

KIND_CLUSTER_LABEL = "io.x-k8s.kind.cluster"  # kind labels each node container with its cluster's name


def publishing_container(port: int) -> tuple[str, str] | None:
    """(container, its kind cluster or "") of a container publishing host `port`, if any."""
    out = run(["docker", "ps", "-a", "--format", "{{.Names}}\t{{.Label \"" + KIND_CLUSTER_LABEL + "\"}}\t{{.Ports}}"],
              check=False, quiet=True)
    for line in out.stdout.splitlines():
        name, cluster, ports = (line.split("\t") + ["", ""])[:3]
        if any(mapping.split("->")[0].rsplit(":", 1)[-1] == str(port) for mapping in ports.split(", ") if "->" in mapping):
            return name, cluster
    return None


def host_kube_proxy_serves(port: int) -> bool:
    """Whether a kube-proxy on this host (iptables mode) serves NodePort `port`; False when it cannot tell."""
    if not shutil.which("iptables"):
        return False
    out = run(["iptables", "-t", "nat", "-S", "KUBE-NODEPORTS"], check=False, quiet=True)
    return out.returncode == 0 and any(f"--dport {port} " in line + " " for line in out.stdout.splitlines())


def check_free(port: int, *, elsewhere: str, kind_bin: str = "kind") -> None:
    """Raise a PrerequisiteError naming who holds 127.0.0.1:`port` and the fix; `elsewhere` is the provider's own way
    round it (another host port, another access mode)."""
    holder = publishing_container(port)
    if holder:
        container, cluster = holder
        owner = f"kind cluster {cluster!r}" if cluster else "it"
        raise PrerequisiteError(
            f"host port 127.0.0.1:{port} (a NodePort) is already published by container {container} ({owner})",
            (f"delete that cluster (`{kind_bin} delete cluster --name {cluster}`)" if cluster
             else f"stop that container (`docker rm -f {container}`)") + f", or {elsewhere}")
    if host_kube_proxy_serves(port):
        raise PrerequisiteError(
            f"host port 127.0.0.1:{port} is a NodePort of a cluster running on this host (its kube-proxy DNATs "
            f"127.0.0.1:{port} before docker's port mapping sees it: the embedded cluster?)",
            f"bring that cluster down first (`deployproof cluster down`), or {elsewhere}")
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError as exc:
            raise PrerequisiteError(f"host port 127.0.0.1:{port} (a NodePort) is in use by another process ({exc})",
                                    f"find it with `ss -ltnp sport = :{port}` and stop it, or {elsewhere}") from exc
