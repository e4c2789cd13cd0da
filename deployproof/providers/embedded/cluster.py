"""The embedded cluster: bring-up as an ordered list of named steps, and a tear-down that leaves nothing.

Read `BRING_UP` top to bottom to see how a node comes to life; each step is a
small function of the cluster. Tear-down stops exactly the PIDs recorded at
start, removes pod sandboxes (CNI releases veths and network namespaces), then
mounts, iptables chains, the bridge and the state directory, and puts back every
host setting it changed.
"""

from __future__ import annotations

import json
import os
import ssl
import string
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from ... import versions
from ...errors import DeployProofError, PrerequisiteError
from ...progress import say, step
from ...runner import run
from ...waits import poll_until
from . import build, configs, host, processes, storage, system_images
from .layout import PORTS, Layout, Network

ADDONS = Path(__file__).with_name("addons")
# Components in start order; tear-down stops them in reverse.
COMPONENTS = ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "containerd", "kubelet", "kube-proxy")


@dataclass
class EmbeddedCluster:
    layout: Layout = field(default_factory=Layout.default)
    net: Network = field(default_factory=Network)
    timings: dict[str, float] = field(default_factory=dict)

    # ---------------------------------------------------------------- bring-up
    def up(self) -> dict[str, float]:
        """Bring the cluster up (or reuse a healthy one); return seconds per step."""
        self.timings = {}
        check_root()
        if self.layout.root.exists():
            problem = self.health_problem()
            if problem is None:
                say(f"embedded cluster already running and healthy ({self.layout.root}); reusing it")
                storage.ensure_volumes(self)
                return self.timings
            say(f"found state of an earlier embedded cluster that is not healthy ({problem}); cleaning it up first")
            self.down()
        for name, action in BRING_UP:
            with step(name, self.timings):
                action(self)
        self.layout.cluster_info.write_text(json.dumps({
            "kubernetes": versions.KUBERNETES, "node": self.net.node_name, "kubeconfig": str(self.layout.kubeconfig),
            "started": time.time(), "timings": self.timings,
        }, indent=2))
        return self.timings

    def bin(self, name: str) -> str:
        return str(build.binary(name))

    def _start(self, component: str, argv: list[str], env: dict[str, str] | None = None) -> None:
        processes.start(self.layout, component, argv, env)

    def _wait_https(self, component: str, url: str, timeout: float = 90) -> None:
        context = ssl.create_default_context(cafile=str(self.layout.pki / "ca.crt"))
        context.load_cert_chain(str(self.layout.pki / "admin.crt"), str(self.layout.pki / "admin.key"))
        context.check_hostname = False

        def check() -> tuple[bool, str]:
            self._assert_alive(component)
            with urllib.request.urlopen(url, context=context, timeout=5) as response:
                body = response.read().decode(errors="replace")
                return response.status == 200, f"{response.status} {body[:200]}"

        poll_until(check, description=f"{component} at {url}", timeout=timeout)

    def _assert_alive(self, component: str) -> None:
        pid, binary = processes.recorded(self.layout)[component]
        if not processes.is_running(pid, binary):
            tail = _tail(self.layout.log_file(component))
            raise DeployProofError(f"{component} exited during start-up; last log lines:\n{tail}",
                                   f"read {self.layout.log_file(component)}")

    def kubectl(self, *args: str, input: str | None = None, check: bool = True):
        return run([self.bin("kubectl"), "--kubeconfig", str(self.layout.kubeconfig), *args], input=input, check=check, quiet=True)

    # ---------------------------------------------------------------- status
    def health_problem(self) -> str | None:
        """None when every component runs and the API answers with a Ready node; else what is wrong."""
        states = processes.running(self.layout)
        missing = [c for c in COMPONENTS if not states.get(c)]
        if missing:
            return "not running: " + ", ".join(missing)
        ready = self.kubectl("get", "node", self.net.node_name, "-o",
                             "jsonpath={.status.conditions[?(@.type=='Ready')].status}", check=False)
        if ready.returncode != 0 or ready.stdout.strip() != "True":
            return f"node not Ready ({(ready.stderr or ready.stdout).strip()[:200]})"
        return None

    def status(self) -> dict:
        return {
            "state_dir": str(self.layout.root),
            "exists": self.layout.root.exists(),
            "processes": processes.running(self.layout),
            "problem": self.health_problem() if self.layout.root.exists() else "not created",
            "kubeconfig": str(self.layout.kubeconfig),
        }

    # ---------------------------------------------------------------- tear-down
    def down(self) -> list[str]:
        """Stop what we started and put the machine back; return problems met (gathered, not fatal)."""
        from . import teardown

        return teardown.tear_down(self)


