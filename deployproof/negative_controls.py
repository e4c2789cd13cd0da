"""Negative controls: deliberately broken deployments, each made by a values override alone, each of which
must turn one success criterion `failed`. They test the gate itself: a check that cannot fail proves nothing.

A control names its criterion, what is broken and which claim must catch it, the override (values of the
umbrella chart, written to a temporary values file), whether it is cheap (CI runs the cheap ones), and the
tests its nested run executes (default: the criterion's required tests). tests_deploy/test_gate_controls.py
runs each as a real nested pytest process against the live cluster and reads that run's verdict:

    pytest tests_deploy/test_gate_controls.py -m "negative_control(cheap=True)"   # SC-1, SC-2, SC-5 (CI)
    pytest tests_deploy/test_gate_controls.py -m negative_control                  # every control

Every broken release runs beside the main one: its own namespace and release name (`neg-<id>`), its own
frontend NodePort (30090 + n) with Better Auth's public URL and trusted origin on that port. Without that a
control could "fail" for a reason it does not name (the port taken, every sign-up refused as cross-origin).
tests_unit/test_negative_controls.py renders every override with `helm template` and checks that each key
exists in the charts' values and that the breakage shows in the rendered object it names.
"""

from __future__ import annotations

import json
import os
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import yaml

from .criteria import CRITERIA

FIRST_NODE_PORT = 30090  # the main release has 30080, the cluster tests' echo service 30081
POD_KILL = "tests_resilience/test_pod_kill.py::test_pod_killed_under_traffic_recovers_without_losing_tasks"
HPA = "tests_resilience/test_hpa.py::test_backend_hpa_scales_out_under_load_spreads_requests_and_scales_back_in"
NESTED_DISABLED_PLUGINS = ("cacheprovider",)
# Besides pytest's own: the main release's --app-url (a control is reached on its own NodePort, never there).
NESTED_ENV_DROPPED = ("PYTEST_ADDOPTS", "PYTEST_CURRENT_TEST", "PYTEST_PLUGINS", "DEPLOYPROOF_APP_URL")


@dataclass(frozen=True)
class Evidence:
    """Where the breakage must show in the rendered chart: `kind` object named `<release>-<component>`,
    the value at a dotted `path` (list indices as numbers), e.g. spec.template.spec.containers.0.image."""

    kind: str
    component: str
    path: str
    value: Any

    def read(self, objects: list[dict[str, Any]], release: str) -> Any:
        name = f"{release}-{self.component}"
        matches = [o for o in objects if o.get("kind") == self.kind and o.get("metadata", {}).get("name") == name]
        if not matches:
            raise KeyError(f"no {self.kind}/{name} in the rendered chart")
        node: Any = matches[0]
        for part in self.path.split("."):
            node = node[int(part)] if isinstance(node, list) else node[part]
        return node


