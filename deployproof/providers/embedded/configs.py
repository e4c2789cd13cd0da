"""Configuration files of the embedded cluster's components, rendered from the layout."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import yaml

from ... import versions
from .layout import Layout, Network

API_SERVER = "https://127.0.0.1:6443"


# Drop-ins containerd 2.4 reads whatever its config file says.
CONTAINERD_HOST_DROP_INS = Path("/etc/containerd/conf.d")


CONTEXT = "deployproof"  # the one context of every kubeconfig written here


def kubeconfig(layout: Layout, user: str, cert: str, server: str = API_SERVER) -> dict:
    """A kubeconfig with the cluster CA and a client certificate embedded (portable, no paths)."""

    def b64(path: Path) -> str:
        return base64.b64encode(path.read_bytes()).decode()

    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "deployproof", "cluster": {"server": server, "certificate-authority-data": b64(layout.pki / "ca.crt")}}],
        "users": [{"name": user, "user": {
            "client-certificate-data": b64(layout.pki / f"{cert}.crt"),
            "client-key-data": b64(layout.pki / f"{cert}.key"),
        }}],
        "contexts": [{"name": CONTEXT, "context": {"cluster": "deployproof", "user": user}}],
        "current-context": CONTEXT,
    }


def write_kubeconfigs(layout: Layout) -> None:
    layout.config.mkdir(parents=True, exist_ok=True)
    pairs = {
        "controller-manager": ("system:kube-controller-manager", "controller-manager"),
        "scheduler": ("system:kube-scheduler", "scheduler"),
        "kubelet": ("kubelet", "kubelet-client"),
        "kube-proxy": ("system:kube-proxy", "kube-proxy"),
    }
    for component, (user, cert) in pairs.items():
        _write_private(layout.component_kubeconfig(component), yaml.safe_dump(kubeconfig(layout, user, cert)))
    _write_private(layout.kubeconfig, yaml.safe_dump(kubeconfig(layout, "deployproof-admin", "admin")))


def containerd_config(layout: Layout, bin_dir: Path) -> str:
    # Version 4 config of containerd 2.4 (what `containerd config migrate` writes; a version 3 file is
    # migrated at every start, with a warning); only what differs from the defaults. 2.x split the CRI
    # plugin in two: images (snapshotter, the pinned sandbox image) and runtime (runtimes, CNI).
    # Version 4 moved the sockets into server plugins, each with its own default: both are ours here,
    # or the shims' ttrpc socket would be /run/containerd's (the host's containerd).
    # containerd 2.4 also reads the host's drop-ins (/etc/containerd/conf.d/*.toml) whatever `imports`
    # says (the file's list is added to that default); `deployproof doctor` names any it finds.
    return f"""version = 4
root = "{layout.containerd_root}"
state = "{layout.containerd_state}"

[plugins]
  [plugins.'io.containerd.server.v1.grpc']
    address = "{layout.containerd_socket}"
  [plugins.'io.containerd.server.v1.ttrpc']
    address = "{layout.containerd_socket}.ttrpc"

  [plugins.'io.containerd.cri.v1.images']
    snapshotter = "overlayfs"
    # Pinned: never garbage-collected, and never pulled (no registry is reachable).
    [plugins.'io.containerd.cri.v1.images'.pinned_images]
      sandbox = "docker.io/{versions.PAUSE_IMAGE}"

  [plugins.'io.containerd.cri.v1.runtime']
    enable_unprivileged_ports = true
    enable_unprivileged_icmp = true
    # Without CAP_SYS_RESOURCE (containers and some VMs) no process may lower its OOM score:
    # keep every container's oom_score_adj at or above containerd's own instead of failing.
    restrict_oom_score_adj = true
    [plugins.'io.containerd.cri.v1.runtime'.containerd]
      default_runtime_name = "runc"
      [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc]
        runtime_type = "io.containerd.runc.v2"
        [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc.options]
          BinaryName = "/usr/sbin/runc"
          SystemdCgroup = false
    [plugins.'io.containerd.cri.v1.runtime'.cni]
      bin_dirs = ["/usr/lib/cni"]
      conf_dir = "{layout.cni_conf_dir}"

  # The NetworkPolicy agent is an NRI plugin: containerd tells it a new pod's IP at sandbox start,
  # before the API has it, so that pod's first connections are judged by its labels, not dropped.
  [plugins.'io.containerd.nri.v1.nri']
    disable = false
    socket_path = "{layout.nri_dir / 'nri.sock'}"
