"""The minikube provider: the plan's target on a developer laptop, driven through the minikube CLI."""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

from .. import versions
from ..errors import PrerequisiteError
from ..paths import state_dir
from ..runner import run
from .base import ClusterInfo, Provider


@dataclass(frozen=True)
class MinikubeSettings:
    profile: str = "deployproof"
    cpus: int = 4  # the plan's resources
    memory: str = "8192mb"
    driver: str | None = None  # minikube's own default when unset
    kubernetes_version: str = versions.KUBERNETES
    addons: tuple[str, ...] = ("metrics-server",)


class MinikubeProvider(Provider):
    name = "minikube"

    def __init__(self, settings: MinikubeSettings | None = None) -> None:
        self.settings = settings or MinikubeSettings()
        found = shutil.which("minikube")
        if not found:
            raise PrerequisiteError("`minikube` is not installed (needed by the minikube provider)",
                                    "install it from your package manager, or use --cluster-provider=kind|embedded")
        self.binary = found
        self._kubeconfig = state_dir() / "minikube" / f"{self.settings.profile}.kubeconfig"

    def _run(self, *args: str, check: bool = True):
        # minikube writes its context into KUBECONFIG: keep it in a file of ours, not ~/.kube/config.
        return run([self.binary, "-p", self.settings.profile, *args], env={"KUBECONFIG": str(self._kubeconfig)}, check=check)

    def start_command(self) -> list[str]:
        s = self.settings
        cmd = ["start", f"--cpus={s.cpus}", f"--memory={s.memory}", f"--kubernetes-version={s.kubernetes_version}"]
        if s.driver:
            cmd.append(f"--driver={s.driver}")
        cmd += [f"--addons={addon}" for addon in s.addons]
        return cmd

    def is_running(self) -> bool:
        out = self._run("status", "-o", "json", check=False)
        try:
            return json.loads(out.stdout).get("Host") == "Running" and json.loads(out.stdout).get("APIServer") == "Running"
        except (json.JSONDecodeError, AttributeError):
            return False

    def up(self) -> dict[str, float]:
        self._kubeconfig.parent.mkdir(parents=True, exist_ok=True)
        if self.is_running():
            self._run("update-context")
        else:
            self._run(*self.start_command())
        for addon in self.settings.addons:
            self._run("addons", "enable", addon)
        return {}

    def down(self) -> list[str]:
        out = self._run("delete", check=False)
        return [] if out.returncode == 0 else [out.stderr.strip()[-300:]]

    def kubeconfig(self) -> Path:
        return self._kubeconfig

    def context(self) -> str:
        return self.settings.profile

    def load_images(self, tags: list[str]) -> None:
        for tag in tags:
            self._run("image", "load", tag)

    def node_port_url(self, node_port: int) -> str:
        ip = self._run("ip").stdout.strip()
        return f"http://{ip}:{node_port}"

    def own_addresses(self) -> list[str]:
        # The profile's node, a VM or container minikube started for this suite (`minikube ip`).
        out = self._run("ip", check=False)
        return [out.stdout.strip()] if out.returncode == 0 and out.stdout.strip() else []

    def collect_diagnostics(self, folder: Path) -> list[str]:
        folder.mkdir(parents=True, exist_ok=True)
        out = self._run("logs", f"--file={folder / 'minikube.log'}", check=False)
        return [] if out.returncode == 0 else [f"minikube logs: {out.stderr.strip()[-300:]}"]

    def describe(self) -> ClusterInfo:
        s = self.settings
        return ClusterInfo(self.name, self.kubeconfig(), self.context(),
                           {"profile": s.profile, "cpus": str(s.cpus), "memory": s.memory, "kubernetes": s.kubernetes_version})
