"""The plugin's gate, tested with pytest's own pytester: real pytest runs on generated test files.

The generated files reuse the names of the criteria map (tests_deploy/test_deployment.py::…), so the
real map judges them.
"""

from __future__ import annotations

import json
import textwrap

import pytest

SC2_PASSING = """
    def test_service_types():
        pass

    def test_node_port_serves_the_app_page_and_the_backend_health():
        pass
"""


def _project(pytester: pytest.Pytester, body: str = SC2_PASSING, ini: str = "") -> None:
    pytester.makepyprojecttoml(f'[tool.pytest.ini_options]\ntestpaths = ["tests_deploy"]\n{ini}')
    pytester.mkdir("tests_deploy")
    (pytester.path / "tests_deploy" / "test_deployment.py").write_text(textwrap.dedent(body))


def _criterion(pytester: pytest.Pytester, name: str, report_dir: str = "reports") -> dict:
    data = json.loads((pytester.path / report_dir / "success-criteria.json").read_text())
    return next(c for c in data["criteria"] if c["criterion"] == name)


def test_every_required_test_passed_makes_the_criterion_passed(pytester: pytest.Pytester):
    _project(pytester)
    result = pytester.runpytest_subprocess("--criteria", "SC-2")
    assert result.ret == 0, result.stdout.str()
    assert _criterion(pytester, "SC-2")["verdict"] == "passed"
    result.stdout.fnmatch_lines(["*SC-2*PASSED*", "*gate: PASSED*"])


def test_a_deselected_required_test_makes_it_partial_and_fails_the_run(pytester: pytest.Pytester):
    _project(pytester)
    result = pytester.runpytest_subprocess("--criteria", "SC-2", "-k", "test_service_types")
    assert result.ret == 1
    sc2 = _criterion(pytester, "SC-2")
    assert sc2["verdict"] == "partial"
    assert sc2["missing"] == ["tests_deploy/test_deployment.py::test_node_port_serves_the_app_page_and_the_backend_health (not run)"]
    result.stdout.fnmatch_lines(["*SC-2*PARTIAL*", "*missing*test_node_port_serves*", "*gate: FAILED*"])


def test_a_failing_fixture_teardown_makes_its_criterion_failed(pytester: pytest.Pytester):
    _project(pytester, """
        import pytest

        @pytest.fixture
        def database_comes_back():
            yield
            raise RuntimeError("the database never came back")

        def test_service_types(database_comes_back):
            pass

        def test_node_port_serves_the_app_page_and_the_backend_health():
            pass
    """)
    result = pytester.runpytest_subprocess("--criteria", "SC-2")
    assert result.ret == 1
    sc2 = _criterion(pytester, "SC-2")
    assert sc2["verdict"] == "failed"
    assert sc2["failed"] == ["tests_deploy/test_deployment.py::test_service_types"]


def test_a_failure_is_recorded_with_its_message_and_the_tests_own_line(pytester: pytest.Pytester):
    _project(pytester, """
        def _fetch():
            raise TimeoutError("the read timed out")

        def test_service_types():
            _fetch()

        def test_node_port_serves_the_app_page_and_the_backend_health():
            pass
    """)
    pytester.runpytest_subprocess("--criteria", "SC-2")
    evidence = _criterion(pytester, "SC-2")["evidence"]
    failed = next(e for e in evidence if e["nodeid"].endswith("test_service_types"))
    # line 6 of the generated file is the test's call of _fetch, not the raise inside the helper
    assert failed["message"] == "TimeoutError: the read timed out (at tests_deploy/test_deployment.py:6)"


def test_a_skipped_required_test_is_missing_with_its_reason(pytester: pytest.Pytester):
    _project(pytester, """
        import pytest

        def test_service_types():
            pytest.skip("unproven: this provider has no NodePorts")

        def test_node_port_serves_the_app_page_and_the_backend_health():
            pass
    """)
    result = pytester.runpytest_subprocess("--criteria", "SC-2")
    assert result.ret == 1
    assert _criterion(pytester, "SC-2")["missing"] == [
        "tests_deploy/test_deployment.py::test_service_types (skipped: unproven: this provider has no NodePorts)"]


def test_criteria_outside_the_scope_do_not_fail_the_run_but_the_full_scope_does(pytester: pytest.Pytester):
    _project(pytester)
    assert pytester.runpytest_subprocess("--criteria", "SC-2").ret == 0
    full = pytester.runpytest_subprocess()  # default scope: every criterion, and SC-1 had no test
    assert full.ret == 1
    assert _criterion(pytester, "SC-1")["verdict"] == "unproven"
    full.stdout.fnmatch_lines(["*SC-1*UNPROVEN*"])


def test_a_run_without_criterion_tests_has_no_gate(pytester: pytest.Pytester):
    pytester.makepyfile(test_other="def test_x():\n    pass\n")
    result = pytester.runpytest_subprocess()
    assert result.ret == 0
    assert not (pytester.path / "reports").exists()


@pytest.mark.parametrize("args, expected", [
    (["--keep=sometimes"], "*--keep=sometimes: not one of always, on-failure, never*"),
    (["--deploy-timeout=ten"], "*--deploy-timeout=ten: expected a whole number of seconds*"),
    (["--criteria=SC-9"], "*unknown criteria SC-9*"),
    (["--cluster-provider=kubeadm"], "*--cluster-provider=kubeadm: not one of auto, embedded, minikube, kind, existing*"),
])
def test_bad_options_are_usage_errors_before_any_test(pytester: pytest.Pytester, args, expected):
    _project(pytester)
    result = pytester.runpytest_subprocess(*args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([expected])
    assert not (pytester.path / "reports").exists()


def test_settings_come_from_the_ini_file_and_the_environment(pytester: pytest.Pytester, monkeypatch):
    _project(pytester, ini='deployproof_criteria = "SC-2"\ndeployproof_report_dir = "from-ini"')
    monkeypatch.setenv("DEPLOYPROOF_REPORT_DIR", "from-env")
    result = pytester.runpytest_subprocess()
    assert result.ret == 0, result.stdout.str()
    data = json.loads((pytester.path / "from-env" / "success-criteria.json").read_text())
    assert data["scope"] == ["SC-2"]
    assert "criteria=SC-2 (ini deployproof_criteria)" in data["settings"]


def test_a_values_file_outside_the_project_keeps_the_ini_file(pytester: pytest.Pytester, tmp_path_factory):
    """`pytest --values ~/my-values.yaml`: pytest first takes the file for a test path; the ini must still apply."""
    _project(pytester, ini='deployproof_criteria = "SC-2"')
    pytester.makepyfile(test_outside_testpaths="def test_never_collected():\n    raise AssertionError\n")
    values = tmp_path_factory.mktemp("elsewhere") / "my-values.yaml"
    values.write_text("frontend: {}\n")
    result = pytester.runpytest_subprocess("--values", str(values))
    assert result.ret == 0, result.stdout.str() + result.stderr.str()
    result.stdout.fnmatch_lines(["*2 passed*"])
    assert json.loads((pytester.path / "reports" / "success-criteria.json").read_text())["scope"] == ["SC-2"]


def test_collect_only_judges_nothing(pytester: pytest.Pytester):
    _project(pytester)
    result = pytester.runpytest_subprocess("--collect-only", "-q")
    assert result.ret == 0
    assert not (pytester.path / "reports").exists()
