"""Cluster providers behind one interface, and the choice among them.

Choice: an explicit name wins; `auto` = minikube if on PATH, else kind if on PATH, else
embedded. Only PATH counts (what the user installed): binaries in our own build cache never
change the choice. `existing` is used only when named, never guessed. The kubeconfig and
context come from the Settings (or the arguments), never from the process environment.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

from .. import versions
from ..errors import PrerequisiteError
from .base import ClusterInfo, Provider

if TYPE_CHECKING:
    from ..settings import Settings

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


def get_provider(choice: Settings | str = "auto", *, kubeconfig: str | os.PathLike[str] | None = None,
                 context: str | None = None) -> Provider:
    """The provider named by `choice` (a Settings, or a provider name with `kubeconfig`/`context`).

    With Settings, the embedded, kind and minikube providers run settings.kubernetes_version (default: the newest
    supported), so a run proves the release it names — a running cluster of another release is replaced.
    A bare name (`deployproof cluster down`) takes whatever release runs.
    """
    kubernetes_version, kind_nodes, registry, registry_ca, minikube_offline, minikube_app_access = None, 1, None, None, False, "auto"
    if not isinstance(choice, str):
        kubernetes_version, kind_nodes = choice.kubernetes_version, choice.kind_nodes
        registry, registry_ca = choice.image_registry, choice.image_registry_ca
        minikube_offline, minikube_app_access = choice.minikube_offline, choice.minikube_app_access
        choice, kubeconfig, context = choice.cluster_provider, choice.kubeconfig, choice.kube_context
    resolved = resolve_name(choice)
    if resolved == "embedded":
        from .embedded.provider import EmbeddedProvider

        return EmbeddedProvider(kubernetes_version=kubernetes_version)
    if resolved == "minikube":
        from .minikube import MinikubeProvider, MinikubeSettings

        return MinikubeProvider(MinikubeSettings(kubernetes_version=kubernetes_version or versions.KUBERNETES, offline=minikube_offline,
                                                 app_access=minikube_app_access))
    if resolved == "kind":
        from .kind import KindProvider

        # With --image-registry the cluster it creates pulls from there (containerd hosts config, the CA).
        return KindProvider(nodes=kind_nodes, kubernetes_version=kubernetes_version, registry=registry, registry_ca=registry_ca)
    from .existing import ExistingProvider

    path = kubeconfig
    if not path:
        raise PrerequisiteError("the existing provider needs a kubeconfig", "pass --kubeconfig PATH (or set KUBECONFIG) and --kube-context NAME")
    return ExistingProvider(Path(path), context)





def running_before_up(provider: Provider) -> bool | None:
    """Whether `provider`'s cluster already runs (so `up` would reuse it); None when the provider cannot tell.

    Asked just before `up`: a cluster that was running is not ours to tear down afterwards.
    """
    try:
        if provider.name == "existing":
            return True
        if provider.name == "embedded":
            cluster = provider.cluster  # type: ignore[attr-defined]
            if not cluster.layout.root.exists():
                return False
            # up() reuses only a healthy cluster of the wanted release; anything else it replaces (then it is ours).
            if hasattr(cluster, "reuse_problem"):
                return cluster.reuse_problem(cluster.wanted_version) is None
            return cluster.health_problem() is None
        if provider.name == "minikube":
            return provider.is_running()  # type: ignore[attr-defined]
        if provider.name == "kind":
            return provider.exists()  # type: ignore[attr-defined]
    except Exception:  # noqa: BLE001 - cannot tell: the caller then treats the cluster as not ours
        return None
    return None
__all__ = ["NAMES", "ClusterInfo", "Provider", "get_provider", "resolve_name", "running_before_up"]