@dataclass(frozen=True)
class NegativeControl:
    criterion: str
    id: str  # short, DNS-safe: the release and namespace are neg-<id>
    broken: str  # what is broken, as an operator would say it
    caught_by: str  # the claim (and its test) that must turn the criterion failed
    override: Mapping[str, Any]  # values of the umbrella chart: the breakage, and nothing else
    evidence: Evidence
    symptom: str  # regex the nested run's log or diagnostics must show: it failed for this control's reason
    node_port: int
    cheap: bool = False
    tests: tuple[str, ...] = ()  # node ids to run; empty = the criterion's required tests
    deploy_timeout_s: int = 150  # --deploy-timeout of the nested run
    budget_s: int = 900  # the nested run is killed after this long (a hung control fails, it never hangs CI)

    @property
    def name(self) -> str:
        return f"neg-{self.id}"

    def values(self) -> dict[str, Any]:
        """The values file's content: the breakage over what lets the release coexist with the main one."""
        return deep_merge(coexistence_values(self.node_port), self.override)

    def test_ids(self, provider: str | None = None) -> tuple[str, ...]:
        return self.tests or CRITERIA[self.criterion].required_tests(provider)

    def write_values(self, folder: Path) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{self.name}-values.yaml"
        path.write_text(f"# negative control {self.criterion}: {self.broken}\n" + yaml.safe_dump(self.values(), sort_keys=False))
        return path

    def command(self, *, values_file: Path, report_dir: Path, images: Mapping[str, str], provider: str,
                kubeconfig: Path | None = None, kube_context: str | None = None, allow_load_to: tuple[str, ...] = (),
                image_registry: str | None = None, image_registry_ca: Path | None = None) -> list[str]:
        """The nested pytest run: the criterion's tests against this control's broken release, which is
        removed afterwards whatever happens (--keep=never; a cluster the nested run did not create stays)."""
        cmd = [sys.executable, "-m", "pytest", *self.test_ids(provider), "--criteria", self.criterion,
               "--values", str(values_file), "--namespace", self.name, "--release-name", self.name, "--keep=never",
               "--deploy-timeout", str(self.deploy_timeout_s), "--report-dir", str(report_dir),
               "--diagnostics-dir", str(report_dir / "diagnostics"),
               "--skip-image-build", ",".join(f"{name}={ref}" for name, ref in sorted(images.items())),
               "--cluster-provider", provider, "-q", "-rfE"]
        if provider == "existing" and kubeconfig:
            cmd += ["--kubeconfig", str(kubeconfig)]
        if provider == "existing" and kube_context:
            cmd += ["--kube-context", kube_context]
        if allow_load_to:  # the user's opt-in holds for the control's load tests too (its own NodePort on the same nodes)
            cmd += ["--allow-load-to", ",".join(allow_load_to)]
        if image_registry:  # the images (by digest) are pushed again (layers exist: instant) and the pull secret made
            cmd += ["--image-registry", image_registry]
        if image_registry_ca:
            cmd += ["--image-registry-ca", str(image_registry_ca)]
        for plugin in NESTED_DISABLED_PLUGINS:
            cmd += ["-p", f"no:{plugin}"]
        return cmd


def coexistence_values(node_port: int) -> dict[str, Any]:
    """A release beside the main one: its own NodePort, and Better Auth accepting sign-ups through it."""
    return {"frontend": {"service": {"nodePort": node_port},
                         "betterAuth": {"url": f"http://127.0.0.1:{node_port}", "trustedOrigins": f"http://localhost:{node_port}"}}}


def deep_merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        merged[key] = deep_merge(merged[key], value) if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping) else value
    return merged


def leaf_paths(values: Mapping[str, Any], prefix: str = "") -> list[str]:
    """Dotted paths of every leaf of a values tree (`backend.probes.readiness.path`)."""
    paths = []
    for key, value in values.items():
        path = f"{prefix}{key}"
        paths += leaf_paths(value, path + ".") if isinstance(value, Mapping) and value else [path]
    return paths


def environment_without_pytest() -> dict[str, str]:
    """The nested run's environment: ours, minus what would change how pytest itself runs."""
    return {k: v for k, v in os.environ.items() if k not in NESTED_ENV_DROPPED}


def symptom_seen(control: NegativeControl, folder: Path) -> Path | None:
    """The file of the nested run (its pytest.log, its diagnostics: events, describe, logs) showing the
    control's symptom, or None: a criterion that failed for another reason (the cluster went away, a port
    was taken) proves nothing about this control."""
    pattern = re.compile(control.symptom)
    for path in sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix in (".log", ".txt", ".md", ".json")):
        if pattern.search(path.read_text(errors="replace")) and path.name != "success-criteria.md":
            return path
    return None


def verdict_of(report_json: Path, criterion: str) -> dict[str, Any]:
    """The criterion's entry of a run's success-criteria.json (raises naming what is there when absent)."""
    data = json.loads(report_json.read_text())
    entries = data.get("criteria", [])
    for entry in entries:
        if entry.get("criterion") == criterion:
            return entry
    raise KeyError(f"{criterion} not in {report_json} (criteria: {[e.get('criterion') for e in entries]}, scope: {data.get('scope')})")


