"""Images the embedded cluster itself needs (pause, CoreDNS, metrics-server), built locally.

No registry can be reached, so each is a FROM-scratch image around a static binary
built from source, then imported into containerd's k8s.io namespace (the only one
the CRI plugin sees).
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

from ... import versions
from ...errors import CommandError
from ...progress import say
from ...runner import run
from . import build
from .layout import Layout

REPO_ROOT = Path(__file__).resolve().parents[3]
PAUSE_SOURCE = REPO_ROOT / "dockerfiles" / "pause"

# (tag, binary path factory, numeric non-root user)
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


def _images() -> list[tuple[str, str, int]]:
    return [
        (versions.PAUSE_IMAGE, "pause", 65535),
        (versions.COREDNS_IMAGE, "coredns", 65532),
        (versions.METRICS_SERVER_IMAGE, "metrics-server", 65534),
    ]


def build_system_images() -> list[str]:
    """Build the images that are missing from the local docker engine; return all tags."""
    tags = []
    for tag, name, uid in _images():
        tags.append(tag)
        if run(["docker", "image", "inspect", tag], check=False, quiet=True).returncode == 0:
            continue
        with tempfile.TemporaryDirectory(prefix=f"deployproof-{name}-") as tmp:
            work = Path(tmp)
            binary = _pause_binary(work) if name == "pause" else build.binary(name)
            if binary.parent != work:
                shutil.copy2(binary, work / name)
            (work / "Dockerfile").write_text(DOCKERFILE.format(name=name, uid=uid))
            say(f"building image {tag}")
            run(["docker", "build", "--network", "host", "-q", "-t", tag, str(work)], quiet=True)
    return tags


def load_into_containerd(layout: Layout, tags: list[str]) -> None:
    """`docker save | ctr -n k8s.io images import -`, streaming, without a temporary tar."""
    ctr = build.binary("ctr")
    for tag in tags:
        say(f"loading {tag} into containerd (k8s.io)")
        save = subprocess.Popen(["docker", "save", tag], stdout=subprocess.PIPE)
        load = subprocess.run(
            [str(ctr), "--address", str(layout.containerd_socket), "-n", "k8s.io", "images", "import", "-"],
            stdin=save.stdout, capture_output=True, text=True,
        )
        assert save.stdout is not None
        save.stdout.close()
        save.wait()
        if save.returncode != 0 or load.returncode != 0:
            raise CommandError(["docker save", tag, "| ctr import"], load.returncode or save.returncode, load.stderr,
                               "is dockerd running and the image present? (docker image ls)")
