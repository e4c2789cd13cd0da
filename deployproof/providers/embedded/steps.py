"""The embedded cluster's bring-up: an ordered list of named steps, each a small function of a StepContext.

Read `BRING_UP` top to bottom to see how a node comes to life: ports and host first, then
certificates and configs, the control plane, the container runtime and the node, then the add-ons
and the volumes. cluster.py runs the list; tear-down (teardown.py) has its own list.
"""

from __future__ import annotations

import logging
import os
import string
import urllib.request
from pathlib import Path
from typing import Callable

from ... import versions
from ...errors import PrerequisiteError
from ...imagebuild import DOCKERFILES
from ...progress import say
from ...runner import run
from ...waits import poll_until
from . import build, configs, host, storage, system_images
from .context import StepContext
from .layout import PORTS

ADDONS = Path(__file__).with_name("addons")
# The kind node's script, run here as a component: it keeps the agent's nftables rebuilds from dropping queued packets.
NETPOL_TABLE_GUARD = DOCKERFILES / "kind-node" / "files" / "kind" / "bin" / "netpol-table-guard"
NETPOL_TABLE = ("inet", "kube-network-policies")


def check_root() -> None:
    if os.geteuid() != 0:
        raise PrerequisiteError("the embedded cluster runs kubelet and containerd, which need root",
                                "run as root (sudo -E …), or pick another provider: --cluster-provider=kind|minikube|existing")
    if not Path("/proc/self/cgroup").exists():
        raise PrerequisiteError("this is not Linux with /proc", "the embedded provider needs a Linux host")


def check_ports(ctx: StepContext) -> None:
    taken = ports_in_use()
    if taken:
        raise PrerequisiteError(
            "ports the cluster needs are taken: " + ", ".join(f"{PORTS_BY_NUMBER[p]} ({p})" for p in taken),
            "stop what listens there (ss -ltnp shows it), or run `deployproof cluster down` if it is an old embedded cluster",
        )


PORTS_BY_NUMBER = {port: name for name, port in PORTS.items()}


def ports_in_use() -> list[int]:
    listening = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            parts = line.split()
            if parts[3] == "0A":  # LISTEN
                listening.add(int(parts[1].rsplit(":", 1)[1], 16))
    return sorted(p for p in PORTS.values() if p in listening)


def build_components(ctx: StepContext) -> None:
    timings = build.ensure_built(kubernetes_version=ctx.kubernetes_version)
    ctx.timings.update({f"build {k}": v for k, v in timings.items()})


def prepare_host(ctx: StepContext) -> None:
    for d in (ctx.layout.root, ctx.layout.logs, ctx.layout.pids, ctx.layout.config):
        d.mkdir(parents=True, exist_ok=True)
    host.prepare(ctx.layout, ctx.net)


def generate_certificates(ctx: StepContext) -> None:
    from .pki import ClusterPKI

    ClusterPKI(ctx.net.node_name, ctx.net.node_ip, ctx.net.service_ip).generate(ctx.layout.pki)


def write_configs(ctx: StepContext) -> None:
    cgroup_v1 = host.cgroup_v1_host()
    if cgroup_v1 and configs.kubelet_refuses_cgroup_v1(ctx.kubernetes_version):
        say(CGROUP_V1_WARNING.format(version=ctx.kubernetes_version), logging.WARNING)
    configs.write_kubeconfigs(ctx.layout)
    configs.write_node_configs(ctx.layout, ctx.net, Path(ctx.bin("containerd")).parent, ctx.kubernetes_version, cgroup_v1)


CGROUP_V1_WARNING = (
    "this host runs cgroup v1; Kubernetes {version} refuses it by default, so the kubelet runs with "
    "failCgroupV1: false (cgroup v1 is in maintenance upstream and will be removed: move hosts to cgroup v2)"
)


