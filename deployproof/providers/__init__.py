"""Cluster providers behind one interface, and the choice among them.

Choice: an explicit name wins; `auto` = minikube if installed, else kind, else
embedded. `existing` is used only when named, never guessed.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from ..errors import PrerequisiteError
from .base import ClusterInfo, Provider

NAMES = ("auto", "embedded", "minikube", "kind", "existing")


def resolve_name(name: str) -> str:
    if name not in NAMES:
        raise PrerequisiteError(f"unknown cluster provider {name!r}", f"choose one of: {', '.join(NAMES)}")
    if name != "auto":
        return name
    if shutil.which("minikube"):
        return "minikube"
    if shutil.which("kind"):
        return "kind"
    return "embedded"


def get_provider(name: str = "auto", *, kubeconfig: str | os.PathLike[str] | None = None, context: str | None = None) -> Provider:
    resolved = resolve_name(name)
    if resolved == "embedded":
        from .embedded.provider import EmbeddedProvider

        return EmbeddedProvider()
    if resolved == "minikube":
        from .minikube import MinikubeProvider

        return MinikubeProvider()
    if resolved == "kind":
        from .kind import KindProvider

        return KindProvider()
    from .existing import ExistingProvider

    path = kubeconfig or os.environ.get("KUBECONFIG")
    if not path:
        raise PrerequisiteError("the existing provider needs a kubeconfig", "pass --kubeconfig PATH (or set KUBECONFIG) and --kube-context NAME")
    return ExistingProvider(Path(path), context)


__all__ = ["NAMES", "ClusterInfo", "Provider", "get_provider", "resolve_name"]
