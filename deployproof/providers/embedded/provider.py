"""The embedded provider: upstream Kubernetes as local processes (see cluster.py)."""

from __future__ import annotations

import shutil
from pathlib import Path

from ... import versions
from ..base import ClusterInfo, Provider
from . import configs, system_images
from .cluster import EmbeddedCluster


class EmbeddedProvider(Provider):
    name = "embedded"

    def __init__(self, cluster: EmbeddedCluster | None = None, kubernetes_version: str | None = None) -> None:
        """`kubernetes_version`: one of versions.SUPPORTED_KUBERNETES (settings.kubernetes_version); None reuses
        whichever supported release runs healthy, else brings up versions.KUBERNETES."""
        self.cluster = cluster or EmbeddedCluster(kubernetes_version=kubernetes_version)

    def up(self) -> dict[str, float]:
        return self.cluster.up()

    def down(self) -> list[str]:
        return self.cluster.down()

    def kubeconfig(self) -> Path:
        return self.cluster.layout.kubeconfig

    def context(self) -> str:
        return configs.CONTEXT

    def load_images(self, tags: list[str]) -> None:
        system_images.load_into_containerd(self.cluster.layout, tags)

    def node_port_url(self, node_port: int) -> str:
        # kube-proxy in iptables mode answers NodePorts on the host's loopback.
        return f"http://127.0.0.1:{node_port}"

    def own_addresses(self) -> list[str]:
        # The node address on our own dummy interface (always ours: the embedded cluster is only ever deployproof's).
        return [self.cluster.net.node_ip]

    def collect_diagnostics(self, folder: Path) -> list[str]:
        problems = []
        target = folder / "embedded"
        target.mkdir(parents=True, exist_ok=True)
        for source in (self.cluster.layout.logs, self.cluster.layout.host_state, self.cluster.layout.cluster_info):
            try:
                if source.is_dir():
                    shutil.copytree(source, target / source.name, dirs_exist_ok=True)
                elif source.exists():
                    shutil.copy2(source, target / source.name)
            except OSError as exc:
                problems.append(f"copy {source}: {exc}")
        (target / "status.txt").write_text(repr(self.cluster.status()) + "\n")
        return problems

    def describe(self) -> ClusterInfo:
        return ClusterInfo(
            provider=self.name,
            kubeconfig=self.kubeconfig(),
            context=self.context(),
            details={"kubernetes": self.cluster.wanted_version, "containerd": versions.CONTAINERD, "etcd": versions.ETCD,
                     "state_dir": str(self.cluster.layout.root), **versions.test_cluster_settings()},
        )

    def status(self) -> dict:
        return {**super().status(), **self.cluster.status()}
