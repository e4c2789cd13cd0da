"""What a bring-up or tear-down step is given: the cluster's files, its network, the timings, and how to act.

Like kind's ActionContext, a step sees this narrow context rather than the cluster object, so the
steps (steps.py, storage.py, teardown.py) never import the cluster (cluster.py) back. Progress goes
through `progress.say`/`step` (each module logs as `deployproof.providers.embedded.<module>`).
"""

from __future__ import annotations

import ssl
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from ... import versions
from ...errors import DeployProofError
from ...kube import kubectl_args
from ...runner import run
from ...waits import poll_until
from . import build, processes
from .configs import CONTEXT
from .layout import Layout, Network


class Placed(Protocol):
    """Anything that knows where a cluster's files are and which network it uses (a StepContext, the cluster)."""

    @property
    def layout(self) -> Layout: ...

    @property
    def net(self) -> Network: ...


@dataclass
class StepContext:
    layout: Layout
    net: Network
    timings: dict[str, float] = field(default_factory=dict)  # seconds per step, shared with the cluster
    kubernetes_version: str = versions.KUBERNETES  # the release this cluster runs (its binaries, its kubelet config)

    def bin(self, name: str) -> str:
        """Path of one of the cluster's built binaries (kubectl, etcd, containerd, …), Kubernetes at our version."""
        return str(build.binary(name, self.kubernetes_version))

    def start(self, component: str, argv: list[str], env: dict[str, str] | None = None) -> None:
        """Start a component as a child process with its own log, recording its PID."""
        processes.start(self.layout, component, argv, env)

    def wait_https(self, component: str, url: str, timeout: float = 90) -> None:
        """Wait until `url` answers 200 over TLS with the admin certificate, failing fast if `component` died."""
        context = ssl.create_default_context(cafile=str(self.layout.pki / "ca.crt"))
        context.load_cert_chain(str(self.layout.pki / "admin.crt"), str(self.layout.pki / "admin.key"))
        context.check_hostname = False

        def check() -> tuple[bool, str]:
            self.assert_alive(component)
            with urllib.request.urlopen(url, context=context, timeout=5) as response:
                body = response.read().decode(errors="replace")
                return response.status == 200, f"{response.status} {body[:200]}"

        poll_until(check, description=f"{component} at {url}", timeout=timeout)

    def assert_alive(self, component: str) -> None:
        """Raise with the end of the component's log when it exited during start-up."""
        pid, binary = processes.recorded(self.layout)[component]
        if not processes.is_running(pid, binary):
            tail = _tail(self.layout.log_file(component))
            raise DeployProofError(f"{component} exited during start-up; last log lines:\n{tail}",
                                   f"read {self.layout.log_file(component)}")

    def kubectl(self, *args: str, input: str | None = None, check: bool = True):
        """Run our kubectl with the admin kubeconfig (quietly: its output is the result)."""
        return run([self.bin("kubectl"), *kubectl_args(self.layout.kubeconfig, CONTEXT), *args], input=input, check=check, quiet=True)


def _tail(path: Path, lines: int = 25) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"