def start_etcd(ctx: StepContext) -> None:
    pki = ctx.layout.pki
    ctx.layout.etcd_data.mkdir(parents=True, exist_ok=True)
    ctx.layout.etcd_data.chmod(0o700)
    ctx.start("etcd", [
        ctx.bin("etcd"),
        "--name=deployproof", f"--data-dir={ctx.layout.etcd_data}",
        "--listen-client-urls=https://127.0.0.1:2379", "--advertise-client-urls=https://127.0.0.1:2379",
        "--listen-peer-urls=https://127.0.0.1:2380", "--initial-advertise-peer-urls=https://127.0.0.1:2380",
        "--initial-cluster=deployproof=https://127.0.0.1:2380", "--listen-metrics-urls=http://127.0.0.1:2381",
        f"--cert-file={pki}/etcd-server.crt", f"--key-file={pki}/etcd-server.key",
        f"--trusted-ca-file={pki}/etcd-ca.crt", "--client-cert-auth=true",
        f"--peer-cert-file={pki}/etcd-server.crt", f"--peer-key-file={pki}/etcd-server.key",
        f"--peer-trusted-ca-file={pki}/etcd-ca.crt", "--peer-client-cert-auth=true",
        "--snapshot-count=10000", "--quota-backend-bytes=2147483648",
    ])

    def healthy() -> tuple[bool, str]:
        ctx.assert_alive("etcd")
        with urllib.request.urlopen("http://127.0.0.1:2381/health", timeout=3) as response:
            body = response.read().decode()
            return '"health":"true"' in body.replace(" ", ""), body

    poll_until(healthy, description="etcd health", timeout=60)


def start_apiserver(ctx: StepContext) -> None:
    pki, net = ctx.layout.pki, ctx.net
    ctx.start("kube-apiserver", [
        ctx.bin("kube-apiserver"),
        "--bind-address=0.0.0.0", "--secure-port=6443", f"--advertise-address={net.node_ip}",
        "--etcd-servers=https://127.0.0.1:2379", f"--etcd-cafile={pki}/etcd-ca.crt",
        f"--etcd-certfile={pki}/apiserver-etcd-client.crt", f"--etcd-keyfile={pki}/apiserver-etcd-client.key",
        f"--tls-cert-file={pki}/apiserver.crt", f"--tls-private-key-file={pki}/apiserver.key",
        f"--client-ca-file={pki}/ca.crt",
        f"--kubelet-client-certificate={pki}/apiserver-kubelet-client.crt",
        f"--kubelet-client-key={pki}/apiserver-kubelet-client.key",
        f"--kubelet-certificate-authority={pki}/ca.crt", "--kubelet-preferred-address-types=InternalIP",
        f"--service-account-key-file={pki}/sa.pub", f"--service-account-signing-key-file={pki}/sa.key",
        f"--service-account-issuer=https://kubernetes.default.svc.{net.cluster_domain}",
        f"--service-cluster-ip-range={net.service_cidr}",
        "--authorization-mode=Node,RBAC", "--enable-admission-plugins=NodeRestriction",
        "--allow-privileged=true",
        # Aggregation layer (metrics.k8s.io): request-header authentication by the front-proxy CA.
        f"--requestheader-client-ca-file={pki}/front-proxy-ca.crt", "--requestheader-allowed-names=front-proxy-client",
        "--requestheader-extra-headers-prefix=X-Remote-Extra-", "--requestheader-group-headers=X-Remote-Group",
        "--requestheader-username-headers=X-Remote-User",
        f"--proxy-client-cert-file={pki}/front-proxy-client.crt", f"--proxy-client-key-file={pki}/front-proxy-client.key",
        "--enable-aggregator-routing=true",
        "--profiling=false",
    ])
    ctx.wait_https("kube-apiserver", "https://127.0.0.1:6443/readyz", timeout=120)


