"""The Helm release of the app: namespace (Pod Security restricted), `helm upgrade --install --wait`, timing.

On failure the caller collects diagnostics first, then raises (see fixtures/release.py).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

from . import charts
from .progress import say, step
from .runner import run
from .tools import find

# Values file of the umbrella chart per provider (extra files are layered on top).
VALUES_BY_PROVIDER = {"embedded": "embedded", "kind": "kind", "minikube": "minikube"}
RESTRICTED_LABELS = {
    "pod-security.kubernetes.io/enforce": "restricted",
    "pod-security.kubernetes.io/enforce-version": "latest",
    "pod-security.kubernetes.io/warn": "restricted",
    "pod-security.kubernetes.io/audit": "restricted",
}


@dataclass
class Release:
    name: str
    namespace: str
    kubeconfig: Path
    context: str
    values_files: list[Path] = field(default_factory=list)
    set_values: dict[str, str] = field(default_factory=dict)
    helm_s: float = 0.0  # measured: the helm call until every resource was ready
    deploy_s: float = 0.0  # measured: build + load + install until all Ready (SC-6)

    def _kubectl(self, *args: str, input: str | None = None, check: bool = True):
        return run([find("kubectl"), "--kubeconfig", self.kubeconfig, "--context", self.context, *args], input=input, check=check, quiet=True)

    def _helm(self, *args: str, timeout: float = 900):
        return run([charts.helm_binary(), "--kubeconfig", self.kubeconfig, "--kube-context", self.context, "-n", self.namespace, *args],
                   timeout=timeout)

    def ensure_namespace(self) -> None:
        labels = "\n".join(f"    {k}: {v}" for k, v in RESTRICTED_LABELS.items())
        self._kubectl("apply", "-f", "-", input=f"apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {self.namespace}\n  labels:\n{labels}\n")

    def install(self, timeout_s: int) -> float:
        """helm upgrade --install … --wait; return seconds from the helm call to all resources ready."""
        charts.dependency_build()
        self.ensure_namespace()
        args = ["upgrade", "--install", self.name, str(charts.chart_dir(charts.UMBRELLA)), "--wait", "--wait-for-jobs",
                f"--timeout={timeout_s}s"]
        for path in self.values_files:
            args += ["-f", str(path)]
        for key, value in self.set_values.items():
            args += ["--set", f"{key}={value}"]
        begun = time.monotonic()
        with step(f"helm upgrade --install {self.name} (namespace {self.namespace}, timeout {timeout_s}s)"):
            self._helm(*args, timeout=timeout_s + 60)
        return round(time.monotonic() - begun, 1)

    def test(self, timeout_s: int = 300) -> str:
        return self._helm("test", self.name, f"--timeout={timeout_s}s", "--logs", timeout=timeout_s + 30).stdout

    def uninstall(self) -> None:
        say(f"uninstalling release {self.name} and namespace {self.namespace}")
        self._helm("uninstall", self.name, "--wait", "--ignore-not-found")
        self._kubectl("delete", "namespace", self.namespace, "--wait=false", "--ignore-not-found", check=False)


def image_values(images: Mapping[str, str]) -> dict[str, str]:
    """--set values pointing each subchart at its freshly built image (`repository:tag`)."""
    values = {}
    for name, reference in images.items():
        repository, tag = reference.rsplit(":", 1)
        values[f"{name}.image.repository"] = repository
        values[f"{name}.image.tag"] = tag
    return values
