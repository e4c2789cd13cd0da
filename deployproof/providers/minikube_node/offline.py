"""The minikube node image and minikube's offline cache.

Node image (`--base-image`): the kind node base (kind_node.nodeimage.ensure_node_base) + containerd and
crictl of the embedded build + dockerfiles/minikube-node (sshd, sudo, the `docker` user minikube logs in as,
the containerd drop-in keeping restrict_oom_score_adj, the cgroup-namespace entrypoint). Content-tagged,
independent of the Kubernetes version.

Offline cache, under a MINIKUBE_HOME of our own (the user's ~/.minikube is never touched):
- `.minikube/cache/linux/amd64/<version>/{kubeadm,kubelet,kubectl}`: symlinks to our builds. minikube uses a
  file that exists without checksum or download, and runs that kubeadm on the host to learn kubeadm's
  image names (`kubeadm config images list`) for Kubernetes releases it does not know;
- every image kubeadm and minikube ask for, tagged in the host's docker daemon under the exact name:
  minikube writes its image cache from the daemon and never asks a registry for a fully qualified name.
  The control plane and pause are ours at kubeadm's names; etcd and CoreDNS are our pinned builds
  (versions.ETCD, a kubeadm-Corefile CoreDNS at versions.COREDNS) tagged with the tags kubeadm names
  (minikube cannot point kubeadm at other etcd/CoreDNS images); storage-provisioner is minikube's own
  provisioner package run without leader election (minikubebin; FROM scratch, as upstream's image).
"""

from __future__ import annotations

import os
from pathlib import Path

from ... import versions
from ...errors import PrerequisiteError
from ...imagebuild import DOCKERFILES, BuildContext, build
from ...paths import cache_dir, state_dir
from ...progress import say, step
from ...runner import run
from . import minikubebin

REPOSITORY = "deployproof/minikube-node"
DOCKERFILE_DIR = DOCKERFILES / "minikube-node"
NODE_BINARIES = ("containerd", "containerd-shim-runc-v2", "ctr", "crictl")
KUBE_BINARIES = ("kubeadm", "kubelet", "kubectl")
STORAGE_PROVISIONER_DOCKERFILE = b"FROM scratch\nCOPY storage-provisioner /storage-provisioner\nENTRYPOINT [\"/storage-provisioner\"]\n"


def minikube_home() -> Path:
    """Our MINIKUBE_HOME (minikube appends `.minikube` unless the basename already is that)."""
    return state_dir().with_name(state_dir().name + "-minikube")


def binary_cache_dir(kubernetes: str, home: Path | None = None) -> Path:
    return (home or minikube_home()) / ".minikube" / "cache" / "linux" / "amd64" / kubernetes


def storage_provisioner_image() -> str:
    return f"gcr.io/k8s-minikube/storage-provisioner:{versions.MINIKUBE_STORAGE_PROVISIONER_TAG}"


# minikube adds a `hosts` block (host.minikube.internal) to kubeadm's Corefile: the kind node's CoreDNS lacks that plugin.
COREDNS_PLUGINS = ("errors", "health", "ready", "kubernetes", "prometheus", "hosts", "forward", "cache", "loop",
                   "reload", "loadbalance", "log")


def coredns_image() -> str:
    return f"deployproof.local/coredns-minikube:{versions.COREDNS}"


def coredns_component():
    """Our CoreDNS build for minikube's node: kind's recipe with the plugins of minikube's Corefile."""
    from ..kind_node import components

    return components.NodeComponent("coredns-minikube", versions.COREDNS, "coredns",
                                    lambda c, work, out: components.build_coredns(c, work, out, COREDNS_PLUGINS))


def ensure_coredns_image(client, debian_base: str, timings: dict[str, float] | None = None) -> str:
    """Our CoreDNS with the plugins of minikube's Corefile, built (cached by version) and imaged as coredns_image()."""
    from ..embedded.build import build_lock
    from ..kind_node import components, images

    component = coredns_component()
    target = cache_dir() / "bin" / f"minikube-coredns-{versions.COREDNS}-{minikubebin.go_version()}"
    with build_lock(target, f"coredns {versions.COREDNS} for minikube"):
        components.ensure_component(component, target, timings)
    dockerfile = (images.KIND_DOCKERFILES / "component-scratch.Dockerfile").read_bytes().replace(b"@BINARY@", b"coredns")
    ref = build("deployproof-minikube/coredns", BuildContext(files=(("coredns", target / "coredns"),), dockerfile=dockerfile),
                {"BINARY": "coredns", "USER": "65532"}, client=client, label=f"minikube image {coredns_image()}", timings=timings)
    repository, tag = coredns_image().rsplit(":", 1)
    client.images.get(ref.tag).tag(repository, tag)
    return coredns_image()


def kubeadm_image_names(kubeadm: Path, kubernetes: str) -> list[str]:
    """The images kubeadm of `kubernetes` names (no network: the version is given)."""
    out = run([kubeadm, "config", "images", "list", f"--kubernetes-version={kubernetes}"], quiet=True)
    return [line.strip() for line in out.stdout.splitlines() if line.strip()]


def our_image_for(kubeadm_name: str, kubernetes: str) -> str:
    """Which of our locally built images (kind_node.images names) stands in for `kubeadm_name`."""
    from ..kind_node import images

    repository = kubeadm_name.rsplit(":", 1)[0]
    short = repository.rsplit("/", 1)[-1]
    if short in ("kube-apiserver", "kube-controller-manager", "kube-scheduler", "kube-proxy"):
        return f"registry.k8s.io/{short}:{kubernetes}"
    if short == "pause":
        return f"registry.k8s.io/pause:{versions.KIND_PAUSE_VERSION}"
    if short == "etcd":
        return images.etcd_image()
    if short == "coredns":
        return coredns_image()
    raise PrerequisiteError(f"kubeadm of Kubernetes {kubernetes} names an image deployproof does not build: {kubeadm_name}",
                            "add it to minikube_node/offline.py our_image_for")


