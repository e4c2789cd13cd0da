"""The negative controls' declarations, checked without a cluster: each override hits real keys of the charts'
values and shows in the rendered object it names (so a typo cannot make a control "pass" by breaking nothing),
the broken release is still valid Kubernetes (it must fail at run time, on the criterion, not at install), the
releases coexist with the main one, and the nested command and verdict reading do what the live test relies on.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from deployproof import charts
from deployproof.criteria import CRITERIA, map_key
from deployproof.errors import DeployProofError
from deployproof.negative_controls import (CONTROLS, FIRST_NODE_PORT, coexistence_values, deep_merge, leaf_paths, symptom_seen,
                                           verdict_of)
from deployproof.versions import ECHO_NODE_PORT, FRONTEND_NODE_PORT

ENVIRONMENT = "embedded"  # the provider the controls run on in CI; the release layers their file over it
CASES = [pytest.param(c, id=f"{c.criterion}-{c.id}") for c in CONTROLS]


@pytest.fixture(scope="module")
def umbrella() -> str:
    try:
        charts.helm_binary()
    except DeployProofError as exc:
        pytest.fail(f"helm is required for the negative-control tests: {exc}", pytrace=False)
    charts.dependency_build(charts.UMBRELLA)
    return charts.UMBRELLA


def _chart_defaults() -> dict[str, Any]:
    """The umbrella's values with each subchart's own values.yaml under its name: every key a user can set."""
    values = yaml.safe_load((charts.chart_dir(charts.UMBRELLA) / "values.yaml").read_text())
    for sub in charts.APP_CHARTS:
        values[sub] = deep_merge(yaml.safe_load((charts.chart_dir(sub) / "values.yaml").read_text()), values.get(sub) or {})
    return values


def _has_path(values: dict[str, Any], dotted: str) -> bool:
    node: Any = values
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            return False
        node = node[part]
    return True


def _render(control, values: dict[str, Any], tmp_path: Path, umbrella: str) -> list[dict[str, Any]]:
    path = tmp_path / "values.yaml"
    path.write_text(yaml.safe_dump(values))
    return charts.template(umbrella, [charts.values_file(ENVIRONMENT), path], release=control.name, namespace=control.name)


def test_the_cheap_controls_cover_sc1_sc2_and_sc5_and_every_control_names_a_known_criterion():
    assert {c.criterion for c in CONTROLS if c.cheap} >= {"SC-1", "SC-2", "SC-5"}
    assert {c.criterion for c in CONTROLS} >= {"SC-1", "SC-2", "SC-3", "SC-5", "RES"}
    assert all(c.criterion in CRITERIA and c.criterion != "CLUSTER" for c in CONTROLS)
    assert len({c.id for c in CONTROLS}) == len(CONTROLS)


@pytest.mark.parametrize("control", CASES)
def test_a_control_releases_beside_the_main_one(control):
    assert re.fullmatch(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?", control.name) and len(control.name) <= 40, control.name
    assert 30000 <= control.node_port <= 32767 and control.node_port >= FIRST_NODE_PORT
    assert control.node_port not in (FRONTEND_NODE_PORT, ECHO_NODE_PORT)
    assert len({c.node_port for c in CONTROLS}) == len(CONTROLS), "two controls share a NodePort"
    auth = control.values()["frontend"]["betterAuth"]
    assert str(control.node_port) in auth["url"] and str(control.node_port) in auth["trustedOrigins"]


@pytest.mark.parametrize("control", CASES)
def test_a_control_runs_only_its_criterions_required_tests(control):
    required = set(CRITERIA[control.criterion].required_tests("embedded"))
    ids = control.test_ids("embedded")
    assert ids and {map_key(t) for t in ids} <= required, f"{control.id} runs {ids}, not all required by {control.criterion}"


@pytest.mark.parametrize("control", CASES)
def test_every_overridden_key_exists_in_the_charts_values(control):
    defaults = _chart_defaults()
    unknown = [p for p in leaf_paths(control.values()) if not _has_path(defaults, p)]
    assert not unknown, f"{control.id}: {unknown} are not values of the charts (a typo would break nothing)"


@pytest.mark.parametrize("control", CASES)
def test_the_breakage_shows_in_the_rendered_release_and_only_because_of_the_override(control, umbrella, tmp_path):
    broken = _render(control, control.values(), tmp_path, umbrella)
    healthy = _render(control, coexistence_values(control.node_port), tmp_path, umbrella)
    assert control.evidence.read(broken, control.name) == control.evidence.value
    assert control.evidence.read(healthy, control.name) != control.evidence.value, "the healthy release has it too"
    assert not charts.schema_errors(broken), "the broken release must install; it should fail on its criterion, not on apply"
    service = next(o for o in broken if o["kind"] == "Service" and o["metadata"]["name"] == f"{control.name}-frontend")
    ports = [p.get("nodePort") for p in service["spec"]["ports"]]
    assert FRONTEND_NODE_PORT not in ports, f"{control.id} would take the main release's NodePort"


def test_the_nested_command_runs_the_control_against_its_own_release(tmp_path):
    control = next(c for c in CONTROLS if c.criterion == "SC-1")
    images = {"frontend": "todo-frontend:f1", "backend": "todo-backend:b1", "database": "todo-database:d1"}
    cmd = control.command(values_file=tmp_path / "v.yaml", report_dir=tmp_path, images=images, provider="embedded")
    text = " ".join(cmd)
    assert cmd[1:3] == ["-m", "pytest"]
    assert all(t in cmd for t in CRITERIA["SC-1"].required_tests("embedded"))
    for expected in ("--criteria SC-1", f"--namespace {control.name}", f"--release-name {control.name}", "--keep=never",
                     f"--values {tmp_path / 'v.yaml'}", "--cluster-provider embedded", "-p no:cacheprovider",
                     "--skip-image-build backend=todo-backend:b1,database=todo-database:d1,frontend=todo-frontend:f1",
                     f"--deploy-timeout {control.deploy_timeout_s}", f"--report-dir {tmp_path}"):
        assert expected in text, expected
    assert "--kubeconfig" not in text
    existing = control.command(values_file=tmp_path / "v.yaml", report_dir=tmp_path, images=images, provider="existing",
                               kubeconfig=Path("/k/config"), kube_context="ctx")
    assert ["--kubeconfig", "/k/config", "--kube-context", "ctx"] == existing[existing.index("--kubeconfig"):][:4]
    opted_in = control.command(values_file=tmp_path / "v.yaml", report_dir=tmp_path, images=images, provider="existing",
                               kubeconfig=Path("/k/config"), allow_load_to=("172.18.0.0/16", "todo.internal"))
    assert opted_in[opted_in.index("--allow-load-to") + 1] == "172.18.0.0/16,todo.internal"
    assert "--image-registry" not in text
    pushed = {name: f"172.18.0.1:5443/todo-{name}:1@sha256:{'0' * 64}" for name in images}
    registry = control.command(values_file=tmp_path / "v.yaml", report_dir=tmp_path, images=pushed, provider="kind",
                               image_registry="172.18.0.1:5443", image_registry_ca=Path("/ca.crt"))
    # by digest, and through the registry again: the control's namespace gets the pull secret like the release's
    assert ["--image-registry", "172.18.0.1:5443", "--image-registry-ca", "/ca.crt"] == registry[registry.index("--image-registry"):][:4]
    assert f"backend=172.18.0.1:5443/todo-backend:1@sha256:{'0' * 64}" in " ".join(registry)


def test_the_nested_run_never_inherits_the_main_releases_app_url(monkeypatch):
    from deployproof.negative_controls import environment_without_pytest

    monkeypatch.setenv("DEPLOYPROOF_APP_URL", "https://todo.example.test")
    monkeypatch.setenv("DEPLOYPROOF_ALLOW_LOAD_TO", "10.0.0.0/8")
    env = environment_without_pytest()
    assert "DEPLOYPROOF_APP_URL" not in env and env["DEPLOYPROOF_ALLOW_LOAD_TO"] == "10.0.0.0/8"


def test_the_values_file_holds_the_breakage_over_the_coexistence_values(tmp_path):
    control = next(c for c in CONTROLS if c.criterion == "SC-5")
    written = yaml.safe_load(control.write_values(tmp_path).read_text())
    assert written["backend"]["auth"]["jwksUrl"].endswith("/no-such-jwks")
    assert written["frontend"]["service"]["nodePort"] == control.node_port


def test_verdict_of_reads_the_nested_report_and_names_what_is_there(tmp_path):
    path = tmp_path / "success-criteria.json"
    path.write_text(json.dumps({"scope": ["SC-2"], "criteria": [{"criterion": "SC-2", "verdict": "failed", "missing": []}]}))
    assert verdict_of(path, "SC-2")["verdict"] == "failed"
    with pytest.raises(KeyError, match="SC-2"):
        verdict_of(path, "SC-5")


def test_a_control_counts_only_when_its_own_symptom_shows_in_the_nested_run(tmp_path):
    control = next(c for c in CONTROLS if c.criterion == "SC-1")
    events = tmp_path / "diagnostics" / "20261129-171017" / control.name / "events.txt"
    events.parent.mkdir(parents=True)
    (tmp_path / "pytest.log").write_text("E   helm upgrade failed: Get https://127.0.0.1:6443: x509: certificate signed by unknown authority\n")
    assert symptom_seen(control, tmp_path) is None  # failed, but because the cluster changed under it
    events.write_text("Warning  Unhealthy  pod/x  Readiness probe failed: HTTP probe failed with statuscode: 404\n")
    assert symptom_seen(control, tmp_path) == events
    assert all(re.compile(c.symptom) for c in CONTROLS)
