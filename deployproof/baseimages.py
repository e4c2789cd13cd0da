"""Base images built with no container registry: Debian packages → debootstrap → `docker import`.

Stand-ins for the official python, node and postgres images on machines that cannot pull (node itself
comes from the pinned PyPI wheel, deployproof/nodejs.py):

1. `debian`   — a minbase rootfs of versions.DEBIAN_SUITE made by debootstrap from the host's own
                Debian mirror, trimmed by dockerfiles/base/rootfs-setup.sh, kept as a tarball under
                cache_dir()/base/<hash>.tar and imported with `docker import`;
2. `python`, `node`, `postgres` — small Dockerfiles in dockerfiles/base/ on top of it.

Every image is tagged by a hash of its recipe (and of its parent's tag), so a re-run with an
unchanged recipe builds nothing, and a changed recipe rebuilds only what depends on it.

    python -m deployproof.baseimages [--force]
"""

from __future__ import annotations

import argparse
import fcntl
import hashlib
import os
import re
import shutil
import sys
import tempfile
from pathlib import Path

from . import paths, versions
from .errors import DeployProofError, PrerequisiteError
from .imagebuild import DOCKERFILES, BuildContext, build, image_exists
from .nodejs import ensure_node
from .progress import configure_cli_logging, say, step
from .runner import run, run_streaming

BASE_DOCKERFILES = DOCKERFILES / "base"
ROOTFS_SETUP = BASE_DOCKERFILES / "rootfs-setup.sh"
# Bump when the rootfs recipe below changes in a way the hashed inputs do not show.
ROOTFS_RECIPE_VERSION = "1"
DEBOOTSTRAP_VARIANT = "minbase"
REPOSITORY_PREFIX = "deployproof-base"
# debootstrap copies the host's sources only when they name this suite; else it keeps its own line.
HOST_SOURCES = Path("/etc/apt/sources.list.d/debian.sources")


def rootfs_recipe_hash() -> str:
    """Hash of everything that decides the rootfs content (the mirror is not: same packages anywhere)."""
    digest = hashlib.sha256()
    for part in (ROOTFS_RECIPE_VERSION, versions.DEBIAN_SUITE, DEBOOTSTRAP_VARIANT, ROOTFS_SETUP.read_text()):
        digest.update(part.encode() + b"\0")
    return digest.hexdigest()[:16]


def debian_mirror() -> str:
    """The Debian mirror this host's apt uses (DEPLOYPROOF_DEBIAN_MIRROR overrides)."""
    if os.environ.get("DEPLOYPROOF_DEBIAN_MIRROR"):
        return os.environ["DEPLOYPROOF_DEBIAN_MIRROR"]
    candidates: list[str] = []
    sources_dir = Path("/etc/apt/sources.list.d")
    for path in sorted(sources_dir.glob("*.sources")) if sources_dir.is_dir() else []:
        for stanza in path.read_text().split("\n\n"):
            fields = dict(re.findall(r"^(\w[\w-]*):\s*(.*)$", stanza, re.M))
            if versions.DEBIAN_SUITE in fields.get("Suites", "").split() and fields.get("Enabled", "yes") != "no":
                candidates += fields.get("URIs", "").split()
    for path in [Path("/etc/apt/sources.list"), *sorted(sources_dir.glob("*.list"))]:
        if path.is_file():
            for match in re.finditer(rf"^deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+{versions.DEBIAN_SUITE}\s", path.read_text(), re.M):
                candidates.append(match.group(1))
    for uri in candidates:
        if not uri.rstrip("/").endswith("-security"):
            return uri
    raise PrerequisiteError(f"no Debian {versions.DEBIAN_SUITE} mirror found in this host's apt sources",
                            "set DEPLOYPROOF_DEBIAN_MIRROR to the URL of a Debian mirror")


