"""pytest-xdist: a run that selects deploy tests is refused before any test starts; unit tests may use -n.

pytest-xdist is not in requirements.lock, so the controller and the worker are stood in for by a conftest
that does what xdist does at those points (its `--dist`/`--tx` options and the
`pytest_xdist_node_collection_finished` hook on the controller; `config.workerinput` on a worker). Where
xdist is installed, the last test runs the real `-n 2`.
"""

from __future__ import annotations

import textwrap

import pytest

DEPLOY_TESTS = """
    import pathlib

    def test_service_types():
        pathlib.Path("a-deploy-test-ran").write_text("yes")

    def test_node_port_serves_the_app_page_and_the_backend_health():
        pass
"""
CONTROLS = """
    import pathlib
    import pytest

    @pytest.fixture
    def cluster():
        pathlib.Path("a-cluster-came-up").write_text("yes")

    @pytest.mark.negative_control
    def test_broken_release_turns_its_criterion_failed(cluster):
        pass
"""
UNIT_TESTS = "def test_a():\n    pass\n\ndef test_b():\n    pass\n"

# What xdist's controller does once a worker has collected (xdist/dsession.py: worker_collectionfinish),
# with its two options that say the run is distributed.
CONTROLLER = """
    import pytest

    class XdistHooks:
        @pytest.hookspec
        def pytest_xdist_node_collection_finished(self, node, ids):
            pass

    def pytest_addhooks(pluginmanager):
        pluginmanager.add_hookspecs(XdistHooks)

    def pytest_addoption(parser):
        parser.addoption("--dist", default="no")
        parser.addoption("--tx", action="append", default=[])

    class Node:
        def __init__(self, config):
            self.config = config

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtestloop(session):
        ids = [item.nodeid for item in session.items]
        session.config.hook.pytest_xdist_node_collection_finished(node=Node(session.config), ids=ids)
"""
# What xdist sets on a worker's config (xdist/remote.py).
WORKER = """
    def pytest_configure(config):
        config.workerinput = {"workerid": "gw3"}
"""
STAND_IN = ("-p", "no:xdist")  # where xdist is installed, the stand-ins take its place


def _project(pytester: pytest.Pytester, conftest: str) -> None:
    pytester.makepyprojecttoml('[tool.pytest.ini_options]\ntestpaths = ["tests_deploy", "tests_unit"]\n')
    pytester.makeconftest(textwrap.dedent(conftest))
    for folder, name, body in (("tests_deploy", "test_deployment.py", DEPLOY_TESTS), ("tests_deploy", "test_gate_controls.py", CONTROLS),
                               ("tests_unit", "test_units.py", UNIT_TESTS)):
        (pytester.path / folder).mkdir(exist_ok=True)
        (pytester.path / folder / name).write_text(textwrap.dedent(body))


def test_the_controller_refuses_deploy_tests_before_any_test_starts(pytester: pytest.Pytester):
    _project(pytester, CONTROLLER)
    result = pytester.runpytest_subprocess(*STAND_IN, "--dist", "load", "--tx", "popen", "--tx", "popen")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([
        "ERROR: pytest-xdist spreads the tests over 2 worker(s) (-n 2, --dist load), but 2 selected tests are deploy tests "
        "(e.g. tests_deploy/test_deployment.py::test_service_types): a session brings up one cluster and installs one release*",
        "  fix: run deploy tests without -n/--dist (e.g. `pytest -m deploy`); unit tests may use -n (`pytest tests_unit -n 2`)",
    ])
    assert not (pytester.path / "a-deploy-test-ran").exists()
    assert not (pytester.path / "reports").exists()


def test_the_controller_lets_unit_tests_run_in_parallel(pytester: pytest.Pytester):
    _project(pytester, CONTROLLER)
    result = pytester.runpytest_subprocess(*STAND_IN, "--dist", "load", "--tx", "popen", "--tx", "popen", "tests_unit")
    assert result.ret == 0, result.stdout.str() + result.stderr.str()
    result.assert_outcomes(passed=2)


def test_a_worker_fails_a_marked_deploy_test_before_its_fixtures_run(pytester: pytest.Pytester):
    _project(pytester, WORKER)
    result = pytester.runpytest_subprocess(*STAND_IN, "tests_deploy/test_gate_controls.py", "tests_unit")
    result.assert_outcomes(passed=2, errors=1)
    result.stdout.fnmatch_lines(["pytest-xdist runs this test in worker gw3, but "
                                 "tests_deploy/test_gate_controls.py::test_broken_release_turns_its_criterion_failed is a deploy test*"])
    assert not (pytester.path / "a-cluster-came-up").exists()
    assert not (pytester.path / "reports").exists()  # a worker writes no report


def test_a_nested_run_that_inherited_a_worker_variable_is_not_a_worker(pytester: pytest.Pytester, monkeypatch):
    """pytester and the negative controls start pytest inside a test: under `-n` they inherit PYTEST_XDIST_WORKER."""
    _project(pytester, "")
    monkeypatch.setenv("PYTEST_XDIST_WORKER", "gw0")
    result = pytester.runpytest_subprocess("--criteria", "SC-2", "tests_deploy/test_deployment.py")
    assert result.ret == 0, result.stdout.str()
    assert (pytester.path / "reports" / "report.html").is_file()


def test_real_xdist_refuses_deploy_tests_and_runs_unit_tests(pytester: pytest.Pytester):
    _project(pytester, "")
    refused = pytester.runpytest_subprocess("-n", "2")
    assert refused.ret == pytest.ExitCode.USAGE_ERROR
    refused.stderr.fnmatch_lines(["ERROR: pytest-xdist spreads the tests over 2 worker(s)*deploy tests*", "  fix: *"])
    assert not (pytester.path / "a-deploy-test-ran").exists()
    assert pytester.runpytest_subprocess("-n", "2", "tests_unit").ret == 0
