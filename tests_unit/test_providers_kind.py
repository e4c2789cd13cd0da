"""deployproof.providers.kind: its NodePort mappings and error paths (no cluster needed)."""

from __future__ import annotations

import shutil

import pytest

from deployproof.errors import PrerequisiteError
from deployproof.providers import get_provider


def _which(available: set[str]):
    return lambda name: f"/usr/bin/{name}" if name in available else None


def test_kind_maps_node_ports_to_localhost_only():
    from deployproof.providers.kind import kind_config

    mappings = kind_config((30080, 30081))["nodes"][0]["extraPortMappings"]
    assert {(m["containerPort"], m["hostPort"], m["listenAddress"]) for m in mappings} == {(30080, 30080, "127.0.0.1"), (30081, 30081, "127.0.0.1")}


def test_kind_missing_binary_says_how_to_get_it(monkeypatch):
    from deployproof.providers.kind_node import kindbin

    monkeypatch.setattr(shutil, "which", _which({"kubectl"}))
    monkeypatch.setattr(kindbin, "is_built", lambda: False)  # no cached build either
    with pytest.raises(PrerequisiteError) as error:
        get_provider("kind")
    assert "kind is not installed" in error.value.cause
    assert "python -m deployproof.providers.kind_node" in error.value.fix  # the command that builds it, offline


def test_kind_maps_node_ports_to_other_host_ports(monkeypatch):
    from deployproof.providers.kind import HOST_PORTS_ENV, KindProvider, kind_config

    mappings = kind_config((30080, 30081), host_ports={30080: 31080})["nodes"][0]["extraPortMappings"]
    assert {(m["containerPort"], m["hostPort"]) for m in mappings} == {(30080, 31080), (30081, 30081)}
    monkeypatch.setattr(shutil, "which", _which({"kind", "kubectl"}))
    monkeypatch.setenv(HOST_PORTS_ENV, "30080=31080, 30081=31081")
    assert KindProvider().node_port_url(30080) == "http://127.0.0.1:31080"
    monkeypatch.setenv(HOST_PORTS_ENV, "30080:31080")
    with pytest.raises(PrerequisiteError) as error:
        KindProvider()
    assert HOST_PORTS_ENV in error.value.cause and "30080=31080" in error.value.fix


def test_kind_refuses_an_unmapped_node_port(monkeypatch):
    from deployproof.providers.kind import KindProvider

    monkeypatch.setattr(shutil, "which", _which({"kind", "kubectl"}))
    provider = KindProvider()
    assert provider.node_port_url(30080) == "http://127.0.0.1:30080"
    with pytest.raises(PrerequisiteError):
        provider.node_port_url(31000)


def test_kind_real_binary_is_the_pinned_build():
    """The kind the provider runs is ours, built from the Go module proxy at the pinned version (built here
    when the cache lacks it: ~35 s), and it really runs."""
    from deployproof import versions
    from deployproof.providers.kind import find_kind
    from deployproof.providers.kind_node import kindbin
    from deployproof.runner import run

    kindbin.ensure_kind()
    assert find_kind() == str(kindbin.kind_binary())
    out = run([find_kind(), "version"]).stdout
    assert out.startswith(f"kind {versions.KIND} ") or out.startswith(f"kind {versions.KIND.lstrip('v')} "), out


def test_kind_storage_is_a_local_volume_pool_a_non_root_pod_can_use():
    """The default StorageClass binds at first consumer to local volumes pinned to the node (the host-path
    provisioner's root-owned folders broke the non-root database); volumes are kept, not deleted, on release."""
    from deployproof.providers.kind import LOCAL_VOLUME_ROOT, local_volume_manifests

    items = local_volume_manifests("deployproof-control-plane", [0, 3], storage_class=True)["items"]
    storage_class, *volumes = items
    assert storage_class["metadata"]["name"] == "standard"
    assert storage_class["metadata"]["annotations"]["storageclass.kubernetes.io/is-default-class"] == "true"
    assert (storage_class["provisioner"], storage_class["volumeBindingMode"]) == ("kubernetes.io/no-provisioner", "WaitForFirstConsumer")
    assert [v["spec"]["local"]["path"] for v in volumes] == [f"{LOCAL_VOLUME_ROOT}/pv-0", f"{LOCAL_VOLUME_ROOT}/pv-3"]
    for volume in volumes:
        terms = volume["spec"]["nodeAffinity"]["required"]["nodeSelectorTerms"]
        assert terms[0]["matchExpressions"][0]["values"] == ["deployproof-control-plane"]
        assert volume["spec"]["storageClassName"] == "standard"
        assert volume["spec"]["persistentVolumeReclaimPolicy"] == "Retain"
    # On reuse only the missing volumes are added; the StorageClass is left as it is.
    assert [i["kind"] for i in local_volume_manifests("n", [1], storage_class=False)["items"]] == ["PersistentVolume"]


