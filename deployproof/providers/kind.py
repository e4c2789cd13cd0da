"""The kind provider: a kind cluster of one node, or three (a control plane and two workers), from our own
node image, driven through pytest-kind-ng (as a library: kind_library.py).

Offline by construction: kind is our build (kind_node/kindbin.py, or one on PATH), the node image is
ours (kind_node/nodeimage.py: every image it runs is preloaded), kubectl is the embedded build's. The
cluster: one control-plane node, kubeadm patches that name our etcd/CoreDNS images and keep the kubelet
on cgroup v1 hosts, NodePorts mapped to 127.0.0.1 with extraPortMappings, metrics-server applied from
the node's manifests, images loaded like `kind load docker-image` (load_images says how they differ). Storage: the default StorageClass
`standard` is a pool of local PersistentVolumes over world-writable folders inside the node container
(local_volume_manifests), as in the embedded cluster, because the host-path provisioner's root-owned
folders cannot be written by the chart's non-root database.

With --image-registry the cluster is created with the nodes' containerd told where to pull and which CA
to trust (kind_registry.py: a hosts folder mounted into every node), and the images are not loaded.

What we create we record (kind_state_dir()/<name>.json: the node container's id, the registry it was made
for); a cluster of the same name without that record was made by someone else and is neither reused nor deleted.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING

import yaml

from .. import versions
from ..errors import DeployProofError, PrerequisiteError
from ..kube import kubectl_args
from ..paths import state_dir
from ..progress import say, step
from ..runner import run, run_pipe
from ..waits import poll_until
from . import host_ports, kind_registry
from .base import ClusterInfo, Provider, daemonset_ready

if TYPE_CHECKING:
    from ..image_registry import Registry

DEFAULT_NODE_PORTS = (versions.FRONTEND_NODE_PORT, versions.ECHO_NODE_PORT)  # the app, the cluster tests' echo service
CLUSTER_LABEL = host_ports.KIND_CLUSTER_LABEL
KIND_NETWORK = "kind"
READY_TIMEOUT = 300.0
# NodePort=hostPort pairs, comma separated ("30080=31080,30081=31081"): where get_provider builds the provider.
HOST_PORTS_ENV = "DEPLOYPROOF_KIND_HOST_PORTS"
# Local volumes live in the node container's /var (a docker volume kind gives every node), deleted with it.
LOCAL_VOLUME_ROOT = "/var/local-volumes"
LOCAL_PROVISIONER = "kubernetes.io/no-provisioner"
NODE_SNAPSHOTTER = "overlayfs"  # the node's containerd (dockerfiles/kind-node/files/etc/containerd/config.toml)
POOL_LABEL = "deployproof/pool"
BUILD_FIX = "build it: .venv/bin/python -m deployproof.providers.kind_node (kind + node image, cached)"


def registry_mirror_patch(registry: str, endpoint: str) -> str:
    """A containerdConfigPatches entry making the node's containerd (1.7, config v2) pull `registry` from `endpoint`.
    (containerd refuses it beside a registry config_path: --image-registry uses kind_registry.py's hosts folder instead.)"""
    return (f'[plugins."io.containerd.grpc.v1.cri".registry.mirrors."{registry}"]\n'
            f'  endpoint = ["{endpoint}"]\n')


def kind_config(node_ports: tuple[int, ...], containerd_config_patches: tuple[str, ...] = (),
                host_ports: dict[int, int] | None = None, workers: int = 0, extra_mounts: list[dict] | None = None) -> dict:
    """A kind config: the control-plane node with the NodePorts on 127.0.0.1 (each on the same host port
    unless `host_ports` maps it elsewhere; kube-proxy forwards them to pods on any node), `workers` worker
    nodes, our kubeadm patches, optional containerd patches, `extra_mounts` on every node (the registry hosts folder)."""
    from .kind_node.images import kubeadm_patches

    host_ports = host_ports or {}
    mounts = {"extraMounts": list(extra_mounts)} if extra_mounts else {}
    config: dict = {
        "kind": "Cluster",
        "apiVersion": "kind.x-k8s.io/v1alpha4",
        "nodes": [{
            "role": "control-plane",
            "extraPortMappings": [
                {"containerPort": port, "hostPort": host_ports.get(port, port), "listenAddress": "127.0.0.1", "protocol": "TCP"}
                for port in node_ports
            ],
            **mounts,
        }] + [{"role": "worker", **mounts} for _ in range(workers)],
        "kubeadmConfigPatches": kubeadm_patches(),
    }
    if containerd_config_patches:
        config["containerdConfigPatches"] = list(containerd_config_patches)
    return config


def local_volume_manifests(node_name: str, indexes: list[int], *, storage_class: bool) -> dict:
    """A List of the default StorageClass (no provisioner, bound at first consumer, like a real local
    volume) and one local PersistentVolume per index over LOCAL_VOLUME_ROOT/pv-<index> on `node_name`."""
    from .embedded.storage import STORAGE_CLASS, VOLUME_SIZE

    items: list[dict] = []
    if storage_class:
        items.append({
            "apiVersion": "storage.k8s.io/v1", "kind": "StorageClass",
            "metadata": {"name": STORAGE_CLASS, "annotations": {"storageclass.kubernetes.io/is-default-class": "true"}},
            "provisioner": LOCAL_PROVISIONER, "volumeBindingMode": "WaitForFirstConsumer", "reclaimPolicy": "Retain",
        })
    for index in indexes:
        items.append({
            "apiVersion": "v1", "kind": "PersistentVolume",
            "metadata": {"name": f"deployproof-pv-{index}", "labels": {POOL_LABEL: "local"}},
            "spec": {
                "capacity": {"storage": VOLUME_SIZE}, "accessModes": ["ReadWriteOnce"],
                "persistentVolumeReclaimPolicy": "Retain", "storageClassName": STORAGE_CLASS,
                "local": {"path": f"{LOCAL_VOLUME_ROOT}/pv-{index}"},
                "nodeAffinity": {"required": {"nodeSelectorTerms": [{"matchExpressions": [
                    {"key": "kubernetes.io/hostname", "operator": "In", "values": [node_name]}]}]}},
            },
        })
    return {"apiVersion": "v1", "kind": "List", "items": items}


def parse_host_ports(text: str) -> dict[int, int]:
    """`30080=31080,30081=31081` → {30080: 31080, 30081: 31081}."""
    pairs: dict[int, int] = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        node_port, sep, host_port = item.partition("=")
        if not (sep and node_port.strip().isdigit() and host_port.strip().isdigit()):
            raise PrerequisiteError(f"{HOST_PORTS_ENV}: {item!r} is not NODEPORT=HOSTPORT",
                                    f"set it like {HOST_PORTS_ENV}=30080=31080,30081=31081, or unset it")
        pairs[int(node_port)] = int(host_port)
    return pairs


class KindProvider(Provider):
    name = "kind"

    def __init__(self, cluster_name: str = "deployproof", node_ports: tuple[int, ...] = DEFAULT_NODE_PORTS,
                 node_image: str | None = None, containerd_config_patches: tuple[str, ...] = (),
                 host_ports: dict[int, int] | None = None, nodes: int = 1, kubernetes_version: str | None = None,
                 registry: Registry | None = None, registry_ca: Path | None = None) -> None:
        self.cluster_name = cluster_name
        # --image-registry: the nodes' containerd pulls from it, trusting `registry_ca` (kind_registry.py).
        self.registry = registry
        self.registry_ca = registry_ca
        self.nodes = nodes  # 1: the control plane runs the pods; 3: a control plane and two workers
        # The release of our node image (a supported one; another release means another image and a new cluster).
        self.kubernetes_version = kubernetes_version or versions.KUBERNETES
        self.node_ports = tuple(node_ports)
        # NodePort → host port where they differ: a kind cluster beside another cluster that holds 127.0.0.1:30080.
        if host_ports is None:
            host_ports = parse_host_ports(os.environ.get(HOST_PORTS_ENV, ""))
        self.host_ports = {port: host for port, host in host_ports.items() if port in self.node_ports}
        self.node_image = node_image  # None: our node image, built (or found) by content
        self.containerd_config_patches = tuple(containerd_config_patches)
        self.kind_bin = find_kind()
        self.kubectl_bin = find_kubectl()
        self._kubeconfig = kind_state_dir() / f"{cluster_name}.kubeconfig"
        self._record = kind_state_dir() / f"{cluster_name}.json"

    # --- what exists -------------------------------------------------------------------------
    def _cluster(self, image: str | None = None):
        from .kind_library import kind_cluster_class

        return kind_cluster_class()(self.cluster_name, kubeconfig=self._kubeconfig, image=image,
                                    kind_path=Path(self.kind_bin), kubectl_path=Path(self.kubectl_bin))

    def _node_container(self) -> str:
        return f"{self.cluster_name}-control-plane"

    def node_containers(self) -> list[str]:
        """Every node's container (kind names them <cluster>-control-plane, <cluster>-worker, <cluster>-worker2…)."""
        workers = [f"{self.cluster_name}-worker{index if index > 1 else ''}" for index in range(1, self.nodes)]
        return [self._node_container(), *workers]

    def storage_node(self) -> str:
        """The node holding the local volumes (the database's): the control plane alone, else the first worker
        (the control plane is tainted against workloads on a multi-node cluster; the node-loss test stops the
        last worker, never this one)."""
        return self.node_containers()[1 if self.nodes > 1 else 0]

    def exists(self) -> bool:
        out = run([self.kind_bin, "get", "clusters"], quiet=True, fix="is dockerd running? (docker info)")
        return self.cluster_name in out.stdout.split()

    def _node_id(self) -> str | None:
        out = run(["docker", "inspect", "--format", "{{.Id}}", self._node_container()], check=False, quiet=True)
        return out.stdout.strip() or None

    def _node_image_id(self) -> str | None:
        out = run(["docker", "inspect", "--format", "{{.Image}}", self._node_container()], check=False, quiet=True)
        return out.stdout.strip() or None

    def created_by_us(self) -> bool:
        try:
            recorded = json.loads(self._record.read_text())
        except (OSError, ValueError):
            return False
        return recorded.get("node_id") == self._node_id()

    def healthy(self) -> bool:
        out = self._kubectl("get", "nodes", "-o", "json")
        if out.returncode != 0:
            return False
        nodes = json.loads(out.stdout).get("items", [])
        return len(nodes) == self.nodes and all(_ready(node) for node in nodes)

    # --- lifecycle ---------------------------------------------------------------------------
    def up(self) -> dict[str, float]:
        timings: dict[str, float] = {}
        _check_docker()
        image = self._resolve_node_image(timings)
        self._kubeconfig.parent.mkdir(parents=True, exist_ok=True)
        if self.exists():
            if not self.created_by_us():
                raise PrerequisiteError(
                    f"a kind cluster named {self.cluster_name!r} exists that deployproof did not create",
                    f"use another name (KindProvider(cluster_name=...)), or delete it yourself if it is yours: "
                    f"`{self.kind_bin} delete cluster --name {self.cluster_name}` (deployproof never deletes what it did not create)")
            image_id = _image_id(image)
            recorded_nodes = json.loads(self._record.read_text()).get("nodes", 1)
            if recorded_nodes != self.nodes:
                say(f"kind cluster {self.cluster_name!r} (ours) has {recorded_nodes} node(s), {self.nodes} asked for: recreating it")
                self.down()
                return self.up()
            wanted_registry = self.registry.address if self.registry else None
            if json.loads(self._record.read_text()).get("registry") != wanted_registry:
                # containerd's registry config_path is set at creation only.
                say(f"kind cluster {self.cluster_name!r} (ours) was created for registry "
                    f"{json.loads(self._record.read_text()).get('registry') or 'none'}, {wanted_registry or 'none'} asked for: recreating it")
                self.down()
                return self.up()
            if self.registry:
                self._write_registry_hosts()  # mounted into the nodes: a new CA is seen at the next pull
            if self._node_image_id() != image_id:
                # Ours, so ours to replace: a run proves the node image it names, never an older one.
                say(f"kind cluster {self.cluster_name!r} (ours) runs an older node image than {image}: recreating it")
                self.down()
                return self.up()
            run([self.kind_bin, "export", "kubeconfig", "--name", self.cluster_name, "--kubeconfig", self._kubeconfig], quiet=True)
            if self.healthy():
                say(f"✓ kind cluster {self.cluster_name!r} is up and healthy: reused")
                self.sync_pod_routes()
                with step("local volumes (released ones recycled)", timings):
                    self._ensure_local_volumes()
                return timings
            say(f"kind cluster {self.cluster_name!r} (ours) is not healthy: recreating it")
            self.down()
        self._check_ports_free()
        network_existed = _network_exists(KIND_NETWORK)
        patches, mounts = self.containerd_config_patches, None
        if self.registry:
            patches = (*patches, kind_registry.config_path_patch())
            mounts = kind_registry.node_mounts(self._write_registry_hosts())
        with tempfile.TemporaryDirectory(prefix="deployproof-kind-") as tmp:
            config = Path(tmp) / "kind-config.yaml"
            config.write_text(yaml.safe_dump(kind_config(self.node_ports, patches, self.host_ports,
                                                         workers=self.nodes - 1, extra_mounts=mounts), sort_keys=False))
            with step(f"kind create cluster {self.cluster_name} ({image})", timings):
                # KindCluster.create reuses a cluster of the same name; we decided above that there is none.
                self._cluster(image).create(config_file=config)
        self._record.write_text(json.dumps({"node_id": self._node_id(), "image": image, "created": time.time(),
                                            "network_created": not network_existed, "nodes": self.nodes,
                                            "registry": self.registry.address if self.registry else None}))
        with step("nodes Ready, routes between their pod ranges, CoreDNS available, NetworkPolicy agent ready", timings):
            poll_until(self._node_and_dns_ready, description=f"kind nodes {', '.join(self.node_containers())} Ready, "
                       "CoreDNS available, kube-network-policies ready", timeout=READY_TIMEOUT)
        with step("metrics-server answering", timings):
            run(["docker", "exec", self._node_container(), "kubectl", "--kubeconfig=/etc/kubernetes/admin.conf",
                 "apply", "-f", "/kind/manifests/metrics-server.yaml"], quiet=True)
            poll_until(self._metrics_answering, description="the metrics API (metrics-server) answering with node metrics",
                       timeout=READY_TIMEOUT)
        with step("default StorageClass: local volumes writable by non-root pods", timings):
            self._ensure_local_volumes()
        return timings

    def registry_hosts_dir(self) -> Path:
        """The host folder mounted as the nodes' /etc/containerd/certs.d (kind_registry.py)."""
        return kind_state_dir() / f"{self.cluster_name}-containerd-certs.d"

    def _write_registry_hosts(self) -> Path:
        assert self.registry is not None
        folder = self.registry_hosts_dir()
        kind_registry.write_hosts_dir(folder, self.registry.address, self.registry_ca)
        say(f"kind nodes pull from {self.registry.address} (containerd hosts config {folder}/{self.registry.address}/hosts.toml"
            f"{', CA ' + str(self.registry_ca) if self.registry_ca else ', the system CAs'})")
        return folder

    def _ensure_local_volumes(self) -> None:
        """Replace the node image's host-path StorageClass with the local-volume pool; recycle released volumes.

        The host-path provisioner makes root-owned 0755 folders and fsGroup does not apply to hostPath, so the
        chart's postgres (uid 999 under Pod Security `restricted`, no root init container) could not create
        its data folder. The folders here are 0777: any uid creates its own data folder inside."""
        from .embedded.storage import POOL_SIZE, STORAGE_CLASS

        node = self.storage_node()
        provisioner = self._kubectl("get", "storageclass", STORAGE_CLASS, "-o", "jsonpath={.provisioner}").stdout.strip()
        if provisioner and provisioner != LOCAL_PROVISIONER:
            # A StorageClass's provisioner is immutable: delete, then create it anew below.
            self._kubectl_checked("delete", "storageclass", STORAGE_CLASS)
        listing = json.loads(self._kubectl_checked("get", "pv", "-l", f"{POOL_LABEL}=local", "-o", "json").stdout)
        phases = {pv["metadata"]["name"]: pv.get("status", {}).get("phase") for pv in listing["items"]}
        missing: list[int] = []
        for index in range(POOL_SIZE):
            name = f"deployproof-pv-{index}"
            if phases.get(name) in ("Released", "Failed"):
                say(f"recycling {name} (its claim was deleted)")
                self._kubectl_checked("delete", "pv", name, "--wait=true")
                run(["docker", "exec", node, "rm", "-rf", f"{LOCAL_VOLUME_ROOT}/pv-{index}"], quiet=True)
                missing.append(index)
            elif name not in phases:
                missing.append(index)
        if missing:
            folders = [f"{LOCAL_VOLUME_ROOT}/pv-{index}" for index in missing]
            run(["docker", "exec", node, "mkdir", "-p", *folders], quiet=True)
            run(["docker", "exec", node, "chmod", "0777", *folders], quiet=True)
        manifests = local_volume_manifests(node, missing, storage_class=provisioner != LOCAL_PROVISIONER)
        if manifests["items"]:
            run([self.kubectl_bin, *kubectl_args(self._kubeconfig, self.context()), "apply", "-f", "-"], input=json.dumps(manifests),
                quiet=True, fix=f"inspect the cluster: {self.kubectl_bin} --kubeconfig {self._kubeconfig} get storageclass,pv")

    def _kubectl_checked(self, *args: str):
        return run([self.kubectl_bin, *kubectl_args(self._kubeconfig, self.context()), *args], quiet=True)

    def _kubectl(self, *args: str):
        return run([self.kubectl_bin, *kubectl_args(self._kubeconfig, self.context()), *args], check=False, quiet=True)

    def sync_pod_routes(self) -> dict[str, str]:
        """Route each node's pod range via its address on every other node; return node → range.

        What kindnetd does in kind's own images, done from here: every node's pods sit on a node-local bridge
        (dockerfiles/kind-node/files/kind/bin/pod-network), and a node's kubelet may read only its own Node, so
        the nodes cannot learn each other's ranges themselves. Called at creation, on reuse and after a node
        restarts (docker may give it another address)."""
        listing = json.loads(self._kubectl_checked("get", "nodes", "-o", "json").stdout)
        nodes = {n["metadata"]["name"]: (n["spec"].get("podCIDR"), next((a["address"] for a in n["status"].get("addresses", [])
                                                                       if a["type"] == "InternalIP"), None))
                 for n in listing["items"]}
        for node in nodes:
            for other, (pod_range, address) in nodes.items():
                if other != node and pod_range and address:
                    run(["docker", "exec", node, "ip", "route", "replace", pod_range, "via", address], quiet=True,
                        fix=f"is node {node} running? (docker ps)")
        return {name: pod_range or "-" for name, (pod_range, _) in nodes.items()}

    def _node_and_dns_ready(self) -> tuple[bool, str]:
        if not self.healthy():
            return False, "node not Ready"
        if self.nodes > 1:
            self.sync_pod_routes()
        available = self._kubectl("-n", "kube-system", "get", "deployment", "coredns",
                                  "-o", "jsonpath={.status.availableReplicas}").stdout.strip() or "0"
        if available == "0":
            return False, "CoreDNS: no available replica"
        netpol_ready, netpol = daemonset_ready(self._kubectl, "kube-system", "kube-network-policies")
        if not netpol_ready:
            return False, f"CoreDNS available: {available}, kube-network-policies ready: {netpol}"
        unheld = [node for node in self.node_containers() if not self._netpol_table_held(node)]
        return not unheld, f"the agent's nftables table not held on {', '.join(unheld)} (deployproof-netpol-guard.service)"

    @staticmethod
    def _netpol_table_held(node: str) -> bool:
        """Whether the node's guard holds the NetworkPolicy agent's table (dockerfiles/kind-node/files/kind/bin/netpol-table-guard)."""
        out = run(["docker", "exec", node, "nft", "list", "table", "inet", "kube-network-policies"], check=False, quiet=True)
        return "flags owner" in out.stdout

    def _metrics_answering(self) -> tuple[bool, str]:
        out = self._kubectl("get", "--raw", "/apis/metrics.k8s.io/v1beta1/nodes")
        if out.returncode != 0:
            return False, out.stderr.strip()[-160:]
        return bool(json.loads(out.stdout).get("items")), "no node metrics yet"

    def _resolve_node_image(self, timings: dict[str, float]) -> str:
        if self.node_image:
            if _image_id(self.node_image) is None:
                raise PrerequisiteError(f"the kind node image {self.node_image} is not in the local docker", BUILD_FIX)
            return self.node_image
        from .kind_node.nodeimage import ensure_node_image

        return ensure_node_image(timings=timings, kubernetes=self.kubernetes_version)

    def _check_ports_free(self) -> None:
        for port in (self.host_ports.get(p, p) for p in self.node_ports):
            host_ports.check_free(port, elsewhere="map it to another host port (KindProvider(host_ports={...}))", kind_bin=self.kind_bin)

    def down(self) -> list[str]:
        if not self.exists():
            self._record.unlink(missing_ok=True)
            return []
        if not self.created_by_us():
            return [f"kind cluster {self.cluster_name!r} was not created by deployproof: left as it is"]
        problems: list[str] = []
        network_created = json.loads(self._record.read_text()).get("network_created", False)
        try:
            self._cluster().delete()
        except Exception as exc:  # noqa: BLE001 - report, then still check what is left
            problems.append(f"kind delete cluster: {exc}")
        leftover = run(["docker", "ps", "-aq", "--filter", f"label={CLUSTER_LABEL}={self.cluster_name}"], check=False, quiet=True).stdout.split()
        if leftover:
            problems.append(f"containers left after kind delete: {' '.join(leftover)}")
        if network_created and _network_exists(KIND_NETWORK):
            attached = run(["docker", "network", "inspect", KIND_NETWORK, "--format", "{{len .Containers}}"], check=False, quiet=True).stdout.strip()
            if attached == "0":
                run(["docker", "network", "rm", KIND_NETWORK], check=False, quiet=True)
        self._record.unlink(missing_ok=True)
        self._kubeconfig.unlink(missing_ok=True)
        shutil.rmtree(self.registry_hosts_dir(), ignore_errors=True)
        return problems

    def stop_node(self, node: str) -> None:
        """`docker kill` the node's container: no graceful shutdown, the kubelet just stops answering."""
        self._own_node(node)
        run(["docker", "kill", node], quiet=True, fix=f"is the node running? docker ps --filter name={node}")

    def start_node(self, node: str) -> None:
        self._own_node(node)
        run(["docker", "start", node], quiet=True, fix=f"docker start {node} by hand, or recreate the cluster (deployproof cluster down)")
        # Its kubelet reports its (maybe new) address once it runs again: routes follow it.
        poll_until(lambda: (self.healthy(), "not every node Ready"), description=f"{node} Ready again", timeout=READY_TIMEOUT)
        self.sync_pod_routes()

    def _own_node(self, node: str) -> None:
        if node not in self.node_containers() or not self.created_by_us():
            raise PrerequisiteError(f"{node} is not a node of kind cluster {self.cluster_name!r} created by deployproof",
                                    f"name one of {', '.join(self.node_containers())}")

    def kubeconfig(self) -> Path:
        return self._kubeconfig

    def context(self) -> str:
        return f"kind-{self.cluster_name}"

    def load_images(self, tags: list[str]) -> None:
        """`docker save | ctr import` into the node's containerd: what `kind load docker-image` does, minus its
        `--digests`. Those extra `import-<date>@sha256:<manifest>` names become the image's repo digest, which
        the kubelet then reports as the pod's imageID instead of the image ID docker built (measured: SC-1's
        "runs the images just built" check failed on it); without them the imageID is the built image's ID."""
        # On several nodes the control plane is tainted against workloads: only the workers run (so need) them.
        nodes = self.node_containers()[1:] if self.nodes > 1 else self.node_containers()
        if not tags:
            return
        # One `docker save` of every tag (shared layers written once), then each node imports that file at the same
        # time: the old save per image and node wrote the same layers 2 x 3 times on three nodes.
        with tempfile.TemporaryDirectory(prefix="deployproof-images-") as scratch:
            archive = Path(scratch) / "images.tar"
            with step(f"save {len(tags)} images to one archive"):
                run(["docker", "save", "--output", archive, *tags],
                    fix="are the images present (docker image ls) and is there room in the temp folder?")

            def import_into(node: str) -> None:
                with step(f"import {', '.join(tags)} into kind node {node}"):
                    run_pipe(["cat", archive],
                             ["docker", "exec", "-i", node, "ctr", "--namespace=k8s.io", "images", "import",
                              "--all-platforms", f"--snapshotter={NODE_SNAPSHOTTER}", "-"],
                             fix=f"is the node running (docker ps) and its disk not full (docker exec {node} df -h)?")

            with ThreadPoolExecutor(max_workers=len(nodes)) as pool:
                list(pool.map(import_into, nodes))  # list(): a failed import raises here

    def node_port_url(self, node_port: int) -> str:
        if node_port not in self.node_ports:
            raise PrerequisiteError(f"NodePort {node_port} is not mapped to the host in this kind cluster",
                                    f"recreate it with node_ports including {node_port}")
        return f"http://127.0.0.1:{self.host_ports.get(node_port, node_port)}"

    def own_addresses(self) -> list[str]:
        """The node containers' addresses on docker's networks, when the cluster is ours (recorded at creation)."""
        if not self.created_by_us():
            return []
        out = run(["docker", "inspect", "--format", "{{range .NetworkSettings.Networks}}{{.IPAddress}} {{.GlobalIPv6Address}} {{end}}",
                   *self.node_containers()], check=False, quiet=True)
        return list(dict.fromkeys(out.stdout.split())) if out.returncode == 0 else []

    def collect_diagnostics(self, folder: Path) -> list[str]:
        out = run([self.kind_bin, "export", "logs", str(folder / "kind"), "--name", self.cluster_name], check=False)
        return [] if out.returncode == 0 else [f"kind export logs: {out.stderr.strip()[-300:]}"]

    def describe(self) -> ClusterInfo:
        return ClusterInfo(self.name, self.kubeconfig(), self.context(),
                           {"cluster": self.cluster_name, "nodes": str(self.nodes), "kind": self.kind_bin, "node_image": self.node_image or "deployproof (built)",
                            "kubernetes": self.kubernetes_version, "image_registry": str(self.registry) if self.registry else "-",
                            "node_monitor_grace_period": versions.KIND_NODE_MONITOR_GRACE, **versions.test_cluster_settings()})


def kind_state_dir() -> Path:
    """Where the kind provider keeps its kubeconfigs and ownership records: beside the embedded cluster's
    state folder, not inside it — the embedded cluster replaces its folder whole when it is re-created
    (measured: a kind cluster's record vanished with it, and the cluster could no longer be deleted as ours)."""
    base = state_dir()
    return base.with_name(base.name + "-kind")


def find_kind() -> str:
    """Our pinned kind build when it is there, else a kind on PATH; missing: how to build it."""
    from .kind_node import kindbin

    try:
        if kindbin.is_built():
            return str(kindbin.kind_binary())
    except PrerequisiteError:
        pass  # no Go toolchain: only a kind on PATH can serve
    found = shutil.which("kind")
    if not found:
        raise PrerequisiteError(f"kind is not installed (needed by the kind provider; pinned {versions.KIND})", BUILD_FIX)
    return found


def find_kubectl() -> str:
    from .embedded import build

    try:
        built = build.binary("kubectl")
        if built.exists():
            return str(built)
    except (KeyError, PrerequisiteError):
        pass
    found = shutil.which("kubectl")
    if not found:
        raise PrerequisiteError("kubectl is not installed (needed by the kind provider)",
                                "run ./dev setup (builds kubectl from source), or install kubectl")
    return found


def _check_docker() -> None:
    from ..docker_engine import ensure_docker
    from .kind_node.runtime import check

    try:
        client = ensure_docker()
    except DeployProofError as exc:
        raise PrerequisiteError(f"docker is not running, and kind runs its node in a docker container ({exc.cause})", exc.fix) from exc
    verdict = check(client.info())
    if not verdict.ok:
        raise PrerequisiteError(verdict.detail, verdict.fix)


def _image_id(image: str) -> str | None:
    out = run(["docker", "image", "inspect", "--format", "{{.Id}}", image], check=False, quiet=True)
    return out.stdout.strip() or None


def _network_exists(name: str) -> bool:
    return run(["docker", "network", "inspect", name], check=False, quiet=True).returncode == 0


def _ready(node: dict) -> bool:
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in node.get("status", {}).get("conditions", []))