def start_controller_manager(ctx: StepContext) -> None:
    pki, kubeconfig = ctx.layout.pki, ctx.layout.component_kubeconfig("controller-manager")
    ctx.start("kube-controller-manager", [
        ctx.bin("kube-controller-manager"),
        f"--kubeconfig={kubeconfig}", f"--authentication-kubeconfig={kubeconfig}", f"--authorization-kubeconfig={kubeconfig}",
        "--bind-address=127.0.0.1", "--secure-port=10257", "--leader-elect=false",
        f"--tls-cert-file={pki}/controller-manager-serving.crt", f"--tls-private-key-file={pki}/controller-manager-serving.key",
        f"--cluster-signing-cert-file={pki}/ca.crt", f"--cluster-signing-key-file={pki}/ca.key",
        f"--root-ca-file={pki}/ca.crt", f"--service-account-private-key-file={pki}/sa.key",
        "--use-service-account-credentials=true", f"--service-cluster-ip-range={ctx.net.service_cidr}",
        f"--cluster-cidr={ctx.net.pod_cidr}", "--allocate-node-cidrs=false",
        "--controllers=*,bootstrapsigner,tokencleaner",
        f"--horizontal-pod-autoscaler-sync-period={versions.TEST_CLUSTER_HPA_SYNC_PERIOD}",
    ])
    ctx.wait_https("kube-controller-manager", "https://127.0.0.1:10257/healthz")


def start_scheduler(ctx: StepContext) -> None:
    pki, kubeconfig = ctx.layout.pki, ctx.layout.component_kubeconfig("scheduler")
    ctx.start("kube-scheduler", [
        ctx.bin("kube-scheduler"),
        f"--kubeconfig={kubeconfig}", f"--authentication-kubeconfig={kubeconfig}", f"--authorization-kubeconfig={kubeconfig}",
        "--bind-address=127.0.0.1", "--secure-port=10259", "--leader-elect=false",
        f"--tls-cert-file={pki}/scheduler-serving.crt", f"--tls-private-key-file={pki}/scheduler-serving.key",
    ])
    ctx.wait_https("kube-scheduler", "https://127.0.0.1:10259/healthz")


def start_containerd(ctx: StepContext) -> None:
    bin_dir = Path(ctx.bin("containerd")).parent
    ctx.layout.containerd_root.mkdir(parents=True, exist_ok=True)
    # Our shim first on PATH: containerd looks the runc shim up by name.
    env = {"PATH": f"{bin_dir}:/usr/sbin:/usr/bin:/sbin:/bin"}
    ctx.start("containerd", [ctx.bin("containerd"), "--config", str(ctx.layout.config / "containerd.toml")], env=env)

    def answers() -> tuple[bool, str]:
        ctx.assert_alive("containerd")
        out = run([ctx.bin("ctr"), "--address", str(ctx.layout.containerd_socket), "version"], check=False, quiet=True)
        return out.returncode == 0, (out.stderr or out.stdout).strip()[-200:]

    poll_until(answers, description="containerd socket", timeout=60)


def load_system_images(ctx: StepContext) -> None:
    from ...docker_engine import ensure_docker

    ensure_docker()
    tags = system_images.build_system_images()
    system_images.load_into_containerd(ctx.layout, tags)


def start_kubelet(ctx: StepContext) -> None:
    layout, net = ctx.layout, ctx.net
    layout.kubelet_root.mkdir(parents=True, exist_ok=True)
    ctx.start("kubelet", [
        ctx.bin("kubelet"),
        f"--config={layout.config / 'kubelet.yaml'}", f"--kubeconfig={layout.component_kubeconfig('kubelet')}",
        f"--root-dir={layout.kubelet_root}", f"--hostname-override={net.node_name}", f"--node-ip={net.node_ip}",
        f"--cert-dir={layout.pki}",
    ], env={"PATH": f"{Path(ctx.bin('containerd')).parent}:/usr/sbin:/usr/bin:/sbin:/bin"})

    def node_ready() -> tuple[bool, str]:
        ctx.assert_alive("kubelet")
        out = ctx.kubectl("get", "node", net.node_name, "-o", "jsonpath={range .status.conditions[*]}{.type}={.status} {end}", check=False)
        return "Ready=True" in out.stdout, (out.stdout or out.stderr).strip()

    poll_until(node_ready, description=f"node {net.node_name} Ready", timeout=120)


