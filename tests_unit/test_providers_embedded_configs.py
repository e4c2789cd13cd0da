"""deployproof.providers.embedded.configs: the components' configuration files (no cluster needed)."""

from __future__ import annotations

import ipaddress
import json
import tomllib

import pytest
import yaml

from deployproof import versions
from deployproof.providers.embedded import configs
from deployproof.providers.embedded.layout import Layout, Network


def test_kubelet_config_points_at_our_runtime_and_cluster_dns(tmp_path):
    layout, net = Layout(tmp_path), Network()
    config = yaml.safe_load(configs.kubelet_config(layout, net))
    assert config["cgroupDriver"] == "cgroupfs"
    assert config["containerRuntimeEndpoint"] == f"unix://{layout.containerd_socket}"
    assert config["clusterDNS"] == [net.dns_ip] and config["address"] == net.node_ip
    assert config["authentication"]["anonymous"]["enabled"] is False


def test_kube_proxy_uses_iptables_so_node_ports_answer_on_localhost(tmp_path):
    config = yaml.safe_load(configs.kube_proxy_config(Layout(tmp_path), Network()))
    assert config["mode"] == "iptables" and "nodePortAddresses" not in config


def test_cni_network_is_the_node_pod_subnet(tmp_path):
    conflist = json.loads(configs.cni_conflist(Layout(tmp_path), Network()))
    bridge = conflist["plugins"][0]
    assert bridge["type"] == "bridge"
    subnet = ipaddress.ip_network(bridge["ipam"]["ranges"][0][0]["subnet"])
    assert subnet.subnet_of(ipaddress.ip_network(Network().pod_cidr))


def test_containerd_config_is_containerd_2_4s_version_4_with_the_pinned_local_pause_image(tmp_path):
    layout = Layout(tmp_path)
    config = tomllib.loads(configs.containerd_config(layout, tmp_path))
    assert config["version"] == 4  # 2.4 migrates version 3 at every start
    # Both sockets ours: version 4 gives ttrpc its own default (the host containerd's path).
    assert config["plugins"]["io.containerd.server.v1.grpc"]["address"] == str(layout.containerd_socket)
    assert config["plugins"]["io.containerd.server.v1.ttrpc"]["address"] == f"{layout.containerd_socket}.ttrpc"
    images = config["plugins"]["io.containerd.cri.v1.images"]
    runtime = config["plugins"]["io.containerd.cri.v1.runtime"]
    assert images["pinned_images"]["sandbox"] == f"docker.io/{versions.PAUSE_IMAGE}"
    assert images["snapshotter"] == "overlayfs"
    assert runtime["containerd"]["runtimes"]["runc"]["options"]["BinaryName"] == "/usr/sbin/runc"
    assert runtime["cni"] == {"bin_dirs": ["/usr/lib/cni"], "conf_dir": str(layout.cni_conf_dir)}
    assert runtime["restrict_oom_score_adj"] is True
    # containerd 1.x's CRI section would be ignored by 2.x (and warned about), not applied.
    assert "io.containerd.grpc.v1.cri" not in config["plugins"]


@pytest.mark.parametrize("version, cgroup_v1, expected", [
    ("v1.37.2", True, False), ("v1.35.4", True, False),  # >= 1.35 on cgroup v1: told to run anyway
    ("v1.37.2", False, None),  # cgroup v2: upstream's default
    ("v1.34.4", True, None),  # before 1.35 cgroup v1 ran by default
])
def test_kubelet_runs_on_cgroup_v1_only_when_told_to(tmp_path, version, cgroup_v1, expected):
    config = yaml.safe_load(configs.kubelet_config(Layout(tmp_path), Network(), version, cgroup_v1=cgroup_v1))
    assert config.get("failCgroupV1") is expected


def test_kubelet_config_of_every_supported_release_parses(tmp_path):
    for version in versions.SUPPORTED_KUBERNETES:
        assert yaml.safe_load(configs.kubelet_config(Layout(tmp_path), Network(), version, cgroup_v1=True))["failCgroupV1"] is False
