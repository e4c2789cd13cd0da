"""Fail fast while a release comes up: spot pod states that waiting longer cannot fix.

`helm upgrade --install --wait` waits out its whole timeout when an image is missing or a
container crashes. While helm runs, `PodWatch.check` reads the namespace's pods and
`PodTracker` classifies them; a permanent problem (below) ends the install at once with the
pod, the reason and the fix, instead of ten minutes later.

Permanent, by reason (container waiting reasons and the PodScheduled condition):
- ErrImageNeverPull, InvalidImageName: at once (nothing retries them into success);
- ErrImagePull / ImagePullBackOff: once the kubelet is backing off and the pull has failed
  for `pull_grace_s` (its retries did not help); at once when the registry's certificate failed
  (x509); when the registry refused the credentials (401/403), once the refusal outlived the
  kubelet's first retry (`refused_grace_s`): a kubelet that could not read a new pod's
  imagePullSecret yet (event FailedToRetrieveImagePullSecret, seen on a fresh kind node) pulls
  without it once, is refused, and succeeds at its retry 10 s later. With --image-registry the
  message names the registry and the fix (the imagePullSecret, the CA, the nodes' reach);
- CrashLoopBackOff: past `crash_restarts` restarts;
- CreateContainerConfigError / CreateContainerError: for longer than `config_grace_s`;
- Unschedulable: for longer than `unschedulable_grace_s`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Iterable

if TYPE_CHECKING:
    from .image_registry import Registry

IMMEDIATE = {"ErrImageNeverPull", "InvalidImageName"}
PULL_ERRORS = {"ErrImagePull", "ImagePullBackOff"}
# What the kubelet's pull message says when the registry refused the credentials or the certificate failed.
REFUSED_PULL = ("401 unauthorized", "403 forbidden", "unauthorized", "authorization failed", "denied")
UNTRUSTED_PULL = ("x509", "tls: failed to verify", "certificate signed by unknown authority")
CONFIG_ERRORS = {"CreateContainerConfigError", "CreateContainerError"}


@dataclass(frozen=True)
class Limits:
    """How long a state may last before it counts as permanent."""

    pull_grace_s: float = 20.0
    refused_grace_s: float = 15.0  # past the kubelet's first image pull back-off (10 s)
    crash_restarts: int = 4
    config_grace_s: float = 60.0
    unschedulable_grace_s: float = 60.0


@dataclass(frozen=True)
class PodProblem:
    """A pod state that will not resolve by itself."""

    pod: str
    container: str | None
    reason: str
    message: str
    fix: str

    def describe(self) -> str:
        where = f"pod {self.pod}" + (f", container {self.container}" if self.container else "")
        return f"{where}: {self.reason}" + (f" ({self.message})" if self.message else "")


class PodTracker:
    """Classifies pods as they are observed; remembers since when each bad state has lasted."""

    def __init__(self, limits: Limits | None = None, clock: Callable[[], float] = time.monotonic, *,
                 registry: Registry | None = None, pull_secret: str | None = None) -> None:
        self.limits = limits or Limits()
        self.clock = clock
        self.registry = registry  # --image-registry: the nodes pull the app's images from there
        self.pull_secret = pull_secret  # the imagePullSecret the release's pods name, if one was made
        self._since: dict[tuple[str, str, str], float] = {}

    def observe(self, pods: Iterable[Any]) -> PodProblem | None:
        """The first permanent problem among `pods` (kubernetes V1Pod objects), or None."""
        now = self.clock()
        seen: set[tuple[str, str, str]] = set()
        problem = None
        for pod in pods:
            if pod.metadata.deletion_timestamp is not None:
                continue
            found = self._pod_problem(pod, now, seen)
            if found is not None and problem is None:
                problem = found
        # A state that is gone starts its clock afresh if it comes back.
        for key in [k for k in self._since if k not in seen]:
            del self._since[key]
        return problem

    def _lasted(self, key: tuple[str, str, str], now: float, seen: set) -> float:
        seen.add(key)
        return now - self._since.setdefault(key, now)

    def _pod_problem(self, pod: Any, now: float, seen: set) -> PodProblem | None:
        name = pod.metadata.name
        status = pod.status
        limits = self.limits
        statuses = list((status.init_container_statuses if status else None) or []) + list((status.container_statuses if status else None) or [])
        for container in statuses:
            waiting = container.state.waiting if container.state else None
            if waiting is None or not waiting.reason:
                continue
            reason, message, image = waiting.reason, (waiting.message or "").strip(), container.image
            if reason in IMMEDIATE:
                self._lasted((name, container.name, reason), now, seen)
                return PodProblem(name, container.name, reason, message or image, _image_fix(reason, image))
            if reason in PULL_ERRORS:
                lasted = self._lasted((name, container.name, "pull"), now, seen)
                text = message.lower()
                untrusted = any(word in text for word in UNTRUSTED_PULL)
                refused = any(word in text for word in REFUSED_PULL) and lasted >= limits.refused_grace_s
                if untrusted or refused or (reason == "ImagePullBackOff" and lasted >= limits.pull_grace_s):
                    return PodProblem(name, container.name, reason, message or image,
                                      self._pull_fix(image, message) if self._from_registry(image) else _image_fix(reason, image))
            elif reason == "CrashLoopBackOff":
                self._lasted((name, container.name, reason), now, seen)
                if container.restart_count >= limits.crash_restarts:
                    last = container.last_state.terminated if container.last_state else None
                    exit_text = f"last exit {last.exit_code} {last.reason or ''}".strip() if last else ""
                    return PodProblem(
                        name, container.name, reason, f"{container.restart_count} restarts; {exit_text}".strip("; "),
                        f"the container keeps exiting: read `kubectl logs {name} -c {container.name} --previous` "
                        "(in the diagnostics folder: logs/*.previous.log) and fix its configuration or code")
            elif reason in CONFIG_ERRORS:
                if self._lasted((name, container.name, reason), now, seen) >= limits.config_grace_s:
                    return PodProblem(name, container.name, reason, message,
                                      "a Secret or ConfigMap the container needs is missing or its command cannot start: "
                                      "check the release's values and the events in the diagnostics folder")
        for condition in (status.conditions if status else None) or []:
            if condition.type == "PodScheduled" and condition.status == "False" and condition.reason == "Unschedulable":
                if self._lasted((name, "", "Unschedulable"), now, seen) >= limits.unschedulable_grace_s:
                    return PodProblem(name, None, "Unschedulable", (condition.message or "").strip(),
                                      "no node fits the pod: lower its resource requests in the values (--values), "
                                      "or give the cluster more CPU/memory")
        return None


    def _from_registry(self, image: str) -> bool:
        return self.registry is not None and image.startswith(self.registry.address + "/")

    def _pull_fix(self, image: str, message: str) -> str:
        """What to do when the nodes cannot pull `image` from --image-registry, by what the kubelet said."""
        assert self.registry is not None
        address, text = self.registry.address, message.lower()
        if any(word in text for word in UNTRUSTED_PULL):
            return (f"the nodes do not trust registry {address}'s certificate: give its CA with --image-registry-ca "
                    f"(a kind cluster deployproof creates then gets it in /etc/containerd/certs.d/{address}/; "
                    "on another cluster install it on every node)")
        if any(word in text for word in REFUSED_PULL):
            secret = (f"imagePullSecret {self.pull_secret} (made from your docker config's credentials for {address}) was refused"
                      if self.pull_secret else f"no imagePullSecret was made: your docker config has no credentials for {address}")
            return f"registry {address} refused the pull: {secret}; docker login {address} with an account that may pull, then deploy again"
        credentials = (f"imagePullSecret {self.pull_secret}" if self.pull_secret
                       else f"none were given: docker login {address} if it needs them")
        return (f"the nodes cannot pull {image} from registry {address}: they must reach {address} (inside a kind node "
                "127.0.0.1 is the node itself: use the kind network's gateway, providers/kind_registry.py), trust its CA, "
                f"and send credentials where it needs them ({credentials})")


def _image_fix(reason: str, image: str) -> str:
    if reason == "InvalidImageName":
        return f"{image!r} is not a valid image reference: fix the image repository/tag (values or --skip-image-build)"
    if reason == "ErrImageNeverPull":
        return (f"image {image} is not on the node and the pull policy is Never: load it into the cluster "
                "(deployproof loads the images it builds; with --skip-image-build the image must exist locally: docker image ls)")
    return (f"image {image} cannot be pulled: load it into the cluster (deployproof builds and loads its images) "
            "or push it to a registry the nodes can reach")


def summary(pods: Iterable[Any]) -> str:
    """One line on the pods' progress: how many are ready, and what the others wait for."""
    pods = list(pods)
    ready, waiting = 0, []
    for pod in pods:
        statuses = (pod.status.container_statuses or []) if pod.status else []
        if pod.status and pod.status.phase == "Succeeded":
            continue
        if statuses and all(s.ready for s in statuses):
            ready += 1
            continue
        reasons = [s.state.waiting.reason for s in statuses if s.state and s.state.waiting and s.state.waiting.reason]
        waiting.append(f"{pod.metadata.name} {reasons[0] if reasons else (pod.status.phase if pod.status else '?')}")
    return f"{ready} pod(s) ready" + (f"; not yet: {', '.join(waiting)}" if waiting else "")


class PodWatch:
    """Reads the namespace's pods and classifies them; `check()` is called between helm's own checks."""

    def __init__(self, core_api: Any, namespace: str, limits: Limits | None = None, *,
                 registry: Registry | None = None, pull_secret: str | None = None) -> None:
        self.core_api = core_api
        self.namespace = namespace
        self.tracker = PodTracker(limits, registry=registry, pull_secret=pull_secret)

    def check(self) -> tuple[PodProblem | None, str]:
        pods = self.core_api.list_namespaced_pod(self.namespace).items
        return self.tracker.observe(pods), summary(pods)
