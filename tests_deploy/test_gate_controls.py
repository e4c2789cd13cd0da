"""Negative controls, tests of the gate itself: a deliberately broken release (a values override, nothing else)
must turn its criterion `failed`. Each case installs its broken release beside the main one through a real
nested pytest run of the criterion's tests (deployproof/negative_controls.py declares the cases), reads that
run's success-criteria.json and expects the verdict `failed`, a failing exit code, and the control's own symptom
in the nested log or diagnostics (a criterion failing for another reason proves nothing). The broken release is
removed by the nested run (--keep=never) and, should that not happen, by this module's teardown.

    pytest tests_deploy/test_gate_controls.py -m "negative_control(cheap=True)"   # CI: SC-1, SC-2, SC-5
    pytest tests_deploy/test_gate_controls.py -m negative_control                  # all of them

Use the images the suite already built with --skip-image-build backend=…,frontend=…,database=…; otherwise
the outer session builds (and loads) them once and hands them to every nested run.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest
from kubernetes.client import ApiException

from deployproof.errors import CommandError
from deployproof.negative_controls import CONTROLS, NegativeControl, environment_without_pytest, symptom_seen, verdict_of
from deployproof.progress import say
from deployproof.pytest_plugin import PROJECT_ROOT
from deployproof.runner import run
from deployproof.waits import poll_until

NAMESPACE_GONE_TIMEOUT_S = 240


def _case(control: NegativeControl):
    return pytest.param(control, id=f"{control.criterion}-{control.id}",
                        marks=[pytest.mark.negative_control(cheap=control.cheap), pytest.mark.slow])


def _namespace_gone(k8s, name: str) -> None:
    """Wait until namespace `name` no longer exists (deleted by the nested run, or by us)."""

    def gone():
        names = [n.metadata.name for n in k8s.core.list_namespace(field_selector=f"metadata.name={name}").items]
        return not names, names

    poll_until(gone, description=f"namespace {name} deleted", timeout=NAMESPACE_GONE_TIMEOUT_S)


def _remove_release(cluster, k8s, control: NegativeControl) -> None:
    """Uninstall a control's release and delete its namespace, if either is still there."""
    from deployproof import charts
    from deployproof.kube import helm_args

    if not k8s.core.list_namespace(field_selector=f"metadata.name={control.name}").items:
        return
    say(f"negative control {control.id}: removing the leftover release {control.name}")
    run([charts.helm_binary(), *helm_args(cluster.kubeconfig(), cluster.context()), "-n", control.name,
         "uninstall", control.name, "--wait", "--ignore-not-found"], check=False, timeout=300)
    try:
        k8s.core.delete_namespace(control.name)
    except ApiException as exc:
        if exc.status not in (404, 409):  # gone already, or being deleted (the nested run asked without waiting)
            raise
    _namespace_gone(k8s, control.name)


@pytest.fixture
def control_release_removed(control: NegativeControl, cluster, k8s):
    """No release of this control before the test (a crashed earlier run), and none after it, however it ended."""
    _remove_release(cluster, k8s, control)
    yield control
    _remove_release(cluster, k8s, control)


@pytest.mark.parametrize("control", [_case(c) for c in CONTROLS])
def test_broken_release_turns_its_criterion_failed(control, control_release_removed, cluster, k8s, app_images, settings,
                                                   report_dir: Path, figures):
    folder = (report_dir / "negative-controls" / control.name).resolve()  # the nested run has its own cwd
    shutil.rmtree(folder, ignore_errors=True)  # never read a previous run's verdict
    values_file = control.write_values(folder)
    cmd = control.command(values_file=values_file, report_dir=folder, images=app_images, provider=cluster.name,
                          kubeconfig=settings.kubeconfig, kube_context=settings.kube_context, allow_load_to=settings.allow_load_to,
                          image_registry=str(settings.image_registry) if settings.image_registry else None,
                          image_registry_ca=settings.image_registry_ca)
    say(f"negative control {control.criterion} ({control.id}): {control.broken}; nested run of "
        f"{len(control.test_ids(cluster.name))} test(s), at most {control.budget_s}s")
    begun = time.monotonic()
    try:
        nested = run(cmd, check=False, cwd=PROJECT_ROOT, env=environment_without_pytest(), timeout=control.budget_s)
    except CommandError as exc:  # the runner's timeout: a control that hangs fails, it never holds CI
        pytest.fail(f"the nested run of {control.id} did not finish within {control.budget_s}s: {exc.cause}", pytrace=False)
    seconds = round(time.monotonic() - begun, 1)
    (folder / "pytest.log").write_text(nested.stdout + ("\n--- stderr ---\n" + nested.stderr if nested.stderr else ""))
    tail = "\n".join((nested.stdout or nested.stderr).strip().splitlines()[-25:])

    report_json = folder / "success-criteria.json"
    assert report_json.is_file(), f"the nested run wrote no {report_json} (exit {nested.returncode}):\n{tail}"
    entry = verdict_of(report_json, control.criterion)
    figures.update({
        "control": control.broken,
        "nested_seconds": seconds,
        "nested_exit_code": nested.returncode,
        "verdict": entry.get("verdict"),
        "failed_tests": entry.get("failed", []),
        "nested_log": str(folder / "pytest.log"),
    })
    assert entry.get("verdict") == "failed", (
        f"{control.criterion} is {entry.get('verdict')!r} with {control.broken}; it must be 'failed' "
        f"(caught by: {control.caught_by}). Nested run, exit {nested.returncode}:\n{tail}")
    assert nested.returncode == pytest.ExitCode.TESTS_FAILED, (
        f"the nested run exited {nested.returncode}, not 1 (tests failed): it did not run as intended\n{tail}")
    seen = symptom_seen(control, folder)
    figures["symptom_seen_in"] = str(seen)
    assert seen, (f"{control.criterion} failed, but nothing in {folder} shows /{control.symptom}/: it failed for another "
                  f"reason than {control.broken}\n{tail}")
