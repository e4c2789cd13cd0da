"""The embedded cluster: bring-up as an ordered list of named steps, and a tear-down that leaves nothing.

Read `steps.BRING_UP` top to bottom to see how a node comes to life; each step is a
small function of a StepContext (the cluster's files, network and timings). Tear-down
(teardown.py) stops exactly the PIDs recorded at start, removes pod sandboxes (CNI
releases veths and network namespaces), then mounts, iptables chains, the bridge and
the state directory, and puts back every host setting it changed.

A cluster runs one Kubernetes release (`kubernetes_version`, one of versions.SUPPORTED_KUBERNETES),
recorded in cluster.json before the first step: a running cluster of another release is not
reused, and tear-down stops it with the binaries of the release it runs.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field

from ... import versions
from ...errors import UsageError
from ...progress import say, step
from . import processes, storage, teardown
from .context import StepContext
from .layout import Layout, Network
from .steps import BRING_UP, check_root

# Components in start order; tear-down stops them in reverse.
COMPONENTS = ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "containerd", "kubelet", "kube-proxy",
              "netpol-table-guard")


@dataclass
class EmbeddedCluster:
    layout: Layout = field(default_factory=Layout.default)
    net: Network = field(default_factory=Network)
    timings: dict[str, float] = field(default_factory=dict)
    # The release to run. None: whichever supported release already runs healthy, else the default.
    kubernetes_version: str | None = versions.KUBERNETES

    def __post_init__(self) -> None:
        if self.kubernetes_version is not None and self.kubernetes_version not in versions.SUPPORTED_KUBERNETES:
            raise UsageError(f"Kubernetes {self.kubernetes_version} is not supported by the embedded cluster",
                             f"choose one of {', '.join(versions.SUPPORTED_KUBERNETES)} (--kubernetes-version)")

    @property
    def wanted_version(self) -> str:
        """The release `up` brings up (or reuses)."""
        if self.kubernetes_version is not None:
            return self.kubernetes_version
        running = self.running_version()
        return running if running in versions.SUPPORTED_KUBERNETES else versions.KUBERNETES

    def running_version(self) -> str | None:
        """The release the cluster in our state directory was started with (None: no record)."""
        try:
            return json.loads(self.layout.cluster_info.read_text()).get("kubernetes")
        except (OSError, ValueError):
            return None

    def context(self, kubernetes_version: str | None = None) -> StepContext:
        """The narrow view a step gets; its timings are this cluster's (the same dict)."""
        return StepContext(self.layout, self.net, self.timings, kubernetes_version or self.wanted_version)

    # ---------------------------------------------------------------- bring-up
    def up(self) -> dict[str, float]:
        """Bring the cluster up (or reuse a healthy one); return seconds per step."""
        self.timings = {}
        check_root()
        version = self.wanted_version
        if self.layout.root.exists():
            problem = self.reuse_problem(version)
            if problem is None:
                say(f"embedded cluster (Kubernetes {version}) already running and healthy ({self.layout.root}); reusing it")
                storage.ensure_volumes(self.context(version))
                return self.timings
            running = self.running_version()
            what = "is not healthy" if running == version else f"runs Kubernetes {running or '(unrecorded)'}, not {version}"
            say(f"found state of an earlier embedded cluster that {what} ({problem}); cleaning it up first")
            self.down()
        ctx = self.context(version)
        # Recorded first: a bring-up that fails half-way is torn down with this release's binaries.
        self.layout.root.mkdir(parents=True, exist_ok=True)
        self._record(version, started=time.time())
        for name, action in BRING_UP:
            with step(name, self.timings):
                action(ctx)
        self._record(version, started=json.loads(self.layout.cluster_info.read_text())["started"], timings=self.timings)
        return self.timings

    def _record(self, version: str, **extra) -> None:
        self.layout.cluster_info.write_text(json.dumps({
            "kubernetes": version, "node": self.net.node_name, "kubeconfig": str(self.layout.kubeconfig), **extra,
        }, indent=2))

    def reuse_problem(self, version: str) -> str | None:
        """None when the running cluster is healthy and runs `version`; else why it cannot be reused."""
        running = self.running_version()
        if running != version:
            return f"it runs Kubernetes {running or '(unrecorded)'}, {version} was asked for"
        return self.health_problem()

    def bin(self, name: str) -> str:
        """A binary of the release that runs (or would run)."""
        return self.context(self.running_version()).bin(name)

    def kubectl(self, *args: str, input: str | None = None, check: bool = True):
        return self.context(self.running_version()).kubectl(*args, input=input, check=check)

    # ---------------------------------------------------------------- status
    def health_problem(self) -> str | None:
        """None when every component runs and the API answers with a Ready node; else what is wrong."""
        states = processes.running(self.layout)
        missing = [c for c in COMPONENTS if not states.get(c)]
        if missing:
            return "not running: " + ", ".join(missing)
        ready = self.kubectl("get", "node", self.net.node_name, "-o",
                             "jsonpath={.status.conditions[?(@.type=='Ready')].status}", check=False)
        if ready.returncode != 0 or ready.stdout.strip() != "True":
            return f"node not Ready ({(ready.stderr or ready.stdout).strip()[:200]})"
        return None

    def status(self) -> dict:
        return {
            "state_dir": str(self.layout.root),
            "exists": self.layout.root.exists(),
            "processes": processes.running(self.layout),
            "problem": self.health_problem() if self.layout.root.exists() else "not created",
            "kubeconfig": str(self.layout.kubeconfig),
            "kubernetes": self.running_version(),
        }

    # ---------------------------------------------------------------- tear-down
    def down(self) -> list[str]:
        """Stop what we started and put the machine back; return problems met (gathered, not fatal)."""
        # With the binaries of the release that runs (kube-proxy --cleanup), whatever `up` would start.
        return teardown.tear_down(self.context(self.running_version() or self.wanted_version))