# ---------------------------------------------------------------------- steps
def check_root() -> None:
    if os.geteuid() != 0:
        raise PrerequisiteError("the embedded cluster runs kubelet and containerd, which need root",
                                "run as root (sudo -E …), or pick another provider: --cluster-provider=kind|minikube|existing")
    if not Path("/proc/self/cgroup").exists():
        raise PrerequisiteError("this is not Linux with /proc", "the embedded provider needs a Linux host")


def check_ports(cluster: EmbeddedCluster) -> None:
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


def build_components(cluster: EmbeddedCluster) -> None:
    timings = build.ensure_built()
    cluster.timings.update({f"build {k}": v for k, v in timings.items()})


def prepare_host(cluster: EmbeddedCluster) -> None:
    for d in (cluster.layout.root, cluster.layout.logs, cluster.layout.pids, cluster.layout.config):
        d.mkdir(parents=True, exist_ok=True)
    host.prepare(cluster.layout, cluster.net)


def generate_certificates(cluster: EmbeddedCluster) -> None:
    from .pki import ClusterPKI

    ClusterPKI(cluster.net.node_name, cluster.net.node_ip, cluster.net.service_ip).generate(cluster.layout.pki)


def write_configs(cluster: EmbeddedCluster) -> None:
    configs.write_kubeconfigs(cluster.layout)
    configs.write_node_configs(cluster.layout, cluster.net, build.component_dir(build.COMPONENTS[1]))


