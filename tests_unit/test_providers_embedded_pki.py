"""deployproof.providers.embedded.pki: the cluster's certificates (no cluster needed)."""

from __future__ import annotations

import pytest
from cryptography import x509

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
