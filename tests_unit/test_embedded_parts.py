"""Parts of the embedded provider that need no cluster: certificates, configs, build recipe, ports."""

from __future__ import annotations

import ipaddress
import json

import pytest
import yaml
from cryptography import x509

from deployproof import versions
from deployproof.providers.embedded import build, configs
from deployproof.providers.embedded.layout import Layout, Network
from deployproof.providers.embedded.pki import ClusterPKI


@pytest.fixture(scope="module")
def pki_dir(tmp_path_factory):
    directory = tmp_path_factory.mktemp("pki")
    ClusterPKI("node-a", "10.99.0.1", "10.96.0.1").generate(directory)
    return directory


def _cert(directory, name):
    return x509.load_pem_x509_certificate((directory / f"{name}.crt").read_bytes())


def test_apiserver_certificate_covers_every_address_it_is_reached_by(pki_dir):
    san = _cert(pki_dir, "apiserver").extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    ips = {str(ip) for ip in san.get_values_for_type(x509.IPAddress)}
    assert {"127.0.0.1", "10.99.0.1", "10.96.0.1"} <= ips
    assert "kubernetes.default.svc.cluster.local" in san.get_values_for_type(x509.DNSName)


def test_every_certificate_is_signed_by_its_ca(pki_dir):
    for spec in ClusterPKI("node-a", "10.99.0.1", "10.96.0.1").specs:
        cert, ca = _cert(pki_dir, spec.name), _cert(pki_dir, spec.ca)
        cert.verify_directly_issued_by(ca)


def test_node_identity_follows_the_node_authorizer_convention(pki_dir):
    subject = _cert(pki_dir, "kubelet-client").subject.rfc4514_string()
    assert "CN=system:node:node-a" in subject and "O=system:nodes" in subject


def test_generation_keeps_existing_material(pki_dir):
    before = (pki_dir / "ca.crt").read_bytes()
    ClusterPKI("node-a", "10.99.0.1", "10.96.0.1").generate(pki_dir)
    assert (pki_dir / "ca.crt").read_bytes() == before


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


def test_build_cache_is_keyed_by_version(monkeypatch, tmp_path):
    monkeypatch.setenv("DEPLOYPROOF_CACHE", str(tmp_path))
    component = build.COMPONENTS[0]
    assert component.version in build.component_dir(component).name
    assert not build.is_built(component)


def test_all_kubernetes_components_build_in_one_go_build_invocation():
    assert set(versions.KUBERNETES_COMMANDS) >= {"kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubelet", "kube-proxy"}
