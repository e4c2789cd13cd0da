"""The kind node image, assembled here (not `kind build node-image`), tagged by content.

Why our own assembly: `kind build node-image` starts from kind's published base image
(kindest/base, a registry pull) and, for the images the node runs, pulls or builds them with
Kubernetes' own release tooling (which downloads base images); neither works with no registry.
Here:

1. node base  — our debootstrapped Debian (baseimages.ensure_debian_rootfs) + Debian's systemd,
                runc, CNI plugins, iptables… + dockerfiles/kind-node/files (entrypoint, units,
                containerd config) + the capability-dropping runtime wrapper;
2. components — the images the node runs (images.py), saved as tarballs;
3. node       — node base + containerd/crictl (embedded build) + kubeadm/kubelet/kubectl +
                /kind/version, /kind/manifests, /kind/images/*.tar, preloaded into containerd at
                boot by deployproof-preload.service.

Every step is content-tagged (imagebuild): a warm run rebuilds nothing, a changed version or file
rebuilds only what depends on it. The result is also tagged deployproof/kind-node:<KUBERNETES>.

    python -m deployproof.providers.kind_node [--force] [--kubernetes-version 1.36]
"""

from __future__ import annotations

import os
from pathlib import Path

from ... import versions
from ...imagebuild import BuildContext, build
from ...progress import say
from . import components, images, runc_wrapper

REPOSITORY = "deployproof/kind-node"
FILES = images.KIND_DOCKERFILES / "files"
MANIFESTS = images.KIND_DOCKERFILES / "manifests"
# Binaries of the embedded build the node needs (name → where they go in the node context).
NODE_BINARIES = {"containerd": "bin", "containerd-shim-runc-v2": "bin", "ctr": "bin", "crictl": "bin",
                 "kubelet": "kube", "kubectl": "kube"}
IMAGE_BINARIES = ("kube-apiserver", "kube-controller-manager", "kube-scheduler", "kube-proxy", "etcd", "metrics-server", "netpol")


def _tree(root: Path, prefix: str) -> dict[str, Path]:
    found: dict[str, Path] = {}
    for dirpath, _dirs, names in os.walk(root):
        for name in names:
            path = Path(dirpath) / name
            found[f"{prefix}/{path.relative_to(root)}"] = path
    return found


def render_manifest(template: Path) -> str:
    """A node manifest (dockerfiles/kind-node/manifests) with our image names and settings filled in."""
    names = {"NETWORK_POLICIES_IMAGE": images.network_policies_image(), "METRICS_SERVER_IMAGE": images.metrics_server_image(),
             "METRIC_RESOLUTION": versions.TEST_CLUSTER_METRIC_RESOLUTION}
    text = template.read_text()
    for key, value in names.items():
        text = text.replace(key, value)
    return text


def rendered_manifests(folder: Path) -> dict[str, Path]:
    """The node's manifests with our image names filled in, written into `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    out: dict[str, Path] = {}
    for template in sorted(MANIFESTS.glob("*.yaml")):
        text = render_manifest(template)
        target = folder / template.name
        if not target.exists() or target.read_text() != text:
            target.write_text(text)
        out[f"kind/manifests/{template.name}"] = target
    return out


def embedded_binaries(kubernetes: str = versions.KUBERNETES) -> dict[str, Path]:
    """The embedded build's binaries the node uses (Kubernetes at `kubernetes`), built first if missing."""
    from ..embedded import build as embedded_build  # lazy: shared with (and refactored by) the embedded provider

    wanted = (*NODE_BINARIES, *IMAGE_BINARIES)
    missing = [c.name for c in embedded_build.components(kubernetes)
               if any(b in c.binaries for b in wanted) and not embedded_build.is_built(c)]
    if missing:
        embedded_build.ensure_built(only=tuple(missing), kubernetes_version=kubernetes)
    return {name: embedded_build.binary(name, kubernetes) for name in wanted}


def ensure_node_base(client, debian: str, *, force: bool = False, timings: dict[str, float] | None = None):
    """The node base (Debian booting systemd, runc behind the wrapper, CNI plugins, our units): kind's nodes
    and the minikube node image (minikube_node) both start from it. Returns its ImageRef."""
    base_context = BuildContext(
        files=tuple(sorted({**_tree(FILES, "files"), "runc-without-missing-caps": Path(runc_wrapper.__file__)}.items())),
        dockerfile=(images.KIND_DOCKERFILES / "node-base.Dockerfile").read_bytes(),
    )
    return build(f"{REPOSITORY}-base", base_context, {"DEBIAN_BASE": debian}, client=client, force=force,
                 label="kind node base (systemd, runc, CNI plugins)", timings=timings)


def ensure_node_image(client=None, *, force: bool = False, timings: dict[str, float] | None = None,
                      kubernetes: str = versions.KUBERNETES) -> str:
    """Build (or find) the node image of Kubernetes `kubernetes` (a supported release); return its content tag."""
    from ... import baseimages  # lazy: refactored elsewhere
    from ...docker_engine import ensure_docker
    from ...paths import cache_dir

    client = client or ensure_docker()
    binaries = {**embedded_binaries(kubernetes), **components.ensure_components(timings, kubernetes)}
    debian = baseimages.ensure_debian_rootfs(client)
    base = ensure_node_base(client, debian, force=force, timings=timings)

    tarballs = images.build_component_images(client, binaries, debian, timings, kubernetes)
    work = cache_dir() / "kind-node" / "context"
    work.mkdir(parents=True, exist_ok=True)
    version_file = work / "version"
    version_file.write_text(kubernetes + "\n")
    files = {f"{folder}/{name}": binaries[name] for name, folder in NODE_BINARIES.items()}
    files["kube/kubeadm"] = binaries["kubeadm"]
    files["kind/version"] = version_file
    files.update(rendered_manifests(work / "manifests"))
    files.update({f"kind/images/{path.name}": path for path in tarballs.values()})
    node_context = BuildContext(files=tuple(sorted(files.items())),
                                dockerfile=(images.KIND_DOCKERFILES / "node.Dockerfile").read_bytes())
    node = build(REPOSITORY, node_context, {"NODE_BASE": base.tag, "PAUSE_VERSION": versions.KIND_PAUSE_VERSION},
                 client=client, force=force, label=f"kind node image (Kubernetes {kubernetes})", timings=timings)
    client.images.get(node.tag).tag(REPOSITORY, kubernetes)
    say(f"kind node image: {node.tag} (also {REPOSITORY}:{kubernetes})")
    return node.tag
