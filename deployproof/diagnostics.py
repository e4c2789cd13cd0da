"""Diagnostics of a failed run, collected into one folder before anything is torn down.

Best effort and exhaustive (kind's log export is the model): every part that fails is
noted in problems.txt and the rest is still collected.
Layout: <folder>/<namespace>/{pods.txt, events.txt, describe/, logs/<pod>.<container>[.previous].log},
<folder>/helm/{status.txt, values.yaml}, <folder>/nodes.txt, <folder>/provider/…
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Iterable

from .kube import helm_args, kubectl_args
from .progress import say
from .runner import run
from .tools import find


class Collector:
    def __init__(self, kubeconfig: Path, context: str, folder: Path) -> None:
        self.kubeconfig, self.context, self.folder = kubeconfig, context, folder
        self.problems: list[str] = []

    def kubectl(self, *args: str) -> str:
        out = run([find("kubectl"), *kubectl_args(self.kubeconfig, self.context), *args], check=False, quiet=True)
        if out.returncode != 0:
            self.problems.append(f"kubectl {' '.join(args)}: {out.stderr.strip()[-200:]}")
        return out.stdout

    def write(self, relative: str, text: str) -> None:
        path = self.folder / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)

    def namespace(self, namespace: str) -> None:
        self.write(f"{namespace}/pods.txt", self.kubectl("-n", namespace, "get", "pods,deploy,sts,svc,hpa,pvc,jobs", "-o", "wide"))
        events = self.kubectl("-n", namespace, "get", "events", "--sort-by=.lastTimestamp")
        self.write(f"{namespace}/events.txt", events)
        pods = json.loads(self.kubectl("-n", namespace, "get", "pods", "-o", "json") or '{"items": []}')["items"]
        for pod in pods:
            name = pod["metadata"]["name"]
            statuses = pod.get("status", {}).get("containerStatuses", []) + pod.get("status", {}).get("initContainerStatuses", [])
            unhealthy = any(not s.get("ready") or s.get("restartCount", 0) for s in statuses) or pod["status"].get("phase") != "Running"
            if unhealthy:
                self.write(f"{namespace}/describe/pod-{name}.txt", self.kubectl("-n", namespace, "describe", "pod", name))
            for status in statuses:
                container = status["name"]
                self.write(f"{namespace}/logs/{name}.{container}.log", self.kubectl("-n", namespace, "logs", name, "-c", container, "--tail=2000"))
                if status.get("restartCount", 0):
                    self.write(f"{namespace}/logs/{name}.{container}.previous.log",
                               self.kubectl("-n", namespace, "logs", name, "-c", container, "--previous", "--tail=2000"))
        for kind in ("deploy", "sts", "hpa"):
            self.write(f"{namespace}/describe/{kind}.txt", self.kubectl("-n", namespace, "describe", kind))

    def helm(self, release: str, namespace: str) -> None:
        try:
            helm = find("helm")
        except Exception as exc:  # noqa: BLE001
            self.problems.append(f"helm: {exc}")
            return
        base = [helm, *helm_args(self.kubeconfig, self.context), "-n", namespace]
        for name, args in (("status.txt", ["status", release]), ("values.yaml", ["get", "values", release, "--all"]), ("history.txt", ["history", release])):
            out = run([*base, *args], check=False, quiet=True)
            self.write(f"helm/{name}", out.stdout + out.stderr)

    def nodes(self) -> None:
        self.write("nodes.txt", self.kubectl("describe", "nodes"))


def collect(provider, namespaces: Iterable[str], *, folder: Path, release: str | None = None, reason: str = "") -> Path:
    """Collect everything into `folder/<timestamp>`; print and return its path."""
    target = folder / time.strftime("%Y%m%d-%H%M%S")
    target.mkdir(parents=True, exist_ok=True)
    collector = Collector(provider.kubeconfig(), provider.context(), target)
    if reason:
        collector.write("reason.txt", reason + "\n")
    steps = [("nodes", collector.nodes)]
    steps += [(f"namespace {ns}", lambda ns=ns: collector.namespace(ns)) for ns in namespaces]
    if release:
        steps.append(("helm", lambda: collector.helm(release, next(iter(namespaces)))))
    steps.append(("provider logs", lambda: collector.problems.extend(provider.collect_diagnostics(target / "provider"))))
    for name, action in steps:
        try:
            action()
        except Exception as exc:  # noqa: BLE001 - gather everything we can
            collector.problems.append(f"{name}: {exc}")
    if collector.problems:
        collector.write("problems.txt", "\n".join(collector.problems) + "\n")
    _first_reading(target)
    say(f"diagnostics collected in {target.resolve()}")
    return target


def _first_reading(target: Path) -> None:
    """Summarize the folder (which pod, which reason, likely fix) into diagnosis.txt and print its top lines."""
    from .aiops.diagnose import diagnose

    try:
        summary = diagnose(target).summary()
    except Exception as exc:  # noqa: BLE001 - the raw folder is still there to read
        summary = f"diagnosis could not read the folder: {exc}"
    (target / "diagnosis.txt").write_text(summary + "\n")
    lines = summary.splitlines()
    say("diagnosis (first reading):\n  " + "\n  ".join(lines[:12]) + ("\n  …" if len(lines) > 12 else ""))
