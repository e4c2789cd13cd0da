"""The cluster provider interface: what the suite needs from any Kubernetes it deploys to."""

from __future__ import annotations

import abc
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable


@dataclass
class ClusterInfo:
    """How a provider describes itself (the report header and `cluster status` print this)."""

    provider: str
    kubeconfig: Path
    context: str
    details: dict[str, str] = field(default_factory=dict)


class Provider(abc.ABC):
    """One kind of cluster: embedded, minikube, kind or existing.

    `up` creates the cluster or reuses a healthy one; `down` removes what `up`
    created (an existing cluster is never removed).
    """

    name: str = "abstract"

    @abc.abstractmethod
    def up(self) -> dict[str, float]:
        """Bring the cluster up or reuse it; return seconds per step."""

    @abc.abstractmethod
    def down(self) -> list[str]:
        """Tear the cluster down; return the problems met (empty when clean)."""

    @abc.abstractmethod
    def kubeconfig(self) -> Path:
        """Path of a kubeconfig whose current context is this cluster."""

    @abc.abstractmethod
    def context(self) -> str:
        """Name of the kubeconfig context to use."""

    @abc.abstractmethod
    def load_images(self, tags: list[str]) -> None:
        """Make locally built docker images available to the cluster's nodes."""

    @abc.abstractmethod
    def node_port_url(self, node_port: int) -> str:
        """URL at which the host reaches a NodePort service."""

    def app_origins(self, node_port: int) -> list[str]:
        """Browser origins at which the host may reach NodePort `node_port`, for the release to trust (Better Auth
        refuses sign-ups from other origins) besides the chart's own http://127.0.0.1:<port>: none by default."""
        return []

    def own_addresses(self) -> list[str]:
        """Addresses of this cluster's nodes when deployproof created it (the load rule admits them,
        deployproof/load/targets.py); none by default: a cluster someone else made is not ours to load."""
        return []

    @abc.abstractmethod
    def collect_diagnostics(self, folder: Path) -> list[str]:
        """Copy provider-level logs (component logs, node state) into `folder`; return problems met."""

    @abc.abstractmethod
    def describe(self) -> ClusterInfo:
        """Provider name, kubeconfig, context and details such as versions."""

    def stop_node(self, node: str) -> None:
        """Stop node `node` as a lost machine would stop (power cut: no drain, no goodbye)."""
        raise NotImplementedError(f"the {self.name} provider cannot stop a node")

    def start_node(self, node: str) -> None:
        """Start a node stopped by stop_node again."""
        raise NotImplementedError(f"the {self.name} provider cannot start a node")

    def status(self) -> dict:
        """A short health summary (default: the description)."""
        info = self.describe()
        return {"provider": info.provider, "kubeconfig": str(info.kubeconfig), "context": info.context, **info.details}


def daemonset_ready(kubectl: Callable[..., subprocess.CompletedProcess[str]], namespace: str, name: str) -> tuple[bool, str]:
    """(every scheduled pod of DaemonSet `name` Ready, "ready/desired" as read) through a provider's kubectl runner."""
    status = kubectl("-n", namespace, "get", "daemonset", name,
                     "-o", "jsonpath={.status.numberReady}/{.status.desiredNumberScheduled}").stdout.strip()
    ready, _, desired = status.partition("/")
    return bool(desired) and desired != "0" and ready == desired, status or "-"
