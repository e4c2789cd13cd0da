"""The command line (deployproof/cli.py): options from the settings, --version, and exit codes that tell
usage errors (2), missing prerequisites (3) and failed deployments (1) apart. No cluster: the library
calls are replaced by stand-ins that record what they were given."""

from __future__ import annotations

import contextlib
import shutil
from pathlib import Path

import pytest

from deployproof import cli, deploy as deploy_module, providers, versions
from deployproof.deploy import Deployment, ImageRef, Timings
from deployproof.errors import DeploymentError
from deployproof.release import Release


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch, tmp_path):
    """No settings from the developer's environment or the checkout's pyproject.toml; no logging set-up."""
    for name in ("KUBECONFIG", "DEPLOYPROOF_CLUSTER_PROVIDER", "DEPLOYPROOF_KUBE_CONTEXT", "DEPLOYPROOF_KEEP", "DEPLOYPROOF_NAMESPACE",
                 "DEPLOYPROOF_RELEASE", "DEPLOYPROOF_VALUES", "DEPLOYPROOF_SKIP_IMAGE_BUILD", "DEPLOYPROOF_IMAGE_BASE",
                 "DEPLOYPROOF_DIAGNOSTICS_DIR", "DEPLOYPROOF_REPORT_DIR", "DEPLOYPROOF_DEPLOY_TIMEOUT", "DEPLOYPROOF_CRITERIA"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr("deployproof.progress.configure_cli_logging", lambda verbosity=0: None)


class Recorder:
    """Stand-ins for get_provider, cluster() and deploy(): remember the settings, optionally fail."""

    def __init__(self, monkeypatch, fail: Exception | None = None) -> None:
        self.settings = None
        self.fail = fail
        monkeypatch.setattr(providers, "get_provider", self.get_provider)
        monkeypatch.setattr(deploy_module, "cluster", self.cluster)
        monkeypatch.setattr(deploy_module, "deploy", self.deploy)

    def get_provider(self, settings):
        self.settings = settings
        return object()

    @contextlib.contextmanager
    def cluster(self, settings, provider):
        yield object()

    @contextlib.contextmanager
    def deploy(self, settings, provider, *, cluster_run=None, record=None, **kwargs):
        if self.fail is not None:
            raise self.fail
        record.update(Timings(images_cached="yes").report_context())
        yield Deployment(
            url="http://127.0.0.1:30080", release=settings.release_name, namespace=settings.namespace,
            kubeconfig=Path("/k"), context="deployproof", provider="embedded",
            images={"backend": ImageRef("backend", "todo-backend:abc", "sha256:0123456789abcdef")},
            timings=Timings(cluster_up_s=1.0, images_built_s=2.0, images_loaded_s=3.0, helm_to_ready_s=40.0, total_s=46.0),
            helm=Release(settings.release_name, settings.namespace, Path("/k"), "deployproof"))


def test_version_prints_the_package_and_the_pinned_kubernetes(capsys):
    with pytest.raises(SystemExit) as exit_:
        cli.main(["--version"])
    out = capsys.readouterr().out
    assert exit_.value.code == 0
    assert out.startswith("deployproof ") and versions.KUBERNETES in out


def test_an_invalid_keep_fails_at_start_with_the_valid_choices(monkeypatch, capsys):
    recorder = Recorder(monkeypatch)
    assert cli.main(["deploy", "--keep=sometimes"]) == cli.EXIT_USAGE
    err = capsys.readouterr().err
    assert "--keep=sometimes" in err and "always, on-failure, never" in err and "fix:" in err
    assert recorder.settings is None  # nothing was started


def test_an_invalid_value_from_the_environment_is_a_usage_error_too(monkeypatch, capsys):
    monkeypatch.setenv("DEPLOYPROOF_DEPLOY_TIMEOUT", "soon")
    assert cli.main(["deploy"]) == cli.EXIT_USAGE
    assert "DEPLOYPROOF_DEPLOY_TIMEOUT" in capsys.readouterr().err


def test_an_unknown_option_is_argparse_usage_exit_2():
    with pytest.raises(SystemExit) as exit_:
        cli.main(["deploy", "--no-such-option"])
    assert exit_.value.code == cli.EXIT_USAGE


def test_deploy_prints_the_url_and_the_timings_and_keeps_the_app_up(monkeypatch, capsys):
    recorder = Recorder(monkeypatch)
    assert cli.main(["deploy", "--namespace", "h1", "--release-name", "h1"]) == 0
    out = capsys.readouterr().out
    assert "app: http://127.0.0.1:30080" in out and "helm to all Ready" in out and "release h1 in namespace h1" in out
    assert recorder.settings.keep == "always"  # from the command line the app stays up unless --keep says otherwise
    assert (recorder.settings.namespace, recorder.settings.release_name) == ("h1", "h1")


def test_an_explicit_keep_is_honoured(monkeypatch, capsys):
    recorder = Recorder(monkeypatch)
    assert cli.main(["deploy", "--keep=never"]) == 0
    assert recorder.settings.keep == "never"
    assert "uninstalled again" in capsys.readouterr().out


def test_a_failed_deployment_exits_1_with_cause_and_fix(monkeypatch, capsys):
    Recorder(monkeypatch, fail=DeploymentError("pod todo-backend-1: ErrImageNeverPull", "load it into the cluster; diagnostics: /d"))
    assert cli.main(["deploy"]) == cli.EXIT_FAILED
    err = capsys.readouterr().err
    assert "error: pod todo-backend-1: ErrImageNeverPull" in err and "  fix: load it into the cluster" in err


def test_a_missing_prerequisite_exits_3(monkeypatch, capsys):
    monkeypatch.setattr(shutil, "which", lambda name: None)  # no kind on PATH
    assert cli.main(["deploy", "--cluster-provider", "kind"]) == cli.EXIT_PREREQUISITE
    err = capsys.readouterr().err
    assert "error:" in err and "kind" in err and "  fix: " in err


def test_undeploy_removes_the_named_release(monkeypatch, capsys):
    removed = []
    monkeypatch.setattr(providers, "get_provider", lambda settings: object())
    monkeypatch.setattr(deploy_module, "undeploy", lambda settings, provider: removed.append((settings.release_name, settings.namespace)))
    assert cli.main(["undeploy", "--release-name", "h1", "--namespace", "h1"]) == 0
    assert removed == [("h1", "h1")]


def test_cluster_commands_take_the_same_settings_and_the_old_spellings(monkeypatch, capsys):
    seen = []

    class Status:
        def status(self):
            return {"provider": "existing"}

    monkeypatch.setattr(providers, "get_provider", lambda settings: seen.append(settings) or Status())
    assert cli.main(["cluster", "status", "--cluster-provider", "embedded"]) == 0
    assert cli.main(["cluster", "status", "--provider", "kind", "--context", "kind-x"]) == 0
    assert (seen[0].cluster_provider, seen[1].cluster_provider, seen[1].kube_context) == ("embedded", "kind", "kind-x")
    assert cli.main(["cluster", "status"]) == 0
    assert seen[2].cluster_provider == "auto"  # the Settings default, as in pytest


def test_ini_defaults_come_from_pyproject(monkeypatch, tmp_path):
    (tmp_path / "pyproject.toml").write_text('[tool.pytest.ini_options]\ndeployproof_namespace = "from-ini"\n')
    recorder = Recorder(monkeypatch)
    assert cli.main(["deploy"]) == 0
    assert recorder.settings.namespace == "from-ini" and recorder.settings.sources["namespace"].startswith("ini")