def start_kube_proxy(ctx: StepContext) -> None:
    ctx.start("kube-proxy", [ctx.bin("kube-proxy"), f"--config={ctx.layout.config / 'kube-proxy.yaml'}"])

    def healthy() -> tuple[bool, str]:
        ctx.assert_alive("kube-proxy")
        with urllib.request.urlopen("http://127.0.0.1:10256/healthz", timeout=3) as response:
            return response.status == 200, response.read().decode()[:200]

    poll_until(healthy, description="kube-proxy healthz", timeout=60)


def _apply_addon(ctx: StepContext, name: str) -> None:
    template = string.Template((ADDONS / f"{name}.yaml").read_text())
    manifest = template.substitute(
        cluster_domain=ctx.net.cluster_domain, dns_ip=ctx.net.dns_ip,
        coredns_image=f"docker.io/{versions.COREDNS_IMAGE}", metrics_server_image=f"docker.io/{versions.METRICS_SERVER_IMAGE}",
        network_policies_image=f"docker.io/{versions.NETWORK_POLICIES_IMAGE}", nri_dir=ctx.layout.nri_dir,
        metric_resolution=versions.TEST_CLUSTER_METRIC_RESOLUTION,
    )
    ctx.kubectl("apply", "-f", "-", input=manifest)


def install_coredns(ctx: StepContext) -> None:
    _apply_addon(ctx, "coredns")
    ctx.kubectl("-n", "kube-system", "rollout", "status", "deployment/coredns", "--timeout=180s")


def install_metrics_server(ctx: StepContext) -> None:
    _apply_addon(ctx, "metrics-server")
    ctx.kubectl("-n", "kube-system", "rollout", "status", "deployment/metrics-server", "--timeout=180s")

    def api_available() -> tuple[bool, str]:
        out = ctx.kubectl("get", "apiservice", "v1beta1.metrics.k8s.io", "-o",
                              "jsonpath={.status.conditions[?(@.type=='Available')].status} {.status.conditions[?(@.type=='Available')].message}", check=False)
        return out.stdout.startswith("True"), out.stdout.strip() or out.stderr.strip()

    poll_until(api_available, description="metrics API (APIService v1beta1.metrics.k8s.io) Available", timeout=120)


def hold_network_policy_table(ctx: StepContext) -> None:
    """Hold the agent's nftables table before the agent starts (why: the script's header)."""
    ctx.start("netpol-table-guard", ["/bin/bash", str(NETPOL_TABLE_GUARD)])

    def held() -> tuple[bool, str]:
        ctx.assert_alive("netpol-table-guard")
        out = run(["nft", "list", "table", *NETPOL_TABLE], check=False, quiet=True)
        return "flags owner" in out.stdout, (out.stderr or out.stdout).strip()[-200:]

    poll_until(held, description=f"nftables table {' '.join(NETPOL_TABLE)} held by netpol-table-guard", timeout=30)


def install_network_policies(ctx: StepContext) -> None:
    """NetworkPolicies enforced, as on a real cluster (the chart ships policies; NETPOL proves them)."""
    _apply_addon(ctx, "network-policies")
    ctx.kubectl("-n", "kube-system", "rollout", "status", "daemonset/kube-network-policies", "--timeout=180s")


BRING_UP: list[tuple[str, Callable[[StepContext], None]]] = [
    ("check ports", check_ports),
    ("build components (cached by version)", build_components),
    ("prepare host", prepare_host),
    ("generate certificates", generate_certificates),
    ("write configs and kubeconfigs", write_configs),
    ("start etcd", start_etcd),
    ("start kube-apiserver", start_apiserver),
    ("start kube-controller-manager", start_controller_manager),
    ("start kube-scheduler", start_scheduler),
    ("start containerd", start_containerd),
    ("build and load system images", load_system_images),
    ("start kubelet", start_kubelet),
    ("start kube-proxy", start_kube_proxy),
    ("install CoreDNS", install_coredns),
    ("install metrics-server", install_metrics_server),
    ("hold the NetworkPolicy agent's nftables table", hold_network_policy_table),
    ("install the NetworkPolicy agent", install_network_policies),
    ("provide local persistent volumes", storage.ensure_volumes),
]