_CONTROLS_SPEC: tuple[tuple[str, str, str, str, dict[str, Any], Evidence, str, dict[str, Any]], ...] = (
    ("SC-1", "sc1-readiness",
     "the backend's readiness probe asks a path the app does not serve (404): its pods never become Ready",
     "every app pod Running and Ready (the release never gets there: helm --wait times out, every SC-1 test errors)",
     {"backend": {"probes": {"readiness": {"path": "/no-such-readiness-path"}}}},
     Evidence("Deployment", "backend", "spec.template.spec.containers.0.readinessProbe.httpGet.path", "/no-such-readiness-path"),
     r"Readiness probe failed: HTTP probe failed with statuscode: 404",
     {"cheap": True, "deploy_timeout_s": 60}),
    ("SC-2", "sc2-clusterip",
     "the frontend Service is ClusterIP: nothing answers on a NodePort",
     "the frontend is a NodePort; requests through the NodePort reach the page and the backend",
     {"frontend": {"service": {"type": "ClusterIP"}}},
     Evidence("Service", "frontend", "spec.type", "ClusterIP"),
     r"no NodePort Service|ClusterIP",
     {"cheap": True}),
    ("SC-5", "sc5-jwks",
     "the backend fetches its JWT keys from a wrong JWKS URL (404): no real token can be verified",
     "the JWT matrix: the real token is accepted (it gets 503, keys unreachable), and everything signed in after it",
     {"backend": {"auth": {"jwksUrl": "http://{{ .Release.Name }}-frontend:3000/api/auth/no-such-jwks"}}},
     Evidence("ConfigMap", "backend", "data.AUTH_JWKS_URL", "http://neg-sc5-jwks-frontend:3000/api/auth/no-such-jwks"),
     r"Cannot verify tokens|JWKS",
     {"cheap": True}),
    ("SC-3", "sc3-hpa-pinned",
     "the backend HPA's maxReplicas equals its minReplicas: it cannot scale out under load",
     "the HPA scales out under load (it never can); the load-step test is not run, one failed claim fails SC-3",
     {"backend": {"autoscaling": {"minReplicas": 2, "maxReplicas": 2}}},
     Evidence("HorizontalPodAutoscaler", "backend", "spec.maxReplicas", 2),
     r"nothing to scale|never had more than",
     {"tests": (HPA,)}),
    ("RES", "res-one-backend",
     "a single backend replica (HPA pinned at 1): nothing keeps serving when that pod dies",
     "a killed pod is replaced with no request lost where replicated: the test cannot arrange a second replica beyond "
     "the HPA's maxReplicas and fails on it (a graceful delete of the lone pod lost no request live: its 5 s preStop "
     "outlasted the 2.5 s replacement, so the replica check, not a failed request, catches it); only the backend case runs",
     {"backend": {"autoscaling": {"minReplicas": 1, "maxReplicas": 1}}},
     Evidence("HorizontalPodAutoscaler", "backend", "spec.maxReplicas", 1),
     r"Ready replica\(s\) at the kill|no request may fail",
     {"tests": (POD_KILL + "[backend]",)}),
    ("SC-6", "sc6-unschedulable",
     "the backend requests more memory than any node has: its pods stay Pending and the deployment never completes",
     "the deployment completes (it cannot, within 600 s or ever; the nested run stops waiting after its "
     "--deploy-timeout, which only shortens the wait for a pod that can never be scheduled)",
     {"backend": {"resources": {"requests": {"memory": "64Gi"}, "limits": {"memory": "64Gi"}}}},
     Evidence("Deployment", "backend", "spec.template.spec.containers.0.resources.requests.memory", "64Gi"),
     r"Insufficient memory|FailedScheduling",
     {"deploy_timeout_s": 120}),
)

CONTROLS: tuple[NegativeControl, ...] = tuple(
    NegativeControl(criterion, control_id, broken, caught_by, override, evidence, symptom, FIRST_NODE_PORT + index, **extra)
    for index, (criterion, control_id, broken, caught_by, override, evidence, symptom, extra) in enumerate(_CONTROLS_SPEC)
)
CONTROLS_BY_ID: dict[str, NegativeControl] = {c.id: c for c in CONTROLS}