"""


def cni_conflist(layout: Layout, net: Network) -> str:
    return json.dumps({
        "cniVersion": "1.0.0",
        "name": net.cni_network,
        "plugins": [
            {
                "type": "bridge",
                "bridge": net.bridge,
                "isGateway": True,
                "ipMasq": True,
                "hairpinMode": True,
                "ipam": {
                    "type": "host-local",
                    "dataDir": str(layout.cni_data_dir),
                    "ranges": [[{"subnet": net.node_pod_subnet}]],
                    "routes": [{"dst": "0.0.0.0/0"}],
                },
            },
            {"type": "portmap", "capabilities": {"portMappings": True}},
        ],
    }, indent=2)


def minor(kubernetes_version: str) -> tuple[int, int]:
    """(1, 37) for "v1.37.2"."""
    major, minor_, *_ = kubernetes_version.lstrip("v").split(".")
    return int(major), int(minor_)


def kubelet_refuses_cgroup_v1(kubernetes_version: str) -> bool:
    """Kubernetes >= 1.35's kubelet refuses to start on cgroup v1 unless failCgroupV1 is false."""
    return minor(kubernetes_version) >= versions.KUBERNETES_FAIL_CGROUP_V1_FROM


def kubelet_config(layout: Layout, net: Network, kubernetes_version: str = versions.KUBERNETES,
                   cgroup_v1: bool = False) -> str:
    config = {
        "apiVersion": "kubelet.config.k8s.io/v1beta1",
        "kind": "KubeletConfiguration",
        "address": net.node_ip,
        "port": 10250,
        "healthzBindAddress": "127.0.0.1",
        "healthzPort": 10248,
        "authentication": {
            "anonymous": {"enabled": False},
            "webhook": {"enabled": True},
            "x509": {"clientCAFile": str(layout.pki / "ca.crt")},
        },
        "authorization": {"mode": "Webhook"},
        "tlsCertFile": str(layout.pki / "kubelet-serving.crt"),
        "tlsPrivateKeyFile": str(layout.pki / "kubelet-serving.key"),
        "cgroupDriver": "cgroupfs",
        "containerRuntimeEndpoint": f"unix://{layout.containerd_socket}",
        "clusterDNS": [net.dns_ip],
        "clusterDomain": net.cluster_domain,
        # Pods get cluster DNS only: nothing is forwarded to the host's resolvers.
        "resolvConf": str(layout.config / "resolv.conf"),
        "failSwapOn": False,
        # Lowering our own OOM score needs CAP_SYS_RESOURCE, which this host may not grant.
        "oomScoreAdj": 0,
        "podCIDR": net.node_pod_subnet,
        "staticPodPath": "",
        # This is a shared developer machine: never evict pods or GC images for disk use.
        "evictionHard": {"memory.available": "100Mi", "nodefs.available": "1%", "imagefs.available": "1%", "nodefs.inodesFree": "1%"},
        "imageGCHighThresholdPercent": 100,
        "imageGCLowThresholdPercent": 99,
        "serializeImagePulls": False,
        "maxPods": 110,
        "rotateCertificates": False,
        "serverTLSBootstrap": False,
    }
    if cgroup_v1 and kubelet_refuses_cgroup_v1(kubernetes_version):
        # cgroup v1 is in maintenance upstream; this host has no unified hierarchy (the caller warns).
        config["failCgroupV1"] = False
    return yaml.safe_dump(config)


def kube_proxy_config(layout: Layout, net: Network) -> str:
    config = {
        "apiVersion": "kubeproxy.config.k8s.io/v1alpha1",
        "kind": "KubeProxyConfiguration",
        # iptables mode: the only mode that serves NodePorts on 127.0.0.1 (it sets route_localnet).
        "mode": "iptables",
        "clientConnection": {"kubeconfig": str(layout.component_kubeconfig("kube-proxy"))},
        "hostnameOverride": net.node_name,
        "clusterCIDR": net.pod_cidr,
        "metricsBindAddress": "127.0.0.1:10249",
        "healthzBindAddress": "127.0.0.1:10256",
        "oomScoreAdj": 0,
        # Leave the host's conntrack table size alone.
        "conntrack": {"maxPerCore": 0},
    }
    return yaml.safe_dump(config)


def write_node_configs(layout: Layout, net: Network, bin_dir: Path, kubernetes_version: str = versions.KUBERNETES,
                       cgroup_v1: bool = False) -> None:
    layout.config.mkdir(parents=True, exist_ok=True)
    layout.cni_conf_dir.mkdir(parents=True, exist_ok=True)
    (layout.config / "containerd.toml").write_text(containerd_config(layout, bin_dir))
    (layout.cni_conf_dir / "10-deployproof.conflist").write_text(cni_conflist(layout, net))
    (layout.config / "kubelet.yaml").write_text(kubelet_config(layout, net, kubernetes_version, cgroup_v1))
    (layout.config / "kube-proxy.yaml").write_text(kube_proxy_config(layout, net))
    (layout.config / "resolv.conf").write_text(f"# pods of the embedded cluster resolve through cluster DNS only\nsearch {net.cluster_domain}\n")


def _write_private(path: Path, text: str) -> None:
    path.write_text(text)
    path.chmod(0o600)
