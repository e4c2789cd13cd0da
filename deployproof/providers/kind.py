"""The kind provider: a kind cluster driven through pytest-kind's KindCluster.

pytest-kind downloads pinned kind/kubectl binaries when none is at the path it is
given; we always hand it the binaries found on PATH, so it never downloads, and a
missing one is reported with how to install it. NodePorts reach the host through
kind's extraPortMappings on 127.0.0.1.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import yaml

from .. import versions
from ..errors import PrerequisiteError
from ..paths import state_dir
from ..runner import run
from .base import ClusterInfo, Provider

DEFAULT_NODE_PORTS = (versions.FRONTEND_NODE_PORT, versions.ECHO_NODE_PORT)  # the app, the cluster tests' echo service


def kind_config(node_ports: tuple[int, ...]) -> dict:
    """A one-node kind config mapping each NodePort to 127.0.0.1 on the host."""
    return {
        "kind": "Cluster",
        "apiVersion": "kind.x-k8s.io/v1alpha4",
        "nodes": [{
            "role": "control-plane",
            "extraPortMappings": [
                {"containerPort": port, "hostPort": port, "listenAddress": "127.0.0.1", "protocol": "TCP"} for port in node_ports
            ],
        }],
    }


class KindProvider(Provider):
    name = "kind"

    def __init__(self, cluster_name: str = "deployproof", node_ports: tuple[int, ...] = DEFAULT_NODE_PORTS,
                 node_image: str | None = None) -> None:
        self.cluster_name = cluster_name
        self.node_ports = node_ports
        self.node_image = node_image
        self.kind_bin = _require("kind", "install kind: `go install sigs.k8s.io/kind@v0.29.0` (or your package manager)")
        self.kubectl_bin = _require("kubectl", "install kubectl from your package manager, or run `deployproof cluster up --provider embedded`")
        self._kubeconfig = state_dir() / "kind" / f"{cluster_name}.kubeconfig"

    def _cluster(self):
        from .kind_library import kind_cluster_class

        return kind_cluster_class()(self.cluster_name, kubeconfig=self._kubeconfig, image=self.node_image,
                           kind_path=Path(self.kind_bin), kubectl_path=Path(self.kubectl_bin))

    def up(self) -> dict[str, float]:
        self._kubeconfig.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as config:
            yaml.safe_dump(kind_config(self.node_ports), config)
        # KindCluster.create reuses a cluster of the same name when it exists.
        self._cluster().create(config_file=config.name)
        return {}

    def down(self) -> list[str]:
        self._cluster().delete()
        return []

    def kubeconfig(self) -> Path:
        return self._kubeconfig

    def context(self) -> str:
        return f"kind-{self.cluster_name}"

    def load_images(self, tags: list[str]) -> None:
        cluster = self._cluster()
        for tag in tags:
            cluster.load_docker_image(tag)

    def node_port_url(self, node_port: int) -> str:
        if node_port not in self.node_ports:
            raise PrerequisiteError(f"NodePort {node_port} is not mapped to the host in this kind cluster",
                                    f"recreate it with node_ports including {node_port}")
        return f"http://127.0.0.1:{node_port}"

    def collect_diagnostics(self, folder: Path) -> list[str]:
        out = run([self.kind_bin, "export", "logs", str(folder / "kind"), "--name", self.cluster_name], check=False)
        return [] if out.returncode == 0 else [f"kind export logs: {out.stderr.strip()[-300:]}"]

    def describe(self) -> ClusterInfo:
        return ClusterInfo(self.name, self.kubeconfig(), self.context(), {"cluster": self.cluster_name})


def _require(binary: str, fix: str) -> str:
    found = shutil.which(binary)
    if not found:
        raise PrerequisiteError(f"`{binary}` is not installed (needed by the kind provider)", fix)
    return found
