"""The pytest plugin (pytest11 entry point): wiring only — options, markers, live progress, the report and the gate.

Settings come from deployproof/settings.py (one declaration for pytest, the CLI and the
library); the criteria map from deployproof/criteria.py; verdicts from deployproof/report.py.
Fixtures live in fixtures/ (loaded by the root conftest.py).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path, PurePosixPath

import pytest

from .criteria import CRITERIA, map_key
from .errors import UsageError
from .report import Report, render_table
from .settings import FIELDS, Settings

MARKERS = {
    "deploy": "runs against a live cluster and deployment (brings them up when needed)",
    "functional": "exercises the deployed app as a user would (through the NodePort)",
    "resilience": "kills pods / disturbs the deployment and measures recovery",
    "locust": "load runs with Locust (bounded; only to loopback, our own cluster nodes or --allow-load-to)",
    "slow": "takes more than a minute",
    "negative_control": "deploys a deliberately broken release and checks that the gate turns its criterion failed",
    "criterion(*ids)": "documentation only: the criteria this test helps prove (deployproof/criteria.py decides)",
}

SETTINGS_KEY = pytest.StashKey[Settings]()
REPORT_KEY = pytest.StashKey[Report]()
FIGURES_KEY = pytest.StashKey[dict]()
COLLECTED_KEY = pytest.StashKey[set]()
PROJECT_ROOT = Path(__file__).resolve().parents[1]


# --- options and settings -------------------------------------------------------------------------

def pytest_addoption(parser: pytest.Parser, pluginmanager: pytest.PytestPluginManager) -> None:
    group = parser.getgroup("deployproof", "deployproof: cluster, release and success criteria")
    for f in FIELDS:
        parser.addini(f.ini, f"{f.help} (deployproof setting; option {f.option})", default=None)
        if f.pytest_owned:
            continue  # --kubeconfig is registered by pytest-helm-charts; we read its value
        choices = f" {{{','.join(f.choices)}}}" if f.choices else ""
        extra = {"action": "store_const", "const": "true"} if f.flag else {}
        group.addoption(f.option, default=None, dest=f"deployproof_{f.name}", **extra,
                        help=f"{f.help}{choices} [env {f.env}; ini {f.ini}; default {f.default or 'none'}]")


def _given(config: pytest.Config) -> dict[str, str | None]:
    given = {}
    for f in FIELDS:
        # pytest-helm-charts derives --kubeconfig from KUBECONFIG, so argparse's dest is "kubeconfig"
        dest = "kubeconfig" if f.pytest_owned else f"deployproof_{f.name}"
        given[f.name] = config.getoption(dest, None)
    return given


def _ini(config: pytest.Config) -> dict[str, str | None]:
    return {f.name: config.getini(f.ini) for f in FIELDS}


@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests(early_config: pytest.Config, parser: pytest.Parser, args: list[str]) -> None:
    """Find the project's ini file even when an option's value was taken for a path.

    Before plugins load, pytest does not know that `--values FILE` takes a value: it counts FILE among
    the paths to test and guesses the rootdir (and so the ini file) from it, so a values file outside
    the checkout hid pyproject.toml. Now that our options are known, guess again from the real paths.
    """
    from _pytest.config.findpaths import determine_setup  # pytest is pinned (pyproject.toml)

    known = early_config.known_args_namespace  # re-parsed by pytest after the plugins loaded
    rootpath, inipath, inicfg, _ = determine_setup(
        inifile=known.inifilename, override_ini=known.override_ini, args=known.file_or_dir,
        rootdir_cmd_arg=known.rootdir or None, invocation_dir=early_config.invocation_params.dir)
    if (rootpath, inipath) == (early_config.rootpath, early_config.inipath):
        return
    early_config._rootpath, early_config._inipath, early_config._inicfg = rootpath, inipath, inicfg
    early_config._inicache.clear()
    known.confcutdir = str(inipath.parent if inipath else rootpath)


def pytest_configure(config: pytest.Config) -> None:
    for name, text in MARKERS.items():
        config.addinivalue_line("markers", f"{name}: {text}")
    try:
        settings = Settings.load(_given(config), ini=_ini(config))
    except UsageError as exc:
        raise pytest.UsageError(f"{exc.cause}\n  fix: {exc.fix}") from None
    config.stash[SETTINGS_KEY] = settings
    config.stash[REPORT_KEY] = Report(scope=settings.criteria, settings=settings.describe(),
                                      registry=settings.image_registry is not None)
    config.stash[COLLECTED_KEY] = set()
    _show_progress_live(config)


def settings_of(config: pytest.Config) -> Settings:
    return config.stash[SETTINGS_KEY]


def option(config: pytest.Config, name: str):
    """A setting's value by its option name (`--keep` → settings.keep); prefer the `settings` fixture."""
    return getattr(settings_of(config), name.lstrip("-").replace("-", "_"))