def ensure_debian_rootfs(client, *, force: bool = False) -> str:
    """The imported minbase image's tag; debootstraps only when neither the image nor its tarball exists."""
    recipe = rootfs_recipe_hash()
    tag = f"{REPOSITORY_PREFIX}/debian:{versions.DEBIAN_SUITE}-{recipe}"
    if not force and image_exists(client, tag) is not None:
        say(f"✓ debian: {tag} is up to date, not rebuilt")
        return tag
    tarball = paths.cache_dir() / "base" / f"{recipe}.tar"
    tarball.parent.mkdir(parents=True, exist_ok=True)
    # One debootstrap at a time on this machine: CI builds the kind node image while the app images build.
    with tarball.with_suffix(".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not force and image_exists(client, tag) is not None:
            say(f"✓ debian: {tag} was built meanwhile by another process")
            return tag
        if force or not tarball.exists():
            make_rootfs_tarball(tarball)
        with step(f"import {tarball.name} as {tag}"):
            repository, image_tag = tag.split(":")
            client.api.import_image_from_file(
                str(tarball), repository=repository, tag=image_tag,
                changes=["ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", 'CMD ["bash"]'],
            )
    return tag


def make_rootfs_tarball(tarball: Path) -> None:
    """debootstrap a trimmed minbase rootfs and pack it into `tarball` (written atomically)."""
    if os.geteuid() != 0:
        raise PrerequisiteError("debootstrap needs root to build the Debian base rootfs", "run as root (sudo)")
    debootstrap = shutil.which("debootstrap")
    if debootstrap is None:
        raise PrerequisiteError("debootstrap is not installed (needed to build base images locally)",
                                "apt-get install debootstrap")
    mirror = debian_mirror()
    tarball.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="rootfs-", dir=tarball.parent) as workdir:
        rootfs = Path(workdir) / "rootfs"
        with step(f"debootstrap {versions.DEBIAN_SUITE} ({DEBOOTSTRAP_VARIANT})"):
            run_streaming(
                [debootstrap, f"--variant={DEBOOTSTRAP_VARIANT}", "--components=main",
                 versions.DEBIAN_SUITE, rootfs, mirror],
                log_path=paths.cache_dir() / "build-logs" / "debootstrap.log",
                label="debootstrap",
                fix="check that the Debian mirror answers (`apt-get update`) or set DEPLOYPROOF_DEBIAN_MIRROR",
            )
        with step("trim the rootfs (no docs, man pages, locales, apt lists)"):
            _use_host_apt_sources(rootfs)
            shutil.copy(ROOTFS_SETUP, rootfs / "tmp" / "rootfs-setup.sh")
            run(["chroot", rootfs, "/bin/sh", "/tmp/rootfs-setup.sh"])
        with step(f"pack {tarball}"):
            partial = tarball.with_suffix(".tar.partial")
            run(["tar", "--numeric-owner", "-C", rootfs, "--exclude=./dev/*", "--exclude=./proc/*",
                 "--exclude=./sys/*", "-cf", partial, "."])
            partial.replace(tarball)
    say(f"  rootfs tarball: {tarball} ({tarball.stat().st_size / 1e6:.0f} MB)")


def _use_host_apt_sources(rootfs: Path) -> None:
    """Give the image the host's apt sources (updates and security too) and its validity settings."""
    if HOST_SOURCES.is_file() and versions.DEBIAN_SUITE in HOST_SOURCES.read_text():
        target = rootfs / "etc/apt/sources.list.d" / HOST_SOURCES.name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(HOST_SOURCES, target)
        (rootfs / "etc/apt/sources.list").unlink(missing_ok=True)
    # Mirrors that serve a frozen snapshot need this off on the host; the image needs the same.
    dump = run(["apt-config", "dump"], check=False, quiet=True).stdout
    if 'Acquire::Check-Valid-Until "false"' in dump:
        (rootfs / "etc/apt/apt.conf.d/80-deployproof-snapshot").write_text('Acquire::Check-Valid-Until "false";\n')


def wheel_node() -> tuple[Path, Path]:
    """The stripped node binary and npm package folder of the pinned Node.js wheel (deployproof/nodejs.py)."""
    install = ensure_node()
    return install.stripped_node, install.npm_dir


def _tree(root: Path, prefix: str) -> dict[str, Path]:
    files: dict[str, Path] = {}
    for dirpath, _dirs, names in os.walk(root):
        for name in names:
            path = Path(dirpath) / name
            files[f"{prefix}/{path.relative_to(root)}"] = path
    return files


def ensure_base_images(*, client=None, force: bool = False, timings: dict[str, float] | None = None) -> dict[str, str]:
    """Build (or find) the local base images; returns the app Dockerfiles' base build args."""
    from .docker_engine import ensure_docker

    client = client or ensure_docker()
    debian = ensure_debian_rootfs(client, force=force)
    common = {"DEBIAN_BASE": debian}
    node, npm_dir = wheel_node()
    recipes = {
        "PYTHON_BASE": ("python", BuildContext((), (BASE_DOCKERFILES / "python.Dockerfile").read_bytes()),
                        {**common, "DEBIAN_PYTHON": versions.DEBIAN_PYTHON}),
        "NODE_BASE": ("node", BuildContext(tuple(sorted({"node": node, **_tree(npm_dir, "npm")}.items())),
                                           (BASE_DOCKERFILES / "node.Dockerfile").read_bytes()), common),
        "POSTGRES_BASE": ("postgres", BuildContext((("postgres-entrypoint.sh", BASE_DOCKERFILES / "postgres-entrypoint.sh"),),
                                                   (BASE_DOCKERFILES / "postgres.Dockerfile").read_bytes()),
                          {**common, "DEBIAN_POSTGRES": versions.DEBIAN_POSTGRES}),
    }
    tags: dict[str, str] = {}
    for arg, (name, context, buildargs) in recipes.items():
        ref = build(f"{REPOSITORY_PREFIX}/{name}", context, buildargs, client=client, force=force,
                    label=f"base {name}", timings=timings)
        tags[arg] = ref.tag
    return tags


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m deployproof.baseimages", description=__doc__.split("\n\n")[0])
    parser.add_argument("--force", action="store_true", help="rebuild even when the recipe is unchanged")
    options = parser.parse_args(argv)
    configure_cli_logging()
    try:
        with step("local base images"):
            tags = ensure_base_images(force=options.force)
    except DeployProofError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    for arg, tag in tags.items():
        print(f"{arg}={tag}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
