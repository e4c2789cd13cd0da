"""The Helm release of the app: namespace (Pod Security restricted), `helm upgrade --install --wait`, timing.

`install` runs helm in the background and, given a PodWatch, stops it as soon as a pod is in
a state that waiting cannot fix (see podwatch.py), rather than at helm's timeout. The caller
(deploy.py) collects diagnostics before raising.
"""

from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from . import charts, versions
from .errors import DeploymentError
from .kube import helm_args, kubectl_args
from .progress import say, step
from .runner import run, start_background
from .tools import find
from .waits import poll_until

# Values file of the umbrella chart per provider (extra files are layered on top).
VALUES_BY_PROVIDER = {"embedded": "embedded", "kind": "kind", "minikube": "minikube"}
RESTRICTED_LABELS = {
    "pod-security.kubernetes.io/enforce": "restricted",
    "pod-security.kubernetes.io/enforce-version": "latest",
    "pod-security.kubernetes.io/warn": "restricted",
    "pod-security.kubernetes.io/audit": "restricted",
}
HELM_STOP_GRACE_S = 30  # helm marks the release failed when told to stop (SIGTERM); give it time to
# A namespace being deleted (an earlier run's uninstall) refuses new objects until its finalizers are done.
NAMESPACE_GONE_TIMEOUT_S = 300


@dataclass
class Release:
    name: str
    namespace: str
    kubeconfig: Path
    context: str
    values_files: list[Path] = field(default_factory=list)
    set_values: dict[str, str] = field(default_factory=dict)
    helm_s: float = 0.0  # measured: the helm call until every resource was ready
    deploy_s: float = 0.0  # measured: from the start of the run (cluster up included) until all Ready (SC-6)

    def _kubectl(self, *args: str, input: str | None = None, check: bool = True):
        return run([find("kubectl"), *kubectl_args(self.kubeconfig, self.context), *args], input=input, check=check, quiet=True)

    def _helm_base(self) -> list[str]:
        return [str(find("helm")), *helm_args(self.kubeconfig, self.context), "-n", self.namespace]

    def _helm(self, *args: str, timeout: float = 900, check: bool = True):
        return run([*self._helm_base(), *args], timeout=timeout, check=check)

    def ensure_namespace(self) -> None:
        """Create the namespace (Pod Security restricted); one still being deleted is waited out first."""
        if self._namespace_phase() == "Terminating":
            say(f"namespace {self.namespace} is still being deleted (an earlier uninstall): waiting until it is gone")
            self.wait_namespace_gone()
        labels = "\n".join(f"    {k}: {v}" for k, v in RESTRICTED_LABELS.items())
        self._kubectl("apply", "-f", "-", input=f"apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {self.namespace}\n  labels:\n{labels}\n")

    def _namespace_phase(self) -> str:
        """The namespace's phase ("Active", "Terminating"), or "" when there is none."""
        out = self._kubectl("get", "namespace", self.namespace, "--ignore-not-found", "-o", "jsonpath={.status.phase}")
        return out.stdout.strip()

    def wait_namespace_gone(self, timeout_s: float = NAMESPACE_GONE_TIMEOUT_S) -> None:
        def gone() -> tuple[bool, str]:
            phase = self._namespace_phase()
            return phase == "", phase or "gone"

        poll_until(gone, description=f"namespace {self.namespace} to be deleted", timeout=timeout_s, interval=1.0,
                   max_interval=3.0, progress_every=20.0)

    def exists(self) -> bool:
        """Whether a deployed revision of this release is already there (the install is then an upgrade)."""
        out = run([*self._helm_base(), "status", self.name, "-o", "json"], check=False, quiet=True)
        return out.returncode == 0 and '"status":"deployed"' in out.stdout.replace(" ", "")

    def install_command(self, timeout_s: int) -> list[str]:
        args = [*self._helm_base(), "upgrade", "--install", self.name, str(charts.chart_dir(charts.UMBRELLA)),
                "--wait", "--wait-for-jobs", f"--timeout={timeout_s}s"]
        for path in self.values_files:
            args += ["-f", str(path)]
        return args + charts.set_args(self.set_values)

    def install(self, timeout_s: int, watch: Any = None, log_dir: Path | None = None) -> float:
        """helm upgrade --install … --wait; return seconds from here (chart dependencies, namespace) to all ready.

        With `watch` (a podwatch.PodWatch), a permanent pod problem stops helm and raises
        DeploymentError at once. helm's output goes to a log file in `log_dir` (default: a temp folder).
        """
        begun = time.monotonic()
        charts.dependency_build()
        self.ensure_namespace()
        log_dir = log_dir or Path(tempfile.mkdtemp(prefix="deployproof-helm-"))
        log_path = log_dir / f"helm-install-{self.name}.log"
        log_path.unlink(missing_ok=True)
        with step(f"helm upgrade --install {self.name} (namespace {self.namespace}, timeout {timeout_s}s)"):
            helm = start_background(self.install_command(timeout_s), log_path=log_path)
            try:
                self._wait(helm, watch, timeout_s, log_path, begun)
            finally:
                if helm.poll() is None:
                    _stop(helm)
        return round(time.monotonic() - begun, 1)

    def _wait(self, helm, watch: Any, timeout_s: int, log_path: Path, begun: float) -> None:
        def check() -> tuple[bool, Any]:
            code = helm.poll()
            if code is not None:
                return True, ("helm", code)
            if watch is None:
                return False, "helm running"
            problem, seen = watch.check()
            return (problem is not None), (("pod", problem) if problem else f"helm running; {seen}")

        # helm enforces its own timeout; the margin only covers a helm that hangs past it.
        kind, result = poll_until(check, description=f"release {self.name} to be ready", timeout=timeout_s + 60,
                                  interval=1.0, max_interval=2.0, progress_every=30.0)
        if kind == "pod":
            say(f"✗ {result.describe()}: stopping helm after {time.monotonic() - begun:.0f}s instead of waiting out {timeout_s}s")
            _stop(helm)
            raise DeploymentError(f"release {self.name} cannot become ready: {result.describe()}", result.fix)
        if result != 0:
            output = log_path.read_text(errors="replace") if log_path.exists() else ""
            raise DeploymentError(f"helm upgrade --install {self.name} failed (exit {result}):\n{_last_lines(output)}",
                                  "read helm's message above and the diagnostics folder (events, pod logs)")

    def test(self, timeout_s: int = 300) -> str:
        return self._helm("test", self.name, f"--timeout={timeout_s}s", "--logs", timeout=timeout_s + 30).stdout

    def uninstall(self, wait_namespace: bool = False) -> None:
        """helm uninstall, then delete the namespace; with `wait_namespace`, return only once it is gone (the next
        install would otherwise wait for it)."""
        say(f"uninstalling release {self.name} and namespace {self.namespace}")
        self._helm("uninstall", self.name, "--wait", "--ignore-not-found")
        self._kubectl("delete", "namespace", self.namespace, "--wait=false", "--ignore-not-found", check=False)
        if wait_namespace:
            with step(f"namespace {self.namespace} deleted"):
                self.wait_namespace_gone()


