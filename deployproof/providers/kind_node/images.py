"""The images a kind node runs, built locally around our binaries and saved as tarballs for the node.

Names are what the node's kubeadm and containerd ask for, so nothing is ever pulled:
- registry.k8s.io/{kube-apiserver,kube-controller-manager,kube-scheduler,kube-proxy}:<KUBERNETES>
  and registry.k8s.io/pause:<KIND_PAUSE_VERSION> — the names kubeadm of our Kubernetes writes;
- deployproof.local/etcd:<ETCD>, deployproof.local/coredns:<COREDNS> — our pinned versions, which
  differ from kubeadm's defaults: the cluster config's kubeadm patch names them (kubeadm_patches());
- deployproof.local/metrics-server:<METRICS_SERVER>, deployproof.local/kube-network-policies:<…>.

Each image is content-tagged by imagebuild (unchanged binary → not rebuilt), then tagged with its
name and saved once per content hash under <cache>/kind-node/images/.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ... import versions
from ...imagebuild import DOCKERFILES, BuildContext, build
from ...paths import cache_dir
from ...progress import say
from ...runner import run

KIND_DOCKERFILES = DOCKERFILES / "kind-node"
LOCAL_REPOSITORY = "deployproof.local"


@dataclass(frozen=True)
class ComponentImage:
    name: str  # the full image name the node asks for
    binary: str  # binary name (and build arg)
    dockerfile: str = "component-scratch.Dockerfile"
    user: int = 0


def component_images(kube: str = versions.KUBERNETES) -> tuple[ComponentImage, ...]:
    return (
        ComponentImage(f"registry.k8s.io/kube-apiserver:{kube}", "kube-apiserver"),
        ComponentImage(f"registry.k8s.io/kube-controller-manager:{kube}", "kube-controller-manager"),
        ComponentImage(f"registry.k8s.io/kube-scheduler:{kube}", "kube-scheduler"),
        ComponentImage(f"registry.k8s.io/kube-proxy:{kube}", "kube-proxy", "kube-proxy.Dockerfile"),
        ComponentImage(f"registry.k8s.io/pause:{versions.KIND_PAUSE_VERSION}", "pause", user=65535),
        ComponentImage(etcd_image(), "etcd"),
        ComponentImage(coredns_image(), "coredns", user=65532),
        ComponentImage(metrics_server_image(), "metrics-server", user=65534),
        ComponentImage(network_policies_image(), "netpol"),
    )


def etcd_image() -> str:
    return f"{LOCAL_REPOSITORY}/etcd:{versions.ETCD}"


def coredns_image() -> str:
    return f"{LOCAL_REPOSITORY}/coredns:{versions.COREDNS}"


def metrics_server_image() -> str:
    return f"{LOCAL_REPOSITORY}/metrics-server:{versions.METRICS_SERVER}"


def network_policies_image() -> str:
    return f"{LOCAL_REPOSITORY}/kube-network-policies:{versions.KUBE_NETWORK_POLICIES}"


def kubeadm_patches() -> list[str]:
    """kubeadm config patches the cluster needs to find our etcd/CoreDNS and run on cgroup v1."""
    return [
        "kind: ClusterConfiguration\n"
        f"etcd:\n  local:\n    imageRepository: {LOCAL_REPOSITORY}\n    imageTag: {versions.ETCD}\n"
        f"dns:\n  imageRepository: {LOCAL_REPOSITORY}\n  imageTag: {versions.COREDNS}\n"
        # A lost node is NotReady after 20 s, not 50 (a test cluster's setting: the node-loss test's wait).
        "controllerManager:\n  extraArgs:\n"
        f"    - name: node-monitor-grace-period\n      value: {versions.KIND_NODE_MONITOR_GRACE}\n"
        f"    - name: horizontal-pod-autoscaler-sync-period\n      value: {versions.TEST_CLUSTER_HPA_SYNC_PERIOD}\n",
        # Kubernetes >= 1.35 refuses cgroup v1 unless told; harmless before (the field exists since 1.31).
        "kind: KubeletConfiguration\n"
        f"failCgroupV1: {str(versions.KIND_FAIL_CGROUP_V1).lower()}\n",
    ]


def build_component_images(client, binaries: dict[str, Path], debian_base: str,
                           timings: dict[str, float] | None = None, kubernetes: str = versions.KUBERNETES) -> dict[str, Path]:
    """Build, name and save every component image; return image name → tarball."""
    folder = cache_dir() / "kind-node" / "images"
    folder.mkdir(parents=True, exist_ok=True)
    tarballs: dict[str, Path] = {}
    for image in component_images(kubernetes):
        dockerfile = (KIND_DOCKERFILES / image.dockerfile).read_bytes().replace(b"@BINARY@", image.binary.encode())
        context = BuildContext(files=((image.binary, binaries[image.binary]),), dockerfile=dockerfile)
        args = {"DEBIAN_BASE": debian_base} if "DEBIAN_BASE" in dockerfile.decode() else {"BINARY": image.binary, "USER": str(image.user)}
        ref = build(f"deployproof-kind/{image.binary}", context, args, client=client, label=f"kind image {image.name}",
                    timings=timings)
        repository, tag = image.name.rsplit(":", 1)
        client.images.get(ref.tag).tag(repository, tag)
        tarball = folder / f"{image.name.replace('/', '_').replace(':', '_')}-{ref.tag.rsplit(':', 1)[1]}.tar"
        if not tarball.exists():
            partial = tarball.with_suffix(".partial")
            run(["docker", "save", "-o", partial, image.name])
            partial.replace(tarball)
            say(f"  saved {image.name} → {tarball.name} ({tarball.stat().st_size / 1e6:.0f} MB)")
        tarballs[image.name] = tarball
    return tarballs