def test_three_kind_nodes_are_a_control_plane_and_two_workers_that_run_the_pods(monkeypatch):
    """--kind-nodes 3: NodePorts on the control plane (kube-proxy forwards them to any node), images only into
    the workers (the control plane is tainted against workloads), the local volumes on the first worker (the
    node-loss test stops the last one)."""
    from deployproof.providers.kind import KindProvider, kind_config
    from deployproof.settings import Settings

    monkeypatch.setattr(shutil, "which", _which({"kind", "kubectl"}))
    config = kind_config((30080,), workers=2)
    assert [n["role"] for n in config["nodes"]] == ["control-plane", "worker", "worker"]
    assert config["nodes"][0]["extraPortMappings"] and "extraPortMappings" not in config["nodes"][1]
    provider = get_provider(Settings.load({"cluster_provider": "kind", "kind_nodes": "3"}, env={}))
    assert isinstance(provider, KindProvider) and provider.nodes == 3
    assert provider.node_containers() == ["deployproof-control-plane", "deployproof-worker", "deployproof-worker2"]
    assert provider.storage_node() == "deployproof-worker"
    assert KindProvider().storage_node() == "deployproof-control-plane"


def test_kind_nodes_other_than_one_or_three_are_a_usage_error():
    from deployproof.errors import UsageError
    from deployproof.settings import Settings

    with pytest.raises(UsageError) as error:
        Settings.load({"kind_nodes": "2"}, env={})
    assert "--kind-nodes=2" in error.value.cause and "1, 3" in error.value.cause


def test_the_kind_node_monitor_grace_is_a_merged_controller_manager_argument():
    """A patch of kubeadm's v1beta4 extraArgs list (kind merges it by name, keeping its own arguments)."""
    import yaml

    from deployproof import versions
    from deployproof.providers.kind_node.images import kubeadm_patches

    cluster = yaml.safe_load(kubeadm_patches()[0])
    assert {"name": "node-monitor-grace-period", "value": versions.KIND_NODE_MONITOR_GRACE} in cluster["controllerManager"]["extraArgs"]


def test_kind_node_addresses_are_its_own_only_when_deployproof_created_it(monkeypatch):
    import subprocess

    from deployproof.providers import kind as kind_module

    monkeypatch.setattr(shutil, "which", _which({"kind", "kubectl"}))
    provider = kind_module.KindProvider(nodes=3)
    commands: list[list[str]] = []

    def run(cmd, **kwargs):
        commands.append([str(c) for c in cmd])
        return subprocess.CompletedProcess(cmd, 0, "172.18.0.2 fc00:f853:ccd:e793::2 \n172.18.0.3  \n172.18.0.4  \n", "")

    monkeypatch.setattr(kind_module, "run", run)
    monkeypatch.setattr(kind_module.KindProvider, "created_by_us", lambda self: True)
    assert provider.own_addresses() == ["172.18.0.2", "fc00:f853:ccd:e793::2", "172.18.0.3", "172.18.0.4"]
    assert commands[0][-3:] == ["deployproof-control-plane", "deployproof-worker", "deployproof-worker2"]
    monkeypatch.setattr(kind_module.KindProvider, "created_by_us", lambda self: False)
    assert provider.own_addresses() == []  # a cluster of the same name someone else made is not ours to load


def test_kind_kubectl_names_the_kubeconfig_and_the_context(monkeypatch):
    import subprocess

    from deployproof.providers import kind as kind_module

    monkeypatch.setattr(shutil, "which", _which({"kind", "kubectl"}))
    provider = kind_module.KindProvider()
    seen: list[list[str]] = []
    monkeypatch.setattr(kind_module, "run", lambda cmd, **kw: seen.append([str(c) for c in cmd]) or subprocess.CompletedProcess(cmd, 1, "", ""))
    provider.healthy()
    assert seen[0][1:5] == ["--kubeconfig", str(provider.kubeconfig()), "--context", "kind-deployproof"]


# --- pulling from --image-registry (kind_registry.py; the live pull is the lead's kind run) ------------------

def test_every_node_mounts_the_registry_hosts_folder_and_containerd_reads_it(tmp_path):
    from deployproof.providers import kind_registry
    from deployproof.providers.kind import kind_config

    mounts = kind_registry.node_mounts(tmp_path / "certs.d")
    config = kind_config((30080,), (kind_registry.config_path_patch(),), workers=2, extra_mounts=mounts)
    assert [node.get("extraMounts") for node in config["nodes"]] == [mounts] * 3
    assert mounts == [{"hostPath": str(tmp_path / "certs.d"), "containerPath": "/etc/containerd/certs.d", "readOnly": True}]
    assert 'config_path = "/etc/containerd/certs.d"' in config["containerdConfigPatches"][0]
    assert "extraMounts" not in kind_config((30080,))["nodes"][0]