def ensure_node_image(client=None, *, force: bool = False, timings: dict[str, float] | None = None) -> str:
    """Build (or find) the minikube node image; return its content tag (`--base-image`)."""
    from ... import baseimages
    from ...docker_engine import ensure_docker
    from ..kind_node import nodeimage as kind_nodeimage

    client = client or ensure_docker()
    binaries = {name: path for name, path in kind_nodeimage.embedded_binaries().items() if name in NODE_BINARIES}
    debian = baseimages.ensure_debian_rootfs(client)
    base = kind_nodeimage.ensure_node_base(client, debian, force=force, timings=timings)
    files = {f"bin/{name}": binaries[name] for name in NODE_BINARIES}
    for dirpath, _dirs, names in os.walk(DOCKERFILE_DIR / "files"):
        for name in names:
            path = Path(dirpath) / name
            files[f"files/{path.relative_to(DOCKERFILE_DIR / 'files')}"] = path
    context = BuildContext(files=tuple(sorted(files.items())), dockerfile=(DOCKERFILE_DIR / "node.Dockerfile").read_bytes())
    node = build(REPOSITORY, context, {"NODE_BASE": base.tag}, client=client, force=force,
                 label="minikube node image (kind node base + sshd, sudo, the docker user)", timings=timings)
    say(f"minikube node image: {node.tag}")
    return node.tag


def ensure_cache(kubernetes: str, client=None, *, timings: dict[str, float] | None = None) -> dict[str, str]:
    """Fill minikube's offline cache for `kubernetes`; return the images it holds (kubeadm name → our image)."""
    from ...docker_engine import ensure_docker
    from ... import baseimages
    from ..kind_node import components, images
    from ..kind_node import nodeimage as kind_nodeimage

    client = client or ensure_docker()
    binaries = {**kind_nodeimage.embedded_binaries(kubernetes), **components.ensure_components(timings, kubernetes)}
    folder = binary_cache_dir(kubernetes)
    folder.mkdir(parents=True, exist_ok=True)
    for name in KUBE_BINARIES:
        target = Path(binaries[name]).resolve()
        target.chmod(0o755)  # minikube runs our kubeadm on the host
        link = folder / name
        if not (link.is_symlink() and link.resolve() == target):
            link.unlink(missing_ok=True)
            link.symlink_to(target)
    debian = baseimages.ensure_debian_rootfs(client)
    images.build_component_images(client, binaries, debian, timings, kubernetes)
    ensure_coredns_image(client, debian, timings)
    tagged: dict[str, str] = {}
    for name in kubeadm_image_names(folder / "kubeadm", kubernetes):
        ours = our_image_for(name, kubernetes)
        repository, tag = name.rsplit(":", 1)
        client.images.get(ours).tag(repository, tag)
        tagged[name] = ours
    provisioner = minikubebin.ensure_storage_provisioner(timings)
    ref = build("deployproof-minikube/storage-provisioner",
                BuildContext(files=(("storage-provisioner", provisioner),), dockerfile=STORAGE_PROVISIONER_DOCKERFILE),
                client=client, label="minikube storage-provisioner image", timings=timings)
    repository, tag = storage_provisioner_image().rsplit(":", 1)
    client.images.get(ref.tag).tag(repository, tag)
    tagged[storage_provisioner_image()] = ref.tag
    tagged[images.metrics_server_image()] = images.metrics_server_image()
    tagged[images.network_policies_image()] = images.network_policies_image()  # loaded after start (minikube.py)
    forget_changed_images(tagged, {name: client.images.get(name).id for name in tagged})
    say(f"minikube offline cache for Kubernetes {kubernetes}: {folder} and {len(tagged)} images in the docker daemon")
    return tagged


def image_cache_file(name: str, home: Path | None = None) -> Path:
    """Where minikube caches image `name` (its SanitizeCacheDir: `:` → `_`, no extension)."""
    return (home or minikube_home()) / ".minikube" / "cache" / "images" / "amd64" / name.replace(":", "_")


def forget_changed_images(names, image_ids: dict[str, str], home: Path | None = None) -> list[str]:
    """Delete minikube's cached file of every image whose id changed since the last fill (minikube never rewrites an
    existing cache file, so a rebuilt image would otherwise never reach a new node); return the names forgotten."""
    import json

    record = (home or minikube_home()) / "deployproof-images.json"
    try:
        known = json.loads(record.read_text())
    except (OSError, ValueError):
        known = {}
    forgotten = []
    for name in names:
        if known.get(name) != image_ids[name]:
            cached = image_cache_file(name, home)
            if cached.exists():
                cached.unlink()
                forgotten.append(name)
    record.parent.mkdir(parents=True, exist_ok=True)
    record.write_text(json.dumps(image_ids, indent=1, sort_keys=True))
    return forgotten


def cache_problems(kubernetes: str, image_names: list[str], *, has_image=None, home: Path | None = None) -> list[str]:
    """What an offline start of `kubernetes` would miss: binaries in the cache folder and images in the daemon."""
    problems = []
    folder = binary_cache_dir(kubernetes, home)
    for name in KUBE_BINARIES:
        path = folder / name
        if not path.exists():
            problems.append(f"{path} is missing")
        elif not os.access(path, os.X_OK):
            problems.append(f"{path} is not executable")
    if has_image is not None:
        problems += [f"image {name} is not in the docker daemon" for name in image_names if not has_image(name)]
    return problems
