"""The existing provider: a kubeconfig context given by name, never created or deleted by us.

The host reaches a NodePort of it on a node address the Kubernetes API reports (ExternalIP first, the one meant
for clients beyond the cluster's network, then InternalIP): the first that accepts a connection on that port.
Where none does (a cloud cluster behind its firewall) the app needs --app-url: an Ingress or LoadBalancer.
"""

from __future__ import annotations

import ipaddress
import socket
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Callable, Iterable

import yaml

from ..errors import PrerequisiteError, WaitTimeout
from ..progress import say
from ..waits import poll_until
from .base import ClusterInfo, Provider

ADDRESS_TYPES = ("ExternalIP", "InternalIP")
CONNECT_TIMEOUT_S = 2.0  # one connection attempt: a dropped SYN costs this, not the kernel's minutes
NODE_PORT_TIMEOUT_S = 30.0  # kube-proxy serves a new NodePort on every node within seconds
APP_URL_FIX = ("pass --app-url http(s)://HOST[:PORT] of an Ingress or LoadBalancer that serves the app (env DEPLOYPROOF_APP_URL), "
               "or let this host reach a node on the NodePort range (30000-32767)")


def node_addresses(nodes: Iterable[Any]) -> list[str]:
    """Addresses a client may try for V1Node `nodes`: ExternalIPs, then InternalIPs, Ready nodes first, each once."""
    def ready(node: Any) -> bool:
        return any(c.type == "Ready" and c.status == "True" for c in (node.status.conditions or []))

    ordered = sorted(nodes, key=lambda node: 0 if ready(node) else 1)  # stable: the API's order within each group
    found: list[str] = []
    for kind in ADDRESS_TYPES:
        for node in ordered:
            found += [a.address for a in (node.status.addresses or []) if a.type == kind and a.address not in found]
    return found


def url_for(address: str, port: int) -> str:
    """http://ADDRESS:PORT, an IPv6 address in brackets."""
    try:
        bracketed = ipaddress.ip_address(address).version == 6
    except ValueError:
        bracketed = False  # a host name
    return f"http://[{address}]:{port}" if bracketed else f"http://{address}:{port}"


def tcp_answers(address: str, port: int, timeout: float = CONNECT_TIMEOUT_S) -> bool:
    try:
        socket.create_connection((address, port), timeout=timeout).close()
    except OSError:
        return False
    return True


def first_answering(addresses: list[str], port: int, connect: Callable[[str, int], bool] = tcp_answers) -> str | None:
    """The first of `addresses` (in their order) accepting a connection on `port`; all are tried at once, so a
    firewall that drops packets costs one connect timeout, not one per address."""
    if not addresses:
        return None
    with ThreadPoolExecutor(max_workers=min(16, len(addresses))) as pool:
        answers = list(pool.map(lambda address: connect(address, port), addresses))
    return next((address for address, ok in zip(addresses, answers) if ok), None)


class ExistingProvider(Provider):
    name = "existing"

    def __init__(self, kubeconfig: Path, context: str | None = None, *, list_nodes: Callable[[], list[Any]] | None = None,
                 connect: Callable[[str, int], bool] = tcp_answers, node_port_timeout: float = NODE_PORT_TIMEOUT_S) -> None:
        """`list_nodes` and `connect` stand in for the API and the network in tests."""
        self._kubeconfig = Path(kubeconfig).expanduser()
        if not self._kubeconfig.is_file():
            raise PrerequisiteError(f"kubeconfig {self._kubeconfig} does not exist",
                                    "pass --kubeconfig PATH (or KUBECONFIG) pointing at your cluster's kubeconfig")
        try:
            config = yaml.safe_load(self._kubeconfig.read_text()) or {}
        except yaml.YAMLError as exc:
            raise PrerequisiteError(f"kubeconfig {self._kubeconfig} is not valid YAML: {exc}", "fix or regenerate the kubeconfig") from exc
        contexts = [c.get("name") for c in config.get("contexts") or [] if isinstance(c, dict)]
        chosen = context or config.get("current-context")
        if not chosen or chosen not in contexts:
            raise PrerequisiteError(
                f"context {chosen!r} is not in {self._kubeconfig} (contexts there: {', '.join(map(str, contexts)) or 'none'})",
                "pass --kube-context NAME with one of those contexts",
            )
        self._context = chosen
        self._list_nodes = list_nodes or self._nodes_from_api
        self._connect = connect
        self.node_port_timeout = node_port_timeout

    def up(self) -> dict[str, float]:
        say(f"using existing cluster: context {self._context} in {self._kubeconfig} (never created or deleted by us)")
        return {}

    def down(self) -> list[str]:
        say("existing cluster left as it is (the existing provider never deletes a cluster)")
        return []

    def kubeconfig(self) -> Path:
        return self._kubeconfig

    def context(self) -> str:
        return self._context

    def load_images(self, tags: list[str]) -> None:
        raise PrerequisiteError(
            "an existing cluster cannot receive locally built images without a registry",
            "pass --image-registry HOST[:PORT][/PREFIX], a registry your cluster's nodes pull from: the built images are "
            "pushed there and installed by digest (credentials from your docker config; nothing is loaded)",
        )

    def _nodes_from_api(self) -> list[Any]:
        from ..kube import KubeClients

        clients = KubeClients.connect(self._kubeconfig, self._context)
        try:
            return clients.core.list_node().items
        finally:
            clients.close()

    def node_addresses(self) -> list[str]:
        return node_addresses(self._list_nodes())

    def node_port_url(self, node_port: int) -> str:
        addresses = self.node_addresses()
        if not addresses:
            raise PrerequisiteError("the cluster's nodes report no ExternalIP or InternalIP address to reach a NodePort on",
                                    APP_URL_FIX)

        def answering() -> tuple[bool, str]:
            found = first_answering(addresses, node_port, self._connect)
            return found is not None, found or f"no answer on port {node_port} from {', '.join(addresses)}"

        try:
            address = poll_until(answering, description=f"NodePort {node_port} on a node address ({', '.join(addresses)})",
                                 timeout=self.node_port_timeout, interval=1.0)
        except WaitTimeout:
            raise PrerequisiteError(f"NodePort {node_port} answers on no node address this host can reach (tried "
                                    f"{', '.join(addresses)} for {self.node_port_timeout:.0f}s)", APP_URL_FIX) from None
        return url_for(address, node_port)

    def app_origins(self, node_port: int) -> list[str]:
        # Which node will answer is known only once the Service exists: trust every one the host might use.
        return [url_for(address, node_port) for address in self.node_addresses()]

    def collect_diagnostics(self, folder: Path) -> list[str]:
        return []  # the namespace-level diagnostics (pods, events) cover an existing cluster

    def describe(self) -> ClusterInfo:
        return ClusterInfo(self.name, self.kubeconfig(), self.context(), {})
