"""Certificates for the embedded cluster, generated at first up (kubeadm's layout, in Python).

Three CAs: the cluster CA (apiserver and kubelet serving certs, every client cert;
it is the CA pods see as kube-root-ca.crt, so metrics-server can verify kubelets),
the etcd CA (etcd serving/peer and the apiserver's etcd client) and the front-proxy
CA (the aggregation layer's request-header authentication).
"""

from __future__ import annotations

import datetime
import ipaddress
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

VALIDITY = datetime.timedelta(days=365)


@dataclass(frozen=True)
class CertSpec:
    name: str  # file stem: <name>.crt / <name>.key
    ca: str  # name of the signing CA
    common_name: str
    organizations: tuple[str, ...] = ()
    server: bool = False
    client: bool = False
    dns_names: tuple[str, ...] = ()
    ips: tuple[str, ...] = ()


@dataclass(frozen=True)
class ClusterPKI:
    """Which certificates one embedded cluster needs, given its node name and addresses."""

    node_name: str
    node_ip: str
    service_ip: str  # first IP of the service CIDR: the `kubernetes` Service
    cas: tuple[str, ...] = ("ca", "etcd-ca", "front-proxy-ca")
    specs: tuple[CertSpec, ...] = field(init=False)

    def __post_init__(self) -> None:
        api_dns = ("kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local", "localhost")
        local = ("127.0.0.1",)
        specs = (
            CertSpec("apiserver", "ca", "kube-apiserver", server=True, dns_names=api_dns, ips=(*local, self.node_ip, self.service_ip)),
            CertSpec("apiserver-kubelet-client", "ca", "kube-apiserver-kubelet-client", ("system:masters",), client=True),
            CertSpec("apiserver-etcd-client", "etcd-ca", "kube-apiserver-etcd-client", client=True),
            CertSpec("etcd-server", "etcd-ca", "etcd", server=True, client=True, dns_names=("localhost",), ips=local),
            CertSpec("front-proxy-client", "front-proxy-ca", "front-proxy-client", client=True),
            CertSpec("admin", "ca", "kubernetes-admin", ("system:masters",), client=True),
            CertSpec("controller-manager", "ca", "system:kube-controller-manager", client=True),
            CertSpec("scheduler", "ca", "system:kube-scheduler", client=True),
            # Serving certs of the controller-manager and scheduler (otherwise they self-sign in memory).
            CertSpec("controller-manager-serving", "ca", "kube-controller-manager", server=True, dns_names=("localhost",), ips=local),
            CertSpec("scheduler-serving", "ca", "kube-scheduler", server=True, dns_names=("localhost",), ips=local),
            CertSpec("kube-proxy", "ca", "system:kube-proxy", client=True),
            CertSpec("kubelet-client", "ca", f"system:node:{self.node_name}", ("system:nodes",), client=True),
            CertSpec("kubelet-serving", "ca", self.node_name, server=True, dns_names=(self.node_name, "localhost"), ips=(*local, self.node_ip)),
        )
        object.__setattr__(self, "specs", specs)

    def generate(self, directory: Path) -> None:
        """Write every CA, certificate and the service-account key pair; keep what already exists."""
        directory.mkdir(parents=True, exist_ok=True)
        directory.chmod(0o700)
        for ca in self.cas:
            if not (directory / f"{ca}.crt").exists():
                _write_ca(directory, ca)
        for spec in self.specs:
            if not (directory / f"{spec.name}.crt").exists():
                _write_signed(directory, spec)
        if not (directory / "sa.key").exists():
            key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            _write_key(directory / "sa.key", key)
            (directory / "sa.pub").write_bytes(
                key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
            )


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(minutes=5)


def _write_key(path: Path, key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey) -> None:
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    path.chmod(0o600)


def _write_ca(directory: Path, name: str) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"deployproof-{name}")])
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(_now())
        .not_valid_after(_now() + VALIDITY * 10)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(True, False, False, False, False, True, True, False, False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    _write_key(directory / f"{name}.key", key)
    (directory / f"{name}.crt").write_bytes(cert.public_bytes(serialization.Encoding.PEM))


def _write_signed(directory: Path, spec: CertSpec) -> None:
    ca_key = serialization.load_pem_private_key((directory / f"{spec.ca}.key").read_bytes(), password=None)
    ca_cert = x509.load_pem_x509_certificate((directory / f"{spec.ca}.crt").read_bytes())
    key = ec.generate_private_key(ec.SECP256R1())
    names = [x509.NameAttribute(NameOID.COMMON_NAME, spec.common_name)]
    names += [x509.NameAttribute(NameOID.ORGANIZATION_NAME, org) for org in spec.organizations]
    usages = ([ExtendedKeyUsageOID.SERVER_AUTH] if spec.server else []) + ([ExtendedKeyUsageOID.CLIENT_AUTH] if spec.client else [])
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name(names))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(_now())
        .not_valid_after(_now() + VALIDITY)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(True, False, True, False, False, False, False, False, False), critical=True)
        .add_extension(x509.ExtendedKeyUsage(usages), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_cert.public_key()), critical=False)
    )
    alt = [x509.DNSName(n) for n in spec.dns_names] + [x509.IPAddress(ipaddress.ip_address(i)) for i in spec.ips]
    if alt:
        builder = builder.add_extension(x509.SubjectAlternativeName(alt), critical=False)
    cert = builder.sign(ca_key, hashes.SHA256())
    _write_key(directory / f"{spec.name}.key", key)
    (directory / f"{spec.name}.crt").write_bytes(cert.public_bytes(serialization.Encoding.PEM))


# Public for the test registry (deployproof/registry_server.py): its CA and serving certificate are made the same way.
write_ca = _write_ca
write_signed = _write_signed
