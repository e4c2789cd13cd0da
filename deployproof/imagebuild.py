"""Content-tagged image builds with the docker SDK: an unchanged source is not rebuilt.

An image's tag is a hash of exactly what the daemon would see: the build-context files left
after the Dockerfile's ignore rules (`dockerfiles/<part>.Dockerfile.dockerignore`, the same file
BuildKit reads), the Dockerfile and the build arguments (the base images are build arguments, and
local base images are tagged by their own content, so a new base means a new app image). When a
tag already exists the build is skipped.

The build context tar is made here rather than by the daemon's client so the hashed files and the
sent files are the same list, ignore rules work with the classic builder of older engines (which
only reads `.dockerignore` at the context root), and timestamps are normalised so the daemon's
layer cache survives a fresh checkout.

Shared by the app images (images.py) and the local base images (baseimages.py).
"""

from __future__ import annotations

import hashlib
import io
import os
import tarfile
import tempfile
import threading
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Iterable, Mapping

from . import paths
from .errors import DeployProofError
from .progress import say, step
from .runner import run

REPO_ROOT = Path(__file__).resolve().parent.parent
DOCKERFILES = REPO_ROOT / "dockerfiles"

# Where the Dockerfile sits inside the context tar; a name no app file uses.
CONTEXT_DOCKERFILE = ".deployproof.Dockerfile"
# Every file in a context tar gets this mtime (2020-01-01): stable layer-cache keys across
# checkouts, and late enough for tools that zip files (zip cannot store dates before 1980).
CONTEXT_MTIME = 1577836800
# Build arguments that describe the build, not the content, so they stay out of the tag: the OCI
# labels (a new commit that changes nothing in a context does not rebuild the image), and the CA
# certificates the build stages trust for package downloads (they change the transport only).
LABEL_ARGS = ("IMAGE_VERSION", "IMAGE_SOURCE", "IMAGE_REVISION", "BUILD_CA_CERTS")
# Local CA certificates of the build host (Debian's place for them): a host behind a TLS-inspecting
# proxy keeps that proxy's CA here, and pip/npm in the build stages must trust it too.
LOCAL_CA_DIR = Path("/usr/local/share/ca-certificates")
HASH_SCHEME = "deployproof-image-v1"
TAG_LENGTH = 16


class ImageBuildError(DeployProofError):
    """A docker build failed; names the failing step and carries its output."""


@dataclass(frozen=True)
class ImageRef:
    tag: str  # repository:content-hash
    id: str  # sha256:… image id


@dataclass(frozen=True)
class BuildContext:
    """The files sent to the daemon (name inside the context → file on disk) and the Dockerfile."""

    files: tuple[tuple[str, Path], ...]
    dockerfile: bytes

    @classmethod
    def from_dir(cls, root: Path | None, dockerfile: Path, extra: Mapping[str, Path] | None = None) -> BuildContext:
        """Context of directory `root` (None = empty) filtered by `<dockerfile>.dockerignore`, plus `extra` files."""
        entries: dict[str, Path] = {}
        if root is not None:
            for name in context_files(root, ignore_patterns(dockerfile)):
                entries[name] = root / name
        entries.update(extra or {})
        return cls(files=tuple(sorted(entries.items())), dockerfile=dockerfile.read_bytes())


# ---------------------------------------------------------------------------------------------
# Build context: which files, their hash, their tar
# ---------------------------------------------------------------------------------------------

def ignore_patterns(dockerfile: Path) -> list[str]:
    """The ignore rules for a Dockerfile: `<name>.dockerignore` next to it, in .dockerignore syntax."""
    ignore = dockerfile.with_name(dockerfile.name + ".dockerignore")
    if not ignore.exists():
        return []
    lines = (line.strip() for line in ignore.read_text().splitlines())
    return [line for line in lines if line and not line.startswith("#")]


