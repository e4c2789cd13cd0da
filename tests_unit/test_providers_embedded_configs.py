"""deployproof.providers.embedded.configs: the components' configuration files (no cluster needed)."""

from __future__ import annotations

import ipaddress
import json

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


def test_containerd_config_names_the_local_pause_image(tmp_path):
    text = configs.containerd_config(Layout(tmp_path), tmp_path)
    assert f'sandbox_image = "docker.io/{versions.PAUSE_IMAGE}"' in text
