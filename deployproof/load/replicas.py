"""Replica counts of Deployments over a load run, sampled once a second in the background.

The samples feed the plots (replicas next to throughput and latency) and the "replicas reached"
figure; the scale-out *times* are measured with watches (deployproof.waits.watch_until), not here.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

from ..errors import WaitTimeout
from ..waits import poll_until

SAMPLE_EVERY_S = 1.0


@dataclass
class ReplicaSample:
    timestamp: float  # epoch seconds, comparable with Locust's history
    deployment: str
    desired: int  # spec.replicas (what the HPA asked for)
    ready: int  # status.readyReplicas


class ReplicaSampler:
    """Samples `deployments` in `namespace` until stopped (or `limit_s` passes); use as a context manager."""

    def __init__(self, apps_api: Any, namespace: str, deployments: list[str], limit_s: float = 900) -> None:
        self.apps, self.namespace, self.deployments, self.limit_s = apps_api, namespace, deployments, limit_s
        self.samples: list[ReplicaSample] = []
        self._halt = threading.Event()
        self._thread = threading.Thread(target=self._run, name="replica-sampler", daemon=True)

    def _sample(self) -> tuple[bool, int]:
        if self._halt.is_set():
            return True, len(self.samples)
        now = time.time()
        for name in self.deployments:
            deployment = self.apps.read_namespaced_deployment_status(name, self.namespace)
            self.samples.append(ReplicaSample(now, name, deployment.spec.replicas or 0, deployment.status.ready_replicas or 0))
        return False, len(self.samples)

    def _run(self) -> None:
        try:
            poll_until(self._sample, description=f"the end of sampling {self.deployments}", timeout=self.limit_s,
                       interval=SAMPLE_EVERY_S, max_interval=SAMPLE_EVERY_S, progress_every=self.limit_s + 1)
        except WaitTimeout:
            pass  # bounded like everything else: a forgotten sampler stops by itself

    def of(self, deployment: str) -> list[ReplicaSample]:
        return [s for s in self.samples if s.deployment == deployment]

    def peak(self, deployment: str) -> int:
        return max((s.ready for s in self.of(deployment)), default=0)

    def peak_desired(self, deployment: str) -> int:
        """The most replicas the HPA asked for (it may keep adding some after the load stopped: its metrics lag)."""
        return max((s.desired for s in self.of(deployment)), default=0)

    def __enter__(self) -> "ReplicaSampler":
        self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._halt.set()
        self._thread.join(timeout=10)
