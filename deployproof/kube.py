"""Kubernetes API clients for one cluster, built from an explicit kubeconfig and context (never the environment).

`KubeClients.connect(kubeconfig, context)` is what the library and the tests use (`k8s.core`,
`k8s.apps`, …). `kubectl_args` and `helm_args` are the one place kubectl and helm get the same two, so
`--kube-context` is honoured by every call rather than a kubeconfig's current context. `pinned_kubeconfig`
writes a copy of a kubeconfig whose current-context is the chosen one, for tools that only honour a file's
current context (pytest-helm-charts' ExistingCluster, kubectl-ai).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from .errors import PrerequisiteError

# Fields of a kubeconfig that name files; relative ones are relative to the kubeconfig's folder.
_FILE_FIELDS = {
    "clusters": ("cluster", ("certificate-authority",)),
    "users": ("user", ("client-certificate", "client-key", "tokenFile")),
}


def kubectl_args(kubeconfig: str | os.PathLike[str], context: str) -> list[str]:
    """kubectl's options naming the cluster: both always, so neither KUBECONFIG nor a current-context decides."""
    return ["--kubeconfig", str(kubeconfig), "--context", context]


def helm_args(kubeconfig: str | os.PathLike[str], context: str) -> list[str]:
    """helm's options naming the cluster (helm spells the context `--kube-context`)."""
    return ["--kubeconfig", str(kubeconfig), "--kube-context", context]


@dataclass(frozen=True)
class KubeClients:
    """The typed kubernetes-client APIs of one cluster, sharing one ApiClient."""

    kubeconfig: Path
    context: str
    api_client: Any  # kubernetes.client.ApiClient
    core: Any  # CoreV1Api
    apps: Any  # AppsV1Api
    autoscaling: Any  # AutoscalingV2Api
    batch: Any  # BatchV1Api
    custom: Any  # CustomObjectsApi
    version: Any  # VersionApi

    @classmethod
    def connect(cls, kubeconfig: str | os.PathLike[str], context: str) -> KubeClients:
        from kubernetes import client, config

        path = Path(kubeconfig)
        if not path.is_file():
            raise PrerequisiteError(f"kubeconfig {path} does not exist", "bring the cluster up (deployproof cluster up) or pass --kubeconfig")
        try:
            api_client = config.new_client_from_config(config_file=str(path), context=context)
        except config.ConfigException as exc:
            raise PrerequisiteError(f"cannot use context {context!r} of {path}: {exc}",
                                    "pass --kube-context with a context of that kubeconfig") from exc
        return cls(
            kubeconfig=path,
            context=context,
            api_client=api_client,
            core=client.CoreV1Api(api_client),
            apps=client.AppsV1Api(api_client),
            autoscaling=client.AutoscalingV2Api(api_client),
            batch=client.BatchV1Api(api_client),
            custom=client.CustomObjectsApi(api_client),
            version=client.VersionApi(api_client),
        )

    def close(self) -> None:
        self.api_client.close()


def pinned_kubeconfig(kubeconfig: str | os.PathLike[str], context: str, target: str | os.PathLike[str]) -> Path:
    """Write `target`: only `context` of `kubeconfig` (with its cluster and user), as the current context.

    Relative certificate paths are made absolute, so the copy works from any folder.
    """
    source = Path(kubeconfig)
    config = yaml.safe_load(source.read_text()) or {}
    contexts = {c.get("name"): c for c in config.get("contexts") or [] if isinstance(c, dict)}
    if context not in contexts:
        raise PrerequisiteError(f"context {context!r} is not in {source} (contexts there: {', '.join(map(str, contexts)) or 'none'})",
                                "pass --kube-context with one of those contexts")
    chosen = contexts[context].get("context") or {}
    pinned: dict[str, Any] = {"apiVersion": "v1", "kind": "Config", "preferences": {}, "current-context": context,
                              "contexts": [contexts[context]]}
    for section, (inner, file_fields) in _FILE_FIELDS.items():
        wanted = chosen.get("cluster" if section == "clusters" else "user")
        entries = [dict(e) for e in config.get(section) or [] if isinstance(e, dict) and e.get("name") == wanted]
        for entry in entries:
            body = dict(entry.get(inner) or {})
            for name in file_fields:
                if body.get(name) and not os.path.isabs(body[name]):
                    body[name] = str((source.parent / body[name]).resolve())
            entry[inner] = body
        pinned[section] = entries
    path = Path(target)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(pinned, sort_keys=False))
    path.chmod(0o600)
    return path
