"""Images the embedded cluster itself needs (pause, CoreDNS, metrics-server, the NetworkPolicy agent), built locally.

No registry can be reached, so each is a FROM-scratch image around a static binary
built from source, then imported into containerd's k8s.io namespace (the only one
the CRI plugin sees).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from ... import versions
from ...progress import say
from ...runner import run, run_pipe
from . import build
from .layout import Layout

REPO_ROOT = Path(__file__).resolve().parents[3]
PAUSE_SOURCE = REPO_ROOT / "dockerfiles" / "pause"

DOCKERFILE = """FROM scratch
COPY {name} /{name}
USER {uid}:{uid}
ENTRYPOINT ["/{name}"]
"""


def _pause_binary(work: Path) -> Path:
    out = work / "pause"
    run(["go", "build", "-trimpath", "-ldflags", "-s -w", "-o", str(out), "."], cwd=PAUSE_SOURCE,
        env={"CGO_ENABLED": "0", "GOFLAGS": "-buildvcs=false"}, quiet=True)
    return out


# (fixed tag the cluster config names, binary, numeric non-root user)
SYSTEM_IMAGES = (
    (versions.PAUSE_IMAGE, "pause", 65535),
    (versions.COREDNS_IMAGE, "coredns", 65532),
    (versions.METRICS_SERVER_IMAGE, "metrics-server", 65534),
    (versions.NETWORK_POLICIES_IMAGE, "netpol", 0),  # programs the host's nftables: root, privileged
)


def build_system_images() -> list[str]:
    """Build (content-tagged, so unchanged ones are skipped) and tag each system image; return the tags."""
    from ...docker_engine import ensure_docker
    from ...imagebuild import BuildContext, build as build_image

    client = ensure_docker()
    tags = []
    with tempfile.TemporaryDirectory(prefix="deployproof-system-images-") as tmp:
        for tag, name, uid in SYSTEM_IMAGES:
            binary = _pause_binary(Path(tmp)) if name == "pause" else build.binary(name)
            context = BuildContext(files=((name, binary),), dockerfile=DOCKERFILE.format(name=name, uid=uid).encode())
            ref = build_image(tag.split(":")[0], context, client=client, label=f"system image {name}")
            # The cluster's config names a fixed tag (containerd's sandbox_image, the add-on manifests).
            repository, version = tag.rsplit(":", 1)
            client.images.get(ref.tag).tag(repository, version)
            tags.append(tag)
    return tags


def load_into_containerd(layout: Layout, tags: list[str]) -> None:
    """`docker save | ctr -n k8s.io images import -` for each tag (the CRI plugin sees only k8s.io)."""
    ctr = build.binary("ctr")
    for tag in tags:
        say(f"loading {tag} into containerd (k8s.io)")
        run_pipe(["docker", "save", tag],
                 [ctr, "--address", layout.containerd_socket, "-n", "k8s.io", "images", "import", "-"],
                 fix="is dockerd running and the image present? (docker image ls)")