def start_etcd(cluster: EmbeddedCluster) -> None:
    pki = cluster.layout.pki
    cluster.layout.etcd_data.mkdir(parents=True, exist_ok=True)
    cluster.layout.etcd_data.chmod(0o700)
    cluster._start("etcd", [
        cluster.bin("etcd"),
        "--name=deployproof", f"--data-dir={cluster.layout.etcd_data}",
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
        cluster._assert_alive("etcd")
        with urllib.request.urlopen("http://127.0.0.1:2381/health", timeout=3) as response:
            body = response.read().decode()
            return '"health":"true"' in body.replace(" ", ""), body

    poll_until(healthy, description="etcd health", timeout=60)


def start_apiserver(cluster: EmbeddedCluster) -> None:
    pki, net = cluster.layout.pki, cluster.net
    cluster._start("kube-apiserver", [
        cluster.bin("kube-apiserver"),
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
    cluster._wait_https("kube-apiserver", "https://127.0.0.1:6443/readyz", timeout=120)


def start_controller_manager(cluster: EmbeddedCluster) -> None:
    pki, kubeconfig = cluster.layout.pki, cluster.layout.component_kubeconfig("controller-manager")
    cluster._start("kube-controller-manager", [
        cluster.bin("kube-controller-manager"),
        f"--kubeconfig={kubeconfig}", f"--authentication-kubeconfig={kubeconfig}", f"--authorization-kubeconfig={kubeconfig}",
        "--bind-address=127.0.0.1", "--secure-port=10257", "--leader-elect=false",
        f"--tls-cert-file={pki}/controller-manager-serving.crt", f"--tls-private-key-file={pki}/controller-manager-serving.key",
        f"--cluster-signing-cert-file={pki}/ca.crt", f"--cluster-signing-key-file={pki}/ca.key",
        f"--root-ca-file={pki}/ca.crt", f"--service-account-private-key-file={pki}/sa.key",
        "--use-service-account-credentials=true", f"--service-cluster-ip-range={cluster.net.service_cidr}",
        f"--cluster-cidr={cluster.net.pod_cidr}", "--allocate-node-cidrs=false",
        "--controllers=*,bootstrapsigner,tokencleaner",
    ])
    cluster._wait_https("kube-controller-manager", "https://127.0.0.1:10257/healthz")


def start_scheduler(cluster: EmbeddedCluster) -> None:
    pki, kubeconfig = cluster.layout.pki, cluster.layout.component_kubeconfig("scheduler")
    cluster._start("kube-scheduler", [
        cluster.bin("kube-scheduler"),
        f"--kubeconfig={kubeconfig}", f"--authentication-kubeconfig={kubeconfig}", f"--authorization-kubeconfig={kubeconfig}",
        "--bind-address=127.0.0.1", "--secure-port=10259", "--leader-elect=false",
        f"--tls-cert-file={pki}/scheduler-serving.crt", f"--tls-private-key-file={pki}/scheduler-serving.key",
    ])
    cluster._wait_https("kube-scheduler", "https://127.0.0.1:10259/healthz")


def start_containerd(cluster: EmbeddedCluster) -> None:
    bin_dir = Path(cluster.bin("containerd")).parent
    cluster.layout.containerd_root.mkdir(parents=True, exist_ok=True)
    # Our shim first on PATH: containerd looks the runc shim up by name.
    env = {"PATH": f"{bin_dir}:/usr/sbin:/usr/bin:/sbin:/bin"}
    cluster._start("containerd", [cluster.bin("containerd"), "--config", str(cluster.layout.config / "containerd.toml")], env=env)

    def answers() -> tuple[bool, str]:
        cluster._assert_alive("containerd")
        out = run([cluster.bin("ctr"), "--address", str(cluster.layout.containerd_socket), "version"], check=False, quiet=True)
        return out.returncode == 0, (out.stderr or out.stdout).strip()[-200:]

    poll_until(answers, description="containerd socket", timeout=60)


def load_system_images(cluster: EmbeddedCluster) -> None:
    from ...docker_engine import ensure_docker

    ensure_docker()
    tags = system_images.build_system_images()
    system_images.load_into_containerd(cluster.layout, tags)


def start_kubelet(cluster: EmbeddedCluster) -> None:
    layout, net = cluster.layout, cluster.net
    layout.kubelet_root.mkdir(parents=True, exist_ok=True)
    cluster._start("kubelet", [
        cluster.bin("kubelet"),
        f"--config={layout.config / 'kubelet.yaml'}", f"--kubeconfig={layout.component_kubeconfig('kubelet')}",
        f"--root-dir={layout.kubelet_root}", f"--hostname-override={net.node_name}", f"--node-ip={net.node_ip}",
        f"--cert-dir={layout.pki}",
    ], env={"PATH": f"{Path(cluster.bin('containerd')).parent}:/usr/sbin:/usr/bin:/sbin:/bin"})

    def node_ready() -> tuple[bool, str]:
        cluster._assert_alive("kubelet")
        out = cluster.kubectl("get", "node", net.node_name, "-o", "jsonpath={range .status.conditions[*]}{.type}={.status} {end}", check=False)
        return "Ready=True" in out.stdout, (out.stdout or out.stderr).strip()

    poll_until(node_ready, description=f"node {net.node_name} Ready", timeout=120)


def start_kube_proxy(cluster: EmbeddedCluster) -> None:
    cluster._start("kube-proxy", [cluster.bin("kube-proxy"), f"--config={cluster.layout.config / 'kube-proxy.yaml'}"])

    def healthy() -> tuple[bool, str]:
        cluster._assert_alive("kube-proxy")
        with urllib.request.urlopen("http://127.0.0.1:10256/healthz", timeout=3) as response:
            return response.status == 200, response.read().decode()[:200]

    poll_until(healthy, description="kube-proxy healthz", timeout=60)


def _apply_addon(cluster: EmbeddedCluster, name: str) -> None:
    template = string.Template((ADDONS / f"{name}.yaml").read_text())
    manifest = template.substitute(
        cluster_domain=cluster.net.cluster_domain, dns_ip=cluster.net.dns_ip,
        coredns_image=f"docker.io/{versions.COREDNS_IMAGE}", metrics_server_image=f"docker.io/{versions.METRICS_SERVER_IMAGE}",
    )
    cluster.kubectl("apply", "-f", "-", input=manifest)


def install_coredns(cluster: EmbeddedCluster) -> None:
    _apply_addon(cluster, "coredns")
    cluster.kubectl("-n", "kube-system", "rollout", "status", "deployment/coredns", "--timeout=180s")


def install_metrics_server(cluster: EmbeddedCluster) -> None:
    _apply_addon(cluster, "metrics-server")
    cluster.kubectl("-n", "kube-system", "rollout", "status", "deployment/metrics-server", "--timeout=180s")

    def api_available() -> tuple[bool, str]:
        out = cluster.kubectl("get", "apiservice", "v1beta1.metrics.k8s.io", "-o",
                              "jsonpath={.status.conditions[?(@.type=='Available')].status} {.status.conditions[?(@.type=='Available')].message}", check=False)
        return out.stdout.startswith("True"), out.stdout.strip() or out.stderr.strip()

    poll_until(api_available, description="metrics API (APIService v1beta1.metrics.k8s.io) Available", timeout=120)


BRING_UP: list[tuple[str, Callable[[EmbeddedCluster], None]]] = [
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
    ("provide local persistent volumes", storage.ensure_volumes),
]


def _tail(path: Path, lines: int = 25) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"
