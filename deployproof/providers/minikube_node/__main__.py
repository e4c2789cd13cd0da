"""`python -m deployproof.providers.minikube_node [--force] [--kubernetes-version 1.36]`: build minikube, its node
image and fill its offline cache (each cached); prints what `minikube start` needs to run by hand."""

from __future__ import annotations

import argparse
import sys

from ... import versions
from ...errors import DeployProofError
from ...progress import configure_cli_logging, say, step
from . import minikubebin, offline


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m deployproof.providers.minikube_node", description=__doc__)
    parser.add_argument("--force", action="store_true", help="rebuild the node image even when its content is unchanged")
    parser.add_argument("--kubernetes-version", default=versions.KUBERNETES, type=versions.supported_kubernetes,
                        help=f"the Kubernetes release to cache: a supported release or minor (default {versions.KUBERNETES})")
    options = parser.parse_args(argv)
    configure_cli_logging()
    timings: dict[str, float] = {}
    try:
        minikube = minikubebin.ensure_minikube(timings)
        with step("minikube node image", timings):
            tag = offline.ensure_node_image(force=options.force, timings=timings)
        with step(f"minikube offline cache (Kubernetes {options.kubernetes_version})", timings):
            offline.ensure_cache(options.kubernetes_version, timings=timings)
    except DeployProofError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    say("timings: " + ", ".join(f"{name} {seconds:.1f}s" for name, seconds in timings.items()))
    print(f"minikube: {minikube}\nnode image: {tag}\nMINIKUBE_HOME={offline.minikube_home()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
