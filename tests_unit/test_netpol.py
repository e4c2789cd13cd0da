"""NETPOL's judging, without a cluster: the enforcement probe's verdict, the controls every denial needs, the
connect scripts' output, and the skip path through the gate (a cluster that does not enforce → unproven)."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from fixtures.netpol import (CONNECT_JS, CONNECT_PY, Pair, Seen, Source, Target, judge_enforcement, missing_controls,
                             parse_attempt, table)

ROOT = Path(__file__).resolve().parents[1]
CLIENT = Source("client", "dp-netpol-abc", "client", "probe")
SERVER = Target("probe server pod", "10.244.0.9", 8080)


def _seen(outcome: str, took_s: float = 0.01) -> Seen:
    return Seen(Pair(CLIENT, SERVER, allowed=True), outcome, took_s)


def test_a_connection_cut_by_the_deny_all_policy_means_enforced():
    verdict = judge_enforcement(str(SERVER), _seen("connected"), _seen("timeout", 3.0), 1.4)
    assert verdict.enforced and verdict.denied_as == "timeout" and verdict.programmed_s == 1.4


def test_a_connection_left_open_by_the_deny_all_policy_is_unproven_naming_the_cause():
    verdict = judge_enforcement(str(SERVER), _seen("connected"), _seen("connected"), 20.3)
    assert not verdict.enforced
    assert verdict.reason.startswith("unproven: this cluster does not enforce NetworkPolicies: "
                                     "a deny-all policy left probe server pod 10.244.0.9:8080 reachable")


@pytest.mark.parametrize("before", [None, _seen("refused"), _seen("timeout", 3.0)])
def test_a_failed_positive_control_is_a_broken_probe_not_a_verdict(before):
    with pytest.raises(AssertionError, match="positive control failed"):
        judge_enforcement(str(SERVER), before, _seen("timeout"), 1.0)


def test_no_attempt_after_the_policy_is_a_broken_probe():
    with pytest.raises(AssertionError, match="no connection attempt"):
        judge_enforcement(str(SERVER), _seen("connected"), None, 20.0)


def test_every_denial_needs_an_allowed_connection_from_its_source_and_to_its_target():
    stranger, frontend = Source("stranger", "todo", "s", "probe"), Source("frontend", "todo", "f", "web", "node")
    database, web = Target("database Service", "10.96.0.20", 5432), Target("frontend Service", "10.96.0.30", 3000)
    denial = Pair(stranger, database, allowed=False)
    assert len(missing_controls([denial])) == 2
    assert missing_controls([denial, Pair(stranger, web, True)]) == [
        "stranger → database Service 10.96.0.20:5432: no allowed connection to database Service 10.96.0.20:5432"]
    assert missing_controls([denial, Pair(stranger, web, True), Pair(frontend, database, True)]) == []


@pytest.mark.parametrize("output, expected", [
    ('{"outcome": "connected", "s": 0.004}\n', ("connected", 0.004)),
    ('warning: something\n{"outcome":"timeout","s":3.001}', ("timeout", 3.001)),
    ('{"outcome":"EHOSTUNREACH: connect EHOSTUNREACH 10.244.0.9:8080","s":3.08}', ("EHOSTUNREACH: connect EHOSTUNREACH 10.244.0.9:8080", 3.08)),
])
def test_the_connect_scripts_result_is_read_from_its_last_json_line(output, expected):
    assert parse_attempt(output) == expected


def test_output_without_a_result_is_an_error_not_a_denial():
    with pytest.raises(AssertionError, match="printed no result"):
        parse_attempt("OCI runtime exec failed: exec: \"python\": executable file not found in $PATH")


def test_each_runtime_gets_its_own_connect_script():
    assert CLIENT.command("10.0.0.1", 80, 3.0) == ["python", "-c", CONNECT_PY, "10.0.0.1", "80", "3.0"]
    assert Source("frontend", "todo", "f", "web", "node").command("10.0.0.1", 80, 3.0) == ["node", "-e", CONNECT_JS, "10.0.0.1", "80", "3.0"]


def test_the_table_marks_the_unexpected_connections():
    seen = [_seen("connected"), Seen(Pair(CLIENT, SERVER, allowed=False), "connected", 0.01)]
    lines = table(seen).splitlines()
    assert "expected open" in lines[0] and not lines[0].endswith("✗")
    assert "expected closed" in lines[1] and lines[1].endswith("✗")


NETPOL_TESTS = ("test_a_deny_all_policy_cuts_a_connection_that_worked",
                "test_database_admits_the_backend_and_the_frontend_and_refuses_a_stranger",
                "test_backend_admits_the_frontend_and_refuses_a_stranger",
                "test_another_namespace_reaches_the_frontend_but_neither_the_backend_nor_the_database")


def test_a_cluster_that_does_not_enforce_makes_netpol_unproven_never_passed(pytester: pytest.Pytester, monkeypatch):
    """The real netpol_enforced fixture over a probe that saw the connection stay open: every NETPOL test is
    skipped with the reason, the criterion is unproven and the gate fails."""
    monkeypatch.setenv("PYTHONPATH", str(ROOT))  # the generated project imports fixtures.netpol from this checkout
    pytester.makepyprojecttoml('[tool.pytest.ini_options]\ntestpaths = ["tests_deploy"]\n')
    pytester.makeconftest("""
        import pytest
        from fixtures.netpol import Pair, Seen, Source, Target, judge_enforcement

        pytest_plugins = ["fixtures.netpol"]

        @pytest.fixture(scope="session")
        def netpol_enforcement():
            seen = Seen(Pair(Source("client", "ns", "client", "probe"), Target("probe server pod", "10.244.0.9", 8080), True),
                        "connected", 0.01)
            return judge_enforcement("probe server pod 10.244.0.9:8080", seen, seen, 20.0)
    """)
    pytester.mkdir("tests_deploy")
    body = "".join(f"def {name}(netpol_enforced):\n    raise AssertionError('must not run')\n\n" for name in NETPOL_TESTS)
    (pytester.path / "tests_deploy" / "test_network_policies.py").write_text(textwrap.dedent(body))
    result = pytester.runpytest_subprocess("--criteria", "NETPOL")
    assert result.ret == 1, result.stdout.str()
    result.assert_outcomes(skipped=4)
    netpol = next(c for c in json.loads((pytester.path / "reports" / "success-criteria.json").read_text())["criteria"]
                  if c["criterion"] == "NETPOL")
    assert netpol["verdict"] == "unproven"
    assert len(netpol["missing"]) == 4 and all(
        "(skipped: unproven: this cluster does not enforce NetworkPolicies: a deny-all policy left probe server pod "
        "10.244.0.9:8080 reachable" in m for m in netpol["missing"]), netpol["missing"]


def test_probe_pods_name_the_registry_pull_secret_when_there_is_one():
    from fixtures.netpol import probe_pod

    assert "imagePullSecrets" not in probe_pod("p", "todo-backend:1", {}, "pass")["spec"]
    pod = probe_pod("p", "172.18.0.1:5443/todo-backend:1@sha256:" + "0" * 64, {}, "pass", pull_secret="todo-registry")
    assert pod["spec"]["imagePullSecrets"] == [{"name": "todo-registry"}]


def test_scratch_namespaces_get_the_pull_secret_only_with_registry_credentials(monkeypatch):
    from deployproof.image_registry import Registry
    from deployproof.settings import Settings
    from fixtures.netpol import scratch_pull_secret

    made: list[tuple[str, str]] = []
    monkeypatch.setattr("deployproof.image_registry.ensure_pull_secret", lambda core, ns, name, registry, auth: made.append((ns, name)))
    k8s = type("K8s", (), {"core": object()})()
    assert scratch_pull_secret(k8s, "dp-netpol-1", Settings()) is None
    monkeypatch.setattr("deployproof.image_registry.credentials", lambda registry, docker_config=None: None)
    assert scratch_pull_secret(k8s, "dp-netpol-1", Settings(image_registry=Registry("172.18.0.1", 5443))) is None
    monkeypatch.setattr("deployproof.image_registry.credentials", lambda registry, docker_config=None: {"username": "u", "password": "p"})
    assert scratch_pull_secret(k8s, "dp-netpol-1", Settings(image_registry=Registry("172.18.0.1", 5443))) == "todo-registry"
    assert made == [("dp-netpol-1", "todo-registry")]
