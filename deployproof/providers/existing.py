"""The existing provider: a kubeconfig context given by name, never created or deleted by us."""

from __future__ import annotations

from pathlib import Path

import yaml

from ..errors import PrerequisiteError
from ..progress import say
from .base import ClusterInfo, Provider


class ExistingProvider(Provider):
    name = "existing"

    def __init__(self, kubeconfig: Path, context: str | None = None, node_address: str = "127.0.0.1") -> None:
        self._kubeconfig = Path(kubeconfig).expanduser()
        if not self._kubeconfig.is_file():
            raise PrerequisiteError(f"kubeconfig {self._kubeconfig} does not exist",
                                    "pass --kubeconfig PATH (or KUBECONFIG) pointing at your cluster's kubeconfig")
        try:
            config = yaml.safe_load(self._kubeconfig.read_text()) or {}
        except yaml.YAMLError as exc:
            raise PrerequisiteError(f"kubeconfig {self._kubeconfig} is not valid YAML: {exc}", "fix or regenerate the kubeconfig") from exc
        contexts = [c.get("name") for c in config.get("contexts") or [] if isinstance(c, dict)]
        chosen = context or config.get("current-context")
        if not chosen or chosen not in contexts:
            raise PrerequisiteError(
                f"context {chosen!r} is not in {self._kubeconfig} (contexts there: {', '.join(map(str, contexts)) or 'none'})",
                "pass --kube-context NAME with one of those contexts",
            )
        self._context = chosen
        self.node_address = node_address

    def up(self) -> dict[str, float]:
        say(f"using existing cluster: context {self._context} in {self._kubeconfig} (never created or deleted by us)")
        return {}

    def down(self) -> list[str]:
        say("existing cluster left as it is (the existing provider never deletes a cluster)")
        return []

    def kubeconfig(self) -> Path:
        return self._kubeconfig

    def context(self) -> str:
        return self._context

    def load_images(self, tags: list[str]) -> None:
        raise PrerequisiteError(
            "an existing cluster cannot receive locally built images without a registry",
            "push the images to a registry your cluster pulls from and pass --skip-image-build with their tags",
        )

    def node_port_url(self, node_port: int) -> str:
        return f"http://{self.node_address}:{node_port}"

    def collect_diagnostics(self, folder: Path) -> list[str]:
        return []  # the namespace-level diagnostics (pods, events) cover an existing cluster

    def describe(self) -> ClusterInfo:
        return ClusterInfo(self.name, self.kubeconfig(), self.context(), {})
