"""The criteria map names real tests, and every deploy test proves something."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from deployproof.criteria import CRITERIA, criteria_of, map_key

ROOT = Path(__file__).resolve().parents[1]


def _test_functions(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    return {node.name for node in tree.body if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name.startswith("test_")}


@pytest.mark.parametrize("criterion", list(CRITERIA))
def test_every_required_test_exists(criterion):
    for claim in CRITERIA[criterion].claims:
        assert claim.tests, f"{criterion}: claim {claim.text!r} names no test"
        for name in claim.tests:
            path, _, function = name.partition("::")
            assert (ROOT / path).is_file(), f"{criterion}: {path} does not exist"
            assert function in _test_functions(ROOT / path), f"{criterion}: {name} does not exist"


def test_every_test_of_the_deploy_suites_is_in_the_map_or_is_a_control():
    unmapped = []
    for folder in ("tests_deploy", "tests_functional", "tests_resilience"):
        for path in sorted((ROOT / folder).glob("test_*.py")):
            if path.name in ("test_compose_smoke.py", "test_gate_controls.py"):
                continue  # the stack without Kubernetes; the gate's own controls
            for function in _test_functions(path):
                if not criteria_of(f"{folder}/{path.name}::{function}"):
                    unmapped.append(f"{folder}/{path.name}::{function}")
    assert not unmapped, f"deploy tests that prove no criterion (add them to deployproof/criteria.py): {unmapped}"


def test_parametrized_cases_map_onto_their_function():
    assert map_key("tests_resilience/test_pod_kill.py::test_pod_killed_under_traffic_recovers_without_losing_tasks[frontend]") == \
        "tests_resilience/test_pod_kill.py::test_pod_killed_under_traffic_recovers_without_losing_tasks"
    assert criteria_of("tests_resilience/test_pod_kill.py::test_pod_killed_under_traffic_recovers_without_losing_tasks[db]") == ["RES"]


def test_the_embedded_lifecycle_is_required_only_on_the_embedded_provider():
    lifecycle = "tests_deploy/test_embedded_lifecycle.py::test_up_then_up_again_reuses_the_running_cluster"
    assert lifecycle in CRITERIA["CLUSTER"].required_tests("embedded")
    assert lifecycle not in CRITERIA["CLUSTER"].required_tests("kind")


def test_losing_a_node_is_required_only_on_a_cluster_of_several_nodes():
    node_loss = "tests_resilience/test_node_loss.py::test_losing_a_worker_moves_its_pods_and_loses_no_task"
    assert node_loss in CRITERIA["RES"].required_tests("kind", nodes=3)
    assert node_loss not in CRITERIA["RES"].required_tests("kind", nodes=1)
    assert node_loss not in CRITERIA["RES"].required_tests("embedded", nodes=1)
    assert node_loss in CRITERIA["RES"].required_tests(None)  # the node count unknown: everything is required


def test_the_registry_digest_claim_is_required_only_with_a_registry():
    from deployproof.report import NOT_REQUIRED, TestRecord, judge

    digest_test = "tests_deploy/test_deployment.py::test_every_pod_runs_the_digest_the_registry_push_returned"
    assert digest_test in CRITERIA["SC-1"].required_tests("existing", registry=True)
    assert digest_test not in CRITERIA["SC-1"].required_tests("existing", registry=False)
    assert digest_test in CRITERIA["SC-1"].required_tests(None)  # unknown: everything is required

    # Without a registry the test skips "not required: …": SC-1 is judged without it, the claim says so.
    passed = [TestRecord(t, t, {"setup": "passed", "call": "passed", "teardown": "passed"})
              for t in CRITERIA["SC-1"].required_tests("kind", registry=False)]
    skipped = TestRecord(digest_test, digest_test, {"setup": "skipped"}, message="not required: no --image-registry")
    without = judge(CRITERIA["SC-1"], passed + [skipped], "kind", 1, registry=False)
    assert without.verdict == "passed" and [c.verdict for c in without.claims][-1] == NOT_REQUIRED
    # With a registry the same skip leaves SC-1 unproven in part, never passed.
    with_registry = judge(CRITERIA["SC-1"], passed + [skipped], "kind", 1, registry=True)
    assert with_registry.verdict == "partial" and any(digest_test in m for m in with_registry.missing)