def context_files(root: Path, patterns: Iterable[str]) -> list[str]:
    """Relative paths of the regular files and symlinks under `root` that the ignore rules keep."""
    from docker.utils.build import exclude_paths  # the SDK's implementation of .dockerignore matching

    kept = exclude_paths(str(root), list(patterns))
    return sorted(name for name in kept if (root / name).is_symlink() or (root / name).is_file())


def content_hash(context: BuildContext, buildargs: Mapping[str, str]) -> str:
    """Hash of what the daemon sees: file names, contents, exec bits, the Dockerfile, the build args."""
    digest = hashlib.sha256(HASH_SCHEME.encode() + b"\0")
    for name, path in context.files:
        digest.update(name.encode() + b"\0")
        if path.is_symlink():
            digest.update(b"link\0" + os.readlink(path).encode() + b"\0")
            continue
        digest.update(b"exec\0" if os.stat(path).st_mode & 0o111 else b"file\0")
        digest.update(_file_sha256(path) + b"\0")
    digest.update(b"dockerfile\0" + context.dockerfile + b"\0")
    for key in sorted(buildargs):
        if key not in LABEL_ARGS:
            digest.update(f"arg\0{key}={buildargs[key]}\0".encode())
    return digest.hexdigest()


def write_context_tar(context: BuildContext, out: IO[bytes]) -> None:
    """Write the context as a tar with normalised owners and times, the Dockerfile included."""
    with tarfile.open(fileobj=out, mode="w") as tar:
        for name, path in context.files:
            info = tar.gettarinfo(str(path), arcname=name)
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            info.mtime = CONTEXT_MTIME
            if info.isreg():
                with open(path, "rb") as handle:
                    tar.addfile(info, handle)
            else:
                tar.addfile(info)
        info = tarfile.TarInfo(CONTEXT_DOCKERFILE)
        info.size = len(context.dockerfile)
        info.mtime = CONTEXT_MTIME
        info.mode = 0o644
        tar.addfile(info, io.BytesIO(context.dockerfile))
    out.seek(0)


def _file_sha256(path: Path) -> bytes:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest().encode()


# ---------------------------------------------------------------------------------------------
# Building
# ---------------------------------------------------------------------------------------------

def image_exists(client, tag: str):  # -> docker.models.images.Image | None
    import docker.errors

    try:
        return client.images.get(tag)
    except docker.errors.ImageNotFound:
        return None


def build(
    repository: str,
    context: BuildContext,
    buildargs: Mapping[str, str] | None = None,
    *,
    client=None,
    force: bool = False,
    nocache: bool = False,
    label: str = "",
    timings: dict[str, float] | None = None,
) -> ImageRef:
    """Build `context` as `repository:<content hash>` unless that tag already exists (or `force`).

    `nocache` also ignores the daemon's layer cache (a cold build, as the benchmark measures).
    """
    from .docker_engine import ensure_docker

    client = client or ensure_docker()
    args = dict(buildargs or {})
    tag = f"{repository}:{content_hash(context, args)[:TAG_LENGTH]}"
    label = label or repository
    existing = None if force else image_exists(client, tag)
    if existing is not None:
        say(f"✓ {label}: {tag} is up to date (content unchanged), not rebuilt")
        return ImageRef(tag, existing.id)
    args.setdefault("IMAGE_VERSION", tag.split(":", 1)[1])
    args.setdefault("IMAGE_REVISION", git_revision())
    args.setdefault("IMAGE_SOURCE", git_source())
    args.setdefault("BUILD_CA_CERTS", build_ca_certs())
    log_path = paths.cache_dir() / "build-logs" / f"{tag.replace(':', '-').replace('/', '_')}.log"
    with step(f"build {label} → {tag}", timings), tempfile.TemporaryFile() as tar:
        write_context_tar(context, tar)
        size_mb = os.fstat(tar.fileno()).st_size / 1e6
        say(f"  context: {len(context.files)} files, {size_mb:.1f} MB; log: {log_path}")
        stream = client.api.build(
            fileobj=tar,
            custom_context=True,
            dockerfile=CONTEXT_DOCKERFILE,
            tag=tag,
            buildargs=args,
            rm=True,
            forcerm=True,
            nocache=nocache,
            pull=False,  # bases are local images or already present; nothing can be pulled here
            decode=True,
            # Package installs in build stages reach the registries through the host's network.
            network_mode="host",
        )
        image_id = follow_build(stream, label=label, log_path=log_path)
    return ImageRef(tag, image_id)