def _stop(process) -> None:
    """Ask helm to stop (it then records the release as failed, not pending); kill it if it does not."""
    process.terminate()
    try:
        process.wait(HELM_STOP_GRACE_S)
    except Exception:  # noqa: BLE001 - subprocess.TimeoutExpired: it did not listen
        process.kill()
        process.wait()


def _last_lines(text: str, count: int = 30) -> str:
    return "\n".join(text.strip().splitlines()[-count:])


def browser_origin_values(app_url: str | None, node_origins: list[str], values_files: list[Path]) -> dict[str, str]:
    """--set values so that the frontend's Better Auth accepts sign-ups (it checks the Origin) from where the host
    reaches the app: `app_url` (--app-url) becomes its public URL; `node_origins` (an existing cluster's nodes, any
    of which may serve the NodePort) join the trusted origins the values already give."""
    values: dict[str, str] = {}
    if app_url:
        values["frontend.betterAuth.url"] = app_url
    if node_origins:
        given = charts.release_value(values_files, "frontend.betterAuth.trustedOrigins") or ""
        origins = [origin.strip() for origin in str(given).split(",") if origin.strip()]
        values["frontend.betterAuth.trustedOrigins"] = ",".join(dict.fromkeys(origins + node_origins))
    return values


def wanted_frontend_node_port(values_files: list[Path]) -> int:
    """The frontend NodePort the values ask for (the live Service is what counts once installed)."""
    return int(charts.release_value(values_files, "frontend.service.nodePort") or versions.FRONTEND_NODE_PORT)


def image_values(images: Mapping[str, str]) -> dict[str, str]:
    """--set values pointing each subchart at its image: `repository:tag`, or by digest (`repository[:tag]@sha256:…`,
    the form a registry push gives): the chart then pulls repository@digest and the tag, when given, labels the version."""
    values = {}
    for name, reference in images.items():
        reference, _, digest = reference.partition("@")
        last = reference.rsplit("/", 1)[-1]
        repository, tag = reference.rsplit(":", 1) if ":" in last else (reference, "")
        values[f"{name}.image.repository"] = repository
        if tag or not digest:
            values[f"{name}.image.tag"] = tag
        if digest:
            values[f"{name}.image.digest"] = digest
    return values


def pull_secret_values(secret: str, charts_: tuple[str, ...] = charts.APP_CHARTS) -> dict[str, str]:
    """--set values giving every app chart's pods (the umbrella's test pod takes the backend's) the imagePullSecret."""
    return {f"{chart}.imagePullSecrets[0]": secret for chart in charts_}