@pytest.fixture(scope="session")
def settings(pytestconfig: pytest.Config) -> Iterator[Settings]:
    """The validated settings of this run (override in a conftest to change them for a test tree). With
    --test-registry=on the test registry runs for the session and the settings name it as --image-registry."""
    settings = settings_of(pytestconfig)
    if settings.test_registry != "on":
        yield settings
        return
    from .providers import resolve_name
    from .registry_server import start_test_registry

    server = start_test_registry(resolve_name(settings.cluster_provider), log_dir=settings.diagnostics_dir)
    try:
        settings = settings.with_values(image_registry=server.registry, image_registry_ca=server.ca_cert)
        pytestconfig.stash[SETTINGS_KEY] = settings
        report = pytestconfig.stash[REPORT_KEY]
        report.registry, report.settings = True, settings.describe()
        report.context["test_registry"] = f"{server.url} (TLS, basic auth; up in {server.started_s}s; log {server.log_path})"
        yield settings
    finally:
        server.stop()


def pytest_report_header(config: pytest.Config) -> list[str]:
    settings = settings_of(config)
    return [f"deployproof: kubernetes={settings.kubernetes_version} gate scope={','.join(settings.criteria)}",
            "deployproof settings: " + "; ".join(settings.describe())]


# --- live progress ----------------------------------------------------------------------------------

class _LiveHandler(logging.Handler):
    """Writes deployproof's progress lines to the terminal as they happen, around pytest's capture."""

    def __init__(self, config: pytest.Config) -> None:
        super().__init__()
        self.config = config

    def emit(self, record: logging.LogRecord) -> None:
        terminal = self.config.pluginmanager.get_plugin("terminalreporter")
        capture = self.config.pluginmanager.get_plugin("capturemanager")
        if terminal is None:
            return
        line = self.format(record)
        try:
            if capture is not None:
                with capture.global_and_fixture_disabled():
                    terminal.write_line(line)
            else:
                terminal.write_line(line)
        except Exception:  # noqa: BLE001 - progress output must never fail a test
            self.handleError(record)


def _show_progress_live(config: pytest.Config) -> None:
    from . import progress

    handler = _LiveHandler(config)
    handler.setFormatter(progress.ProgressFormatter())
    level = logging.WARNING if config.get_verbosity() < 0 else logging.INFO
    # Records still propagate: pytest's log capture keeps them for a failing test's report and caplog.
    progress.attach(handler, level=level, propagate=True)
    config.add_cleanup(lambda: logging.getLogger(progress.LOGGER_NAME).removeHandler(handler))


# --- collection and outcomes ------------------------------------------------------------------------

def item_key(item: pytest.Item) -> str:
    """`folder/file.py::function` — the criteria map's name for a test, whatever the rootdir."""
    path = Path(str(item.path))
    function = getattr(item, "originalname", None) or item.name.split("[", 1)[0]
    return map_key(f"{path.parent.name}/{path.name}::{function}")


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # Seen before -m/-k deselect anything: a run that collected a criterion's test is a deploy run.
    mapped = {key for c in CRITERIA.values() for claim in c.claims for key in claim.tests}
    config.stash[COLLECTED_KEY].update(k for k in map(item_key, items) if k in mapped)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    report: pytest.TestReport = yield
    if report.failed and "release" in getattr(item, "funcargs", {}):
        _attach_recent_events(item, report)
    key = item_key(item)
    if key not in item.config.stash[COLLECTED_KEY]:
        return report
    message = ""
    if report.skipped and isinstance(report.longrepr, tuple):
        message = str(report.longrepr[2]).removeprefix("Skipped: ")
    elif report.failed and report.longrepr:
        message = failure_summary(report, item)
    item.config.stash[REPORT_KEY].record(item.nodeid, key, report.when, report.outcome, report.duration,
                                         dict(item.stash.get(FIGURES_KEY, {})), message)
    return report


def failure_summary(report: pytest.TestReport, item: pytest.Item) -> str:
    """The exception's message and the test's own line that led to it: a report reader has no traceback,
    and a bare "ReadTimeout" does not say which of a test's requests timed out."""
    crash = getattr(report.longrepr, "reprcrash", None)
    if crash is None:
        return str(report.longrepr).strip().splitlines()[-1][:300]
    message = (crash.message.strip().splitlines() or [""])[0][:300]
    entries = getattr(getattr(report.longrepr, "reprtraceback", None), "reprentries", [])
    in_test = [loc for loc in (getattr(e, "reprfileloc", None) for e in entries) if loc and Path(loc.path).name == item.path.name]
    return f"{message} (at {in_test[0].path}:{in_test[0].lineno})" if in_test else message  # the outermost: the test body


