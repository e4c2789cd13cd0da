"""How a kind cluster's nodes pull from an image registry: containerd's hosts config, the CA, the address.

containerd reads a registry's settings from `config_path` (/etc/containerd/certs.d), one folder per
registry named HOST:PORT holding `hosts.toml` (server, capabilities, the CA file). The kind provider,
when it creates a cluster for --image-registry, writes that folder on the host, mounts it read-only
into every node (kind extraMounts) and points containerd at it (a containerdConfigPatch: format 2 like
the node's config.toml; containerd 2 migrates it to `plugins."io.containerd.cri.v1.images".registry`).
Credentials are not in here: the kubelet hands containerd the release's imagePullSecret.

The address: inside a kind node 127.0.0.1 is the node itself. A node reaches the host at any of the
host's own addresses, e.g. the gateway of a docker network (the host's side of its bridge), so the
registry listens there: `node_reachable_address()` names it (the `kind` network's gateway once kind made
that network, else docker's default bridge's, which the nodes reach through their gateway all the same).
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from ..errors import PrerequisiteError

CERTS_DIR_IN_NODE = "/etc/containerd/certs.d"
KIND_NETWORK = "kind"
DEFAULT_NETWORK = "bridge"


def config_path_patch() -> str:
    """The containerdConfigPatches entry that makes the node's containerd read registry hosts from CERTS_DIR_IN_NODE.
    (It excludes `registry.mirrors` patches: containerd refuses both; kind.registry_mirror_patch is the older way.)"""
    return f'[plugins."io.containerd.grpc.v1.cri".registry]\n  config_path = "{CERTS_DIR_IN_NODE}"\n'


def hosts_toml(address: str, *, scheme: str = "https", ca_in_node: str | None = None) -> str:
    """hosts.toml of registry `address` (HOST[:PORT]): pull and resolve from it directly, trusting `ca_in_node`.

    The settings sit at the top level, where they configure `server` itself: a `[host."…"]` table for the same
    URL would be tried first and then `server` again without the CA (measured: a refused pull then ended as an
    x509 error instead of the registry's 401)."""
    lines = [f'server = "{scheme}://{address}"', 'capabilities = ["pull", "resolve"]']
    if ca_in_node:
        lines.append(f'ca = "{ca_in_node}"')
    return "\n".join(lines) + "\n"


def write_hosts_dir(folder: Path, address: str, ca: Path | None, *, scheme: str = "https", seen_at: str = CERTS_DIR_IN_NODE) -> Path:
    """Write folder/ADDRESS/hosts.toml (and ca.crt beside it) as containerd will see them under `seen_at` (in the nodes:
    CERTS_DIR_IN_NODE, where the folder is mounted)."""
    registry_dir = folder / address
    registry_dir.mkdir(parents=True, exist_ok=True)
    ca_in_node = None
    if ca is not None:
        shutil.copyfile(ca, registry_dir / "ca.crt")
        ca_in_node = f"{seen_at}/{address}/ca.crt"
    (registry_dir / "hosts.toml").write_text(hosts_toml(address, scheme=scheme, ca_in_node=ca_in_node))
    return registry_dir


def node_mounts(folder: Path) -> list[dict]:
    """kind extraMounts giving every node the hosts folder, read-only, where containerd looks for it."""
    return [{"hostPath": str(folder), "containerPath": CERTS_DIR_IN_NODE, "readOnly": True}]


def _interface_ipv4(name: str) -> str | None:
    """The first IPv4 address of the host's interface `name` (None if it has none or does not exist)."""
    import json

    from ..errors import CommandError
    from ..runner import run

    try:
        links = json.loads(run(["ip", "-j", "-4", "addr", "show", "dev", name], quiet=True).stdout or "[]")
    except (CommandError, OSError, ValueError):
        return None
    return next((a["local"] for link in links for a in link.get("addr_info", []) if a.get("local")), None)


def node_reachable_address(client: Any = None, network: str | None = None) -> str:
    """An address of this host that kind nodes reach: the gateway of `network` (default: `kind` if docker has it,
    else docker's default bridge). A registry for the nodes listens there (and its certificate names it)."""
    import docker.errors

    if client is None:
        from ..docker_engine import ensure_docker

        client = ensure_docker()
    names = (network,) if network else (KIND_NETWORK, DEFAULT_NETWORK)
    for name in names:
        try:
            attrs = client.networks.get(name).attrs
        except docker.errors.NotFound:
            continue
        for config in (attrs.get("IPAM") or {}).get("Config") or []:
            gateway = config.get("Gateway")
            if gateway and ":" not in gateway:  # the IPv4 gateway: what the nodes' default route leads to
                return gateway
        # dockerd (20.10 here) names no Gateway for its default bridge when it made docker0 itself at its first
        # start (a fresh machine); the gateway is then the bridge interface's own address.
        bridge = (attrs.get("Options") or {}).get("com.docker.network.bridge.name")
        if bridge:
            address = _interface_ipv4(bridge)
            if address:
                return address
    raise PrerequisiteError(f"docker has no network {' or '.join(names)} with an IPv4 gateway",
                            "is dockerd running (docker network ls)? kind creates its network `kind` at the first cluster")
