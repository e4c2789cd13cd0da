"""The embedded cluster: bring-up as an ordered list of named steps, and a tear-down that leaves nothing.

Read `steps.BRING_UP` top to bottom to see how a node comes to life; each step is a
small function of a StepContext (the cluster's files, network and timings). Tear-down
(teardown.py) stops exactly the PIDs recorded at start, removes pod sandboxes (CNI
releases veths and network namespaces), then mounts, iptables chains, the bridge and
the state directory, and puts back every host setting it changed.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field

from ... import versions
from ...progress import say, step
from . import processes, storage, teardown
from .context import StepContext
from .layout import Layout, Network
from .steps import BRING_UP, check_root

# Components in start order; tear-down stops them in reverse.
COMPONENTS = ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "containerd", "kubelet", "kube-proxy")


@dataclass
class EmbeddedCluster:
    layout: Layout = field(default_factory=Layout.default)
    net: Network = field(default_factory=Network)
    timings: dict[str, float] = field(default_factory=dict)

    def context(self) -> StepContext:
        """The narrow view a step gets; its timings are this cluster's (the same dict)."""
        return StepContext(self.layout, self.net, self.timings)

    # ---------------------------------------------------------------- bring-up
    def up(self) -> dict[str, float]:
        """Bring the cluster up (or reuse a healthy one); return seconds per step."""
        self.timings = {}
        check_root()
        if self.layout.root.exists():
            problem = self.health_problem()
            if problem is None:
                say(f"embedded cluster already running and healthy ({self.layout.root}); reusing it")
                storage.ensure_volumes(self.context())
                return self.timings
            say(f"found state of an earlier embedded cluster that is not healthy ({problem}); cleaning it up first")
            self.down()
        ctx = self.context()
        for name, action in BRING_UP:
            with step(name, self.timings):
                action(ctx)
        self.layout.cluster_info.write_text(json.dumps({
            "kubernetes": versions.KUBERNETES, "node": self.net.node_name, "kubeconfig": str(self.layout.kubeconfig),
            "started": time.time(), "timings": self.timings,
        }, indent=2))
        return self.timings

    def bin(self, name: str) -> str:
        return self.context().bin(name)

    def kubectl(self, *args: str, input: str | None = None, check: bool = True):
        return self.context().kubectl(*args, input=input, check=check)

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
        }

    # ---------------------------------------------------------------- tear-down
    def down(self) -> list[str]:
        """Stop what we started and put the machine back; return problems met (gathered, not fatal)."""
        return teardown.tear_down(self.context())