def _attach_recent_events(item: pytest.Item, report: pytest.TestReport) -> None:
    """Put the release namespace's latest events into the failing test's report: the likely why."""
    from .kube import kubectl_args
    from .runner import run
    from .tools import find

    release = item.funcargs["release"]
    out = run([find("kubectl"), *kubectl_args(release.kubeconfig, release.context), "-n", release.namespace,
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


# --- parallel runs (pytest-xdist): refused for deploy tests ---------------------------------------------
# One session brings up one cluster and installs one release; pod kills, the database outage and the node
# loss disturb that deployment for every test beside them; and the gate is judged from the records of one
# session. Spread over xdist workers, each worker would bring up its own cluster, the disturbances would hit
# each other's tests, and the controller (which collects nothing) would write no report and judge nothing.
# So a run whose selection holds a deploy test is refused before any test starts; others may use -n.

DEPLOY_MARKERS = ("deploy", "negative_control")


def _distributed(config: pytest.Config) -> str | None:
    """How this run spreads its tests over xdist workers, or None; read from xdist's own options and worker input
    (present only where xdist is installed and used). Not from PYTEST_XDIST_WORKER: a nested pytest run (pytester,
    the negative controls) inherits that variable without being a worker."""
    workers = getattr(config.option, "tx", None) or []
    dist = getattr(config.option, "dist", "no")
    if dist != "no" and workers:
        return f"pytest-xdist spreads the tests over {len(workers)} worker(s) (-n {len(workers)}, --dist {dist})"
    worker = getattr(config, "workerinput", {}).get("workerid")
    return f"pytest-xdist runs this test in worker {worker}" if worker else None


def _refusal(how: str, deploy_tests: list[str]) -> str:
    which = (f"{deploy_tests[0]} is a deploy test" if len(deploy_tests) == 1 else
             f"{len(deploy_tests)} selected tests are deploy tests (e.g. {deploy_tests[0]})")
    return (f"{how}, but {which}: a session brings up "
            "one cluster and installs one release, several tests disturb that deployment (pod kills, a database outage, "
            "a node loss), and the success-criteria gate is judged in one session — in parallel workers each would bring "
            "up its own cluster and no report would be written"
            "\n  fix: run deploy tests without -n/--dist (e.g. `pytest -m deploy`); unit tests may use -n (`pytest tests_unit -n 2`)")


def _mapped_id(nodeid: str) -> bool:
    """Whether a node id names a test of the criteria map (the controller sees ids only, not markers)."""
    path, _, rest = nodeid.partition("::")
    file = PurePosixPath(path)
    key = map_key(f"{file.parent.name}/{file.name}::{rest}")
    return any(key in claim.tests for c in CRITERIA.values() for claim in c.claims)


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_node_collection_finished(node, ids: list[str]) -> None:
    """On the xdist controller, once a worker has collected and before anything is scheduled: refuse deploy tests."""
    deploy_tests = [nodeid for nodeid in ids if _mapped_id(nodeid)]
    if deploy_tests:
        raise pytest.UsageError(_refusal(_distributed(node.config) or "pytest-xdist runs this session in workers", deploy_tests))


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    """In a worker, a deploy test the controller let through (a negative control: marked, not in the map) fails
    before its fixtures set anything up."""
    how = _distributed(item.config) if hasattr(item.config, "workerinput") else None
    if how and (any(item.get_closest_marker(m) for m in DEPLOY_MARKERS) or _mapped_id(item.nodeid)):
        pytest.fail(_refusal(how, [item.nodeid]), pytrace=False)


# --- the report and the gate ------------------------------------------------------------------------

def _deploy_run(config: pytest.Config) -> bool:
    """A run that collected a criterion's test (and ran tests: --collect-only judges nothing; an xdist worker never
    runs deploy tests, see above, so it writes no report)."""
    return (bool(config.stash.get(COLLECTED_KEY, set())) and not config.option.collectonly
            and _distributed(config) is None)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    config = session.config
    if not _deploy_run(config):
        return
    report = config.stash[REPORT_KEY]
    report.provider = report.provider or report.context.get("provider")
    report.write(settings_of(config).report_dir)
    if not report.gate_passed() and session.exitstatus == 0:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    if not _deploy_run(config):
        return
    report = config.stash[REPORT_KEY]
    terminalreporter.section("success criteria")
    terminalreporter.write_line(render_table(report))
    directory = settings_of(config).report_dir
    terminalreporter.write_line(f"\nreport: {directory / 'report.html'} (one page: criteria, plots, trend), "
                                f"{directory / 'success-criteria.json'} and {directory / 'success-criteria.md'}")
    for key in ("app_url", "diagnostics"):
        if key in report.context:
            terminalreporter.write_line(f"{key}: {report.context[key]}")
