"""The app's images (todo-backend, todo-frontend, todo-database): which Dockerfile, which base, built how.

Builds go through imagebuild.py (content tags: an unchanged source is not rebuilt); the local
base images they start from come from baseimages.py, or the official ones with `--base official`.

    python -m deployproof.images [--base local|official] [--only NAME] [--force] [--prune] [--env-file .images.env]
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Mapping

from . import versions
from .baseimages import ensure_base_images
from .errors import DeployProofError
# BuildContext and build are also used from here by fixtures/workloads.py (test-only images).
from .imagebuild import DOCKERFILES, REPO_ROOT, BuildContext, ImageRef, build
from .progress import configure_cli_logging, say


@dataclass(frozen=True)
class ImageSpec:
    """One image this project builds: which Dockerfile, which context, which base-image argument."""

    name: str
    repository: str
    dockerfile: Path
    context: Path | None
    base_arg: str
    official_base: str
    extra_args: Mapping[str, str] = field(default_factory=dict)


APP_IMAGES: tuple[ImageSpec, ...] = (
    ImageSpec("backend", "todo-backend", DOCKERFILES / "backend.Dockerfile", REPO_ROOT / "app" / "backend",
              "PYTHON_BASE", versions.PYTHON_OFFICIAL_BASE),
    ImageSpec("frontend", "todo-frontend", DOCKERFILES / "frontend.Dockerfile", REPO_ROOT / "app" / "frontend",
              "NODE_BASE", versions.NODE_OFFICIAL_BASE),
    ImageSpec("database", "todo-database", DOCKERFILES / "database.Dockerfile", None,
              "POSTGRES_BASE", versions.POSTGRES_OFFICIAL_BASE),
)


# The size goals (MB, as `docker image ls` counts: 10^6 bytes) of issue #16; the database's is "no larger".
SIZE_GOAL_MB = {"backend": 120, "frontend": 150}


# ---------------------------------------------------------------------------------------------
# The app's images
# ---------------------------------------------------------------------------------------------

def base_image_args(base: str = "local", *, client=None) -> dict[str, str]:
    """Build args naming the base images: locally built ones (built now if missing) or the official ones."""
    if base == "official":
        return {spec.base_arg: spec.official_base for spec in APP_IMAGES}
    if base != "local":
        raise ValueError(f"base must be 'local' or 'official', not {base!r}")
    return ensure_base_images(client=client)


def build_app_images(
    base: str = "local",
    *,
    only: Iterable[str] | None = None,
    force: bool = False,
    nocache: bool = False,
    client=None,
    timings: dict[str, float] | None = None,
) -> dict[str, ImageRef]:
    """Build todo-backend, todo-frontend and todo-database (those unchanged are skipped)."""
    from .docker_engine import ensure_docker

    client = client or ensure_docker()
    bases = base_image_args(base, client=client)
    wanted = set(only) if only is not None else {spec.name for spec in APP_IMAGES}
    refs: dict[str, ImageRef] = {}
    for spec in APP_IMAGES:
        if spec.name not in wanted:
            continue
        if spec.context is not None and not spec.context.is_dir():
            raise DeployProofError(f"{spec.name}: build context {spec.context} does not exist",
                                   f"check out the app sources under {spec.context.parent}")
        context = BuildContext.from_dir(spec.context, spec.dockerfile)
        args = {spec.base_arg: bases[spec.base_arg], **spec.extra_args}
        refs[spec.name] = build(spec.repository, context, args, client=client, force=force,
                                nocache=nocache, label=spec.name, timings=timings)
    return refs


def sizes_mb(references: Mapping[str, str], *, client) -> dict[str, float]:
    """name → size in MB of each image in the local docker engine (references it does not hold are left out)."""
    from .imagebuild import image_exists

    found = {name: image_exists(client, reference) for name, reference in references.items()}
    return {name: round(image.attrs["Size"] / 1e6, 1) for name, image in found.items()
            if image is not None and image.attrs.get("Size") is not None}


def sizes_summary(sizes: Mapping[str, float]) -> str:
    """`backend=119.7 MB (goal ≤ 120)…`, the line the report's context shows."""
    return ", ".join(f"{name}={mb} MB" + (f" (goal ≤ {SIZE_GOAL_MB[name]})" if name in SIZE_GOAL_MB else "")
                     for name, mb in sorted(sizes.items()))


def prune_stale_images(keep: Mapping[str, ImageRef], *, client) -> list[str]:
    """Remove the older content tags of the app repositories (every tag not in `keep`).

    Each source change leaves its previous image behind; this is the explicit clean-up
    (`--prune`), never automatic: a cluster or compose stack may still run an older tag.
    """
    import docker.errors

    kept = {ref.tag for ref in keep.values()}
    removed: list[str] = []
    for spec in APP_IMAGES:
        for image in client.images.list(name=spec.repository):
            for tag in image.tags:
                if tag.startswith(spec.repository + ":") and tag not in kept:
                    try:
                        client.images.remove(tag)
                        removed.append(tag)
                    except docker.errors.APIError as exc:  # in use by a container: leave it
                        say(f"  kept {tag}: {exc.explanation or exc}")
    if removed:
        say(f"removed {len(removed)} stale image tags: {', '.join(removed)}")
    return removed


def env_lines(refs: Mapping[str, ImageRef]) -> list[str]:
    """`TODO_<NAME>_IMAGE=tag` lines, the variables compose.yaml reads."""
    return [f"TODO_{name.upper()}_IMAGE={ref.tag}" for name, ref in sorted(refs.items())]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m deployproof.images", description=__doc__.split("\n\n")[0])
    parser.add_argument("--base", choices=("local", "official"), default="local",
                        help="base images: built locally from Debian packages (default) or the official ones")
    parser.add_argument("--only", action="append", choices=[spec.name for spec in APP_IMAGES],
                        help="build only this image (repeatable)")
    parser.add_argument("--force", action="store_true", help="rebuild even when the content tag exists")
    parser.add_argument("--prune", action="store_true", help="then remove older content tags of the app images")
    parser.add_argument("--env-file", type=Path, help="write TODO_*_IMAGE=tag lines here (for docker compose --env-file)")
    options = parser.parse_args(argv)
    configure_cli_logging()
    try:
        from .docker_engine import ensure_docker

        client = ensure_docker()
        refs = build_app_images(options.base, only=options.only, force=options.force, client=client)
        if options.prune:
            prune_stale_images(refs, client=client)
    except DeployProofError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    lines = env_lines(refs)
    if options.env_file:
        options.env_file.write_text("\n".join(lines) + "\n")
        say(f"wrote {options.env_file}")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
