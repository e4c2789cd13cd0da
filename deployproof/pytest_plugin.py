"""The pytest plugin (pytest11 entry point): options, markers, the success-criteria report and the gate.

Fixtures live in fixtures/ (loaded by the root conftest.py); this module only
registers options and markers, maps test outcomes onto success criteria, prints
the criteria table, writes the report files, and fails the run when a criterion fails.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from .report import CRITERIA, Evidence, Report, render_table

MARKERS = {
    "deploy": "runs against a live cluster and deployment (brings them up when needed)",
    "functional": "exercises the deployed app as a user would (through the NodePort)",
    "resilience": "kills pods / disturbs the deployment and measures recovery",
    "locust": "load runs with Locust (bounded, 127.0.0.1 only)",
    "slow": "takes more than a minute",
    "criterion(*ids)": "the success criteria (SC-1 … SC-6, RES, CLUSTER) this test proves",
}

# (option, env var, default, help)
OPTIONS = [
    ("--cluster-provider", "DEPLOYPROOF_CLUSTER_PROVIDER", "auto", "auto|embedded|minikube|kind|existing (auto: minikube, else kind, else embedded)"),
    ("--kube-context", "DEPLOYPROOF_KUBE_CONTEXT", None, "kubeconfig context for --cluster-provider=existing (kubeconfig: --kubeconfig)"),
    ("--keep", "DEPLOYPROOF_KEEP", "on-failure", "keep the release and cluster after the run: always|on-failure|never"),
    ("--namespace", "DEPLOYPROOF_NAMESPACE", "todo", "namespace of the release (created, labelled Pod Security restricted)"),
    ("--release-name", "DEPLOYPROOF_RELEASE", "todo", "helm release name"),
    ("--values", "DEPLOYPROOF_VALUES", None, "extra values files for the umbrella chart, comma separated"),
    ("--skip-image-build", "DEPLOYPROOF_SKIP_IMAGE_BUILD", None, "use these images instead of building: backend=TAG,frontend=TAG,database=TAG"),
    ("--image-base", "DEPLOYPROOF_IMAGE_BASE", "local", "base images: local (built from Debian packages) or official (pulled)"),
    ("--diagnostics-dir", "DEPLOYPROOF_DIAGNOSTICS_DIR", "diagnostics", "where a failure's diagnostics folder goes"),
    ("--report-dir", "DEPLOYPROOF_REPORT_DIR", "reports", "where the success-criteria report goes"),
    ("--deploy-timeout", "DEPLOYPROOF_DEPLOY_TIMEOUT", "600", "seconds allowed for helm install --wait (SC-6 criterion: 600)"),
]

REPORT_KEY = pytest.StashKey[Report]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("deployproof", "deployproof: cluster, release and success criteria")
    for option, env, default, text in OPTIONS:
        group.addoption(option, default=os.environ.get(env, default), help=f"{text} [env {env}; default {default}]")


def option(config: pytest.Config, name: str) -> str | None:
    return config.getoption(name.lstrip("-").replace("-", "_"))


def pytest_configure(config: pytest.Config) -> None:
    for name, text in MARKERS.items():
        config.addinivalue_line("markers", f"{name}: {text}")
    config.stash[REPORT_KEY] = Report()


def pytest_report_header(config: pytest.Config) -> list[str]:
    import yaml

    from . import charts, versions
    from .providers import resolve_name

    try:
        provider = resolve_name(option(config, "cluster-provider") or "auto")
    except Exception as exc:  # noqa: BLE001 - the header must never stop a run; the fixture reports it properly
        provider = f"invalid ({exc})"
    chart = yaml.safe_load((charts.chart_dir(charts.UMBRELLA) / "Chart.yaml").read_text())
    return [
        f"deployproof: provider={provider} context={option(config, 'kube-context') or 'provider default'} "
        f"namespace={option(config, 'namespace')} release={option(config, 'release-name')}",
        f"deployproof: kubernetes(pinned)={versions.KUBERNETES} chart={chart['name']}-{chart['version']} app={chart.get('appVersion')} "
        f"images=content-tagged at build ({option(config, 'image-base')} base)",
    ]


def _criteria(item: pytest.Item) -> list[str]:
    ids: list[str] = []
    for mark in item.iter_markers("criterion"):
        ids.extend(mark.args)
    return ids


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    outcome = yield
    report: pytest.TestReport = outcome.get_result()
    if report.failed and "release" in getattr(item, "funcargs", {}):
        _attach_recent_events(item, report)
    criteria = _criteria(item)
    if not criteria:
        return
    # A setup failure (a fixture that could not deploy) counts against the criterion too.
    if report.when == "call" or (report.when == "setup" and not report.passed):
        figures = dict(item.stash.get(FIGURES_KEY, {}))
        message = ""
        if report.failed:
            message = str(report.longrepr).strip().splitlines()[-1][:300] if report.longrepr else ""
        item.config.stash[REPORT_KEY].add(criteria, Evidence(item.nodeid, report.outcome, round(report.duration, 2), figures, message))


FIGURES_KEY = pytest.StashKey[dict]()


def _attach_recent_events(item: pytest.Item, report: pytest.TestReport) -> None:
    """Put the release namespace's latest events into the failing test's report: the likely why."""
    from .runner import run
    from .tools import find

    release = item.funcargs["release"]
    out = run([find("kubectl"), "--kubeconfig", release.kubeconfig, "--context", release.context, "-n", release.namespace,
               "get", "events", "--sort-by=.lastTimestamp"], check=False, quiet=True)
    tail = "\n".join((out.stdout or out.stderr).splitlines()[-15:])
    report.sections.append(("cluster events (latest 15)", tail))


@pytest.fixture
def figures(request: pytest.FixtureRequest) -> dict:
    """Record measured figures of this test: they land in the report and in JUnit XML properties."""
    recorded: dict = {}
    request.node.stash[FIGURES_KEY] = recorded
    yield recorded
    for key, value in recorded.items():
        request.node.user_properties.append((key, value))


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    report = config.stash.get(REPORT_KEY, None)
    if report is None or not report.evidence:
        return
    expected = [c for c in CRITERIA if c.startswith("SC-") or c == "RES"]
    results = report.results(expected)
    terminalreporter.section("success criteria")
    terminalreporter.write_line(render_table(results))
    paths = report.write(Path(option(config, "report-dir") or "reports"), expected)
    terminalreporter.write_line(f"\nreport: {paths['json']} and {paths['markdown']}")
    for key, value in report.context.items():
        if key in ("app_url", "diagnostics"):
            terminalreporter.write_line(f"{key}: {value}")


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    report = session.config.stash.get(REPORT_KEY, None)
    if report is None:
        return
    if any(r.verdict == "failed" for r in report.results()) and session.exitstatus == 0:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