def follow_build(chunks: Iterable[Mapping], *, label: str, log_path: Path, heartbeat: float = 20.0) -> str:
    """Show a build's steps as they start, a heartbeat with the last output line, and its result.

    Returns the image id; raises ImageBuildError naming the failing step and the end of its output.
    """
    log_path.parent.mkdir(parents=True, exist_ok=True)
    current = {"step": "(before the first step)", "since": time.monotonic()}
    output: deque[str] = deque(maxlen=30)
    image_id = ""
    stop = threading.Event()

    def beat() -> None:
        while not stop.wait(heartbeat):
            last = output[-1] if output else "(no output yet)"
            running = time.monotonic() - current["since"]
            say(f"  … {label} {current['step'][:60]} running {running:.0f}s: {last[:100]}")

    ticker = threading.Thread(target=beat, daemon=True)
    ticker.start()
    try:
        with open(log_path, "w") as log:
            for chunk in chunks:
                if "error" in chunk:
                    detail = chunk.get("errorDetail", {}).get("message") or chunk["error"]
                    log.write(f"ERROR: {detail}\n")
                    raise ImageBuildError(
                        f"building {label} failed at {current['step']}\n"
                        + "".join(f"    {line}\n" for line in output)
                        + f"  error: {detail.strip()}\n  (full log: {log_path})",
                        "read the step's output above; fix the Dockerfile or the app's dependency files, then build again",
                    )
                text = chunk.get("stream", "")
                if text:
                    log.write(text)
                    for line in text.splitlines():
                        line = line.rstrip()
                        if line.startswith("Step ") and " : " in line:
                            current["step"] = line.split(" : ", 1)[0].lower() + " `" + line.split(" : ", 1)[1][:160] + "`"
                            current["since"] = time.monotonic()
                            output.clear()
                            say(f"  {label}: {line[:160]}")
                        elif line.strip() and not line.startswith(" ---> "):
                            output.append(line)
                aux = chunk.get("aux")
                if isinstance(aux, Mapping) and "ID" in aux:
                    image_id = aux["ID"]
    finally:
        stop.set()
    if not image_id:
        raise ImageBuildError(f"building {label} ended without an image id (full log: {log_path})",
                              "check that the docker daemon is healthy (`docker info`) and build again")
    return image_id


def build_ca_certs() -> str:
    """PEM text of the extra CAs the build stages should trust (DEPLOYPROOF_BUILD_CA_FILE, else the host's local CAs).

    Passed as the BUILD_CA_CERTS build arg, which only build stages declare: never in a runtime image.
    """
    override = os.environ.get("DEPLOYPROOF_BUILD_CA_FILE")
    files = [Path(override)] if override else sorted(LOCAL_CA_DIR.rglob("*.crt")) if LOCAL_CA_DIR.is_dir() else []
    return "".join(path.read_text().strip() + "\n" for path in files if path.is_file())


def git_revision() -> str:
    """The commit being built, for the org.opencontainers.image.revision label ("unknown" outside git)."""
    return _git("rev-parse", "HEAD") or "unknown"


def git_source() -> str:
    """Where the source lives, for the org.opencontainers.image.source label."""
    return _git("remote", "get-url", "origin") or "local"


def _git(*args: str) -> str:
    proc = run(["git", *args], cwd=REPO_ROOT, check=False, quiet=True, timeout=10)
    return proc.stdout.strip() if proc.returncode == 0 else ""