def test_the_hosts_toml_names_the_registry_and_the_ca_as_the_nodes_see_it(tmp_path):
    import tomllib

    from deployproof.providers import kind_registry

    ca = tmp_path / "ca.pem"
    ca.write_text("-----BEGIN CERTIFICATE-----\n")
    folder = kind_registry.write_hosts_dir(tmp_path / "certs.d", "172.18.0.1:5443", ca)
    assert folder == tmp_path / "certs.d" / "172.18.0.1:5443" and (folder / "ca.crt").read_text() == ca.read_text()
    hosts = tomllib.loads((folder / "hosts.toml").read_text())
    assert hosts == {"server": "https://172.18.0.1:5443", "capabilities": ["pull", "resolve"],
                     "ca": "/etc/containerd/certs.d/172.18.0.1:5443/ca.crt"}
    plain = tomllib.loads(kind_registry.hosts_toml("reg.test:5000", scheme="http"))
    assert plain == {"server": "http://reg.test:5000", "capabilities": ["pull", "resolve"]}


def test_containerd_2_reads_the_config_path_patch_of_the_node_config():
    """containerd 2.4 (the nodes' release, from our build cache) migrates the format-2 patch to its images plugin."""
    import subprocess
    import tempfile
    from pathlib import Path

    from deployproof import versions
    from deployproof.providers import kind_registry
    from deployproof.providers.embedded import build

    try:
        containerd = build.binary("containerd")
    except Exception as exc:  # noqa: BLE001 - no Go toolchain to name the build
        pytest.skip(f"containerd {versions.CONTAINERD} is not built here ({exc})")
    if not containerd.exists():
        pytest.skip(f"containerd {versions.CONTAINERD} is not built here ({containerd})")
    node_config = Path(__file__).resolve().parent.parent / "dockerfiles/kind-node/files/etc/containerd/config.toml"
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "config.toml"
        # kind merges a patch into the node's config; its table is new there, so appending is the same merge.
        config.write_text(node_config.read_text() + "\n" + kind_registry.config_path_patch())
        migrated = subprocess.run([str(containerd), "--config", str(config), "config", "migrate"], capture_output=True, text=True,
                                  timeout=60, check=True).stdout
    section = migrated.split("[plugins.'io.containerd.cri.v1.images'.registry]", 1)[1].split("[", 1)[0]
    assert "config_path = '/etc/containerd/certs.d'" in section


def test_the_registry_address_for_kind_nodes_is_a_docker_network_gateway():
    import docker.errors

    from deployproof.providers.kind_registry import node_reachable_address

    class Networks:
        def __init__(self, known):
            self.known = known

        def get(self, name):
            if name not in self.known:
                raise docker.errors.NotFound(name)
            return type("Network", (), {"attrs": {"IPAM": {"Config": self.known[name]}}})()

    class Client:
        def __init__(self, known):
            self.networks = Networks(known)

    kind = [{"Subnet": "fc00:f853:ccd:e793::/64", "Gateway": "fc00:f853:ccd:e793::1"}, {"Subnet": "172.18.0.0/16", "Gateway": "172.18.0.1"}]
    bridge = [{"Subnet": "172.17.0.0/16", "Gateway": "172.17.0.1"}]
    assert node_reachable_address(Client({"kind": kind, "bridge": bridge})) == "172.18.0.1"
    assert node_reachable_address(Client({"bridge": bridge})) == "172.17.0.1"  # before kind made its network
    with pytest.raises(PrerequisiteError, match="kind or bridge"):
        node_reachable_address(Client({}))


def test_a_default_bridge_listed_without_a_gateway_gives_its_interface_address(monkeypatch):
    """A fresh machine's dockerd (20.10) lists its default bridge with a subnet and no gateway."""
    from deployproof.providers import kind_registry

    attrs = {"IPAM": {"Config": [{"Subnet": "172.17.0.0/16"}]}, "Options": {"com.docker.network.bridge.name": "docker0"}}
    client = type("Client", (), {"networks": type("Networks", (), {"get": lambda self, name: type("N", (), {"attrs": attrs})()})()})()
    asked = []
    monkeypatch.setattr(kind_registry, "_interface_ipv4", lambda name: asked.append(name) or "172.17.0.1")
    assert kind_registry.node_reachable_address(client, network="bridge") == "172.17.0.1"
    assert asked == ["docker0"]
    monkeypatch.setattr(kind_registry, "_interface_ipv4", lambda name: None)
    with pytest.raises(PrerequisiteError, match="with an IPv4 gateway"):
        kind_registry.node_reachable_address(client, network="bridge")


def test_the_interface_address_is_read_from_the_host():
    from deployproof.providers.kind_registry import _interface_ipv4

    assert _interface_ipv4("lo") == "127.0.0.1"
    assert _interface_ipv4("no-such-interface0") is None


def test_kind_gets_the_registry_from_the_settings(monkeypatch, tmp_path):
    from deployproof.image_registry import Registry
    from deployproof.settings import Settings

    monkeypatch.setattr(shutil, "which", _which({"kind", "kubectl"}))
    ca = tmp_path / "ca.crt"
    ca.write_text("pem")
    provider = get_provider(Settings(cluster_provider="kind", image_registry=Registry("172.18.0.1", 5443), image_registry_ca=ca))
    assert provider.registry == Registry("172.18.0.1", 5443) and provider.registry_ca == ca
    assert provider.describe().details["image_registry"] == "172.18.0.1:5443"
