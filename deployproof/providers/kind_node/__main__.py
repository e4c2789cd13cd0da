"""`python -m deployproof.providers.kind_node [--force] [--kubernetes-version 1.36]`: build kind and the node image (both cached)."""

from __future__ import annotations

import argparse
import sys

from ... import versions
from ...errors import DeployProofError
from ...progress import configure_cli_logging, say, step
from . import kindbin, nodeimage


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m deployproof.providers.kind_node", description=__doc__)
    parser.add_argument("--force", action="store_true", help="rebuild the node image even when its content is unchanged")
    parser.add_argument("--kubernetes-version", default=versions.KUBERNETES, type=versions.supported_kubernetes,
                        help=f"the node's Kubernetes: a supported release or minor (default {versions.KUBERNETES})")
    options = parser.parse_args(argv)
    configure_cli_logging()
    timings: dict[str, float] = {}
    try:
        kind = kindbin.ensure_kind(timings)
        with step("kind node image", timings):
            tag = nodeimage.ensure_node_image(force=options.force, timings=timings, kubernetes=options.kubernetes_version)
    except DeployProofError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    say("timings: " + ", ".join(f"{name} {seconds:.1f}s" for name, seconds in timings.items()))
    print(f"kind: {kind}\nnode image: {tag}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
