"""The one toolchain finder for the CLI tools the suite drives (kubectl, helm, ctr, …).

On PATH first (what the user installed), else the binary the embedded build left in the build
cache. Only this lookup may use the cache: the provider choice (`auto`) looks at PATH alone.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from .errors import PrerequisiteError


def find(name: str) -> Path:
    """Path of tool `name`; PrerequisiteError naming how to get it when it is neither on PATH nor built."""
    found = shutil.which(name)
    if found:
        return Path(found)
    if name == "minikube":  # built by its own module (minikube_node/minikubebin), not by the embedded build
        from .providers.minikube_node import minikubebin

        built = minikubebin.minikube_binary()
        if built.exists() and minikubebin.is_built():
            return built
        raise PrerequisiteError("minikube is not on PATH and not built yet",
                                "install minikube, or run `python -m deployproof.providers.minikube_node` (builds it from the Go module proxy)")
    try:
        from .providers.embedded import build

        built = build.binary(name)
    except Exception as exc:  # noqa: BLE001 - e.g. no Go toolchain: the build location cannot be named
        raise PrerequisiteError(f"{name} is not on PATH ({exc})", f"install {name}, or run `deployproof build-cluster`") from exc
    if built.exists() and (built.parent / ".complete").exists():
        return built
    raise PrerequisiteError(f"{name} is not on PATH and not built yet",
                            f"install {name}, or run `deployproof build-cluster` (builds it from source into the cache)")
