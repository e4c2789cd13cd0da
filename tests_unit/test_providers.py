"""Provider choice and the minikube, kind and existing providers' commands and error paths (no cluster needed)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from deployproof.errors import PrerequisiteError
from deployproof.providers import get_provider, resolve_name


def _which(available: set[str]):
    return lambda name: f"/usr/bin/{name}" if name in available else None


@pytest.mark.parametrize(("installed", "expected"), [
    ({"minikube", "kind"}, "minikube"),
    ({"kind"}, "kind"),
    (set(), "embedded"),
])
def test_auto_prefers_minikube_then_kind_then_embedded(monkeypatch, installed, expected):
    monkeypatch.setattr(shutil, "which", _which(installed))
    assert resolve_name("auto") == expected


def test_explicit_choice_wins_and_existing_is_never_guessed(monkeypatch):
    monkeypatch.setattr(shutil, "which", _which({"minikube"}))
    assert resolve_name("embedded") == "embedded"
    assert resolve_name("auto") != "existing"


def test_unknown_provider_names_the_choices():
    with pytest.raises(PrerequisiteError) as error:
        resolve_name("k3s")
    assert "k3s" in error.value.cause and "embedded" in error.value.fix


def test_minikube_missing_says_how_to_get_it(monkeypatch):
    monkeypatch.setattr(shutil, "which", _which(set()))
    with pytest.raises(PrerequisiteError) as error:
        get_provider("minikube")
    assert "minikube" in error.value.cause and error.value.fix


def test_minikube_start_uses_the_plans_resources_and_addons(monkeypatch):
    from deployproof.providers.minikube import MinikubeProvider, MinikubeSettings

    monkeypatch.setattr(shutil, "which", _which({"minikube"}))
    command = MinikubeProvider().start_command()
    assert "--cpus=4" in command and "--memory=8192mb" in command and "--addons=metrics-server" in command
    custom = MinikubeProvider(MinikubeSettings(cpus=2, memory="4g", driver="docker")).start_command()
    assert "--cpus=2" in custom and "--memory=4g" in custom and "--driver=docker" in custom


def test_kind_maps_node_ports_to_localhost_only():
    from deployproof.providers.kind import kind_config

    mappings = kind_config((30080, 30081))["nodes"][0]["extraPortMappings"]
    assert {(m["containerPort"], m["hostPort"], m["listenAddress"]) for m in mappings} == {(30080, 30080, "127.0.0.1"), (30081, 30081, "127.0.0.1")}


def test_kind_missing_binary_says_how_to_get_it(monkeypatch):
    monkeypatch.setattr(shutil, "which", _which({"kubectl"}))
    with pytest.raises(PrerequisiteError) as error:
        get_provider("kind")
    assert "kind" in error.value.cause and "install" in error.value.fix


def test_kind_refuses_an_unmapped_node_port(monkeypatch):
    from deployproof.providers.kind import KindProvider

    monkeypatch.setattr(shutil, "which", _which({"kind", "kubectl"}))
    provider = KindProvider()
    assert provider.node_port_url(30080) == "http://127.0.0.1:30080"
    with pytest.raises(PrerequisiteError):
        provider.node_port_url(31000)


def _kubeconfig(tmp_path: Path, contexts: list[str], current: str | None = None) -> Path:
    path = tmp_path / "kubeconfig"
    path.write_text(yaml.safe_dump({"apiVersion": "v1", "kind": "Config", "current-context": current,
                                    "contexts": [{"name": c, "context": {"cluster": c, "user": c}} for c in contexts]}))
    return path


def test_existing_needs_a_kubeconfig(monkeypatch):
    monkeypatch.delenv("KUBECONFIG", raising=False)
    with pytest.raises(PrerequisiteError) as error:
        get_provider("existing")
    assert "--kubeconfig" in error.value.fix


def test_existing_reports_a_missing_or_broken_kubeconfig(tmp_path):
    from deployproof.providers.existing import ExistingProvider

    with pytest.raises(PrerequisiteError, match="does not exist"):
        ExistingProvider(tmp_path / "nope")
    broken = tmp_path / "broken"
    broken.write_text("clusters: [unclosed")
    with pytest.raises(PrerequisiteError, match="not valid YAML"):
        ExistingProvider(broken)


def test_existing_names_the_available_contexts_when_one_is_unknown(tmp_path):
    from deployproof.providers.existing import ExistingProvider

    path = _kubeconfig(tmp_path, ["dev", "prod"], current="dev")
    assert ExistingProvider(path).context() == "dev"
    with pytest.raises(PrerequisiteError) as error:
        ExistingProvider(path, "staging")
    assert "dev, prod" in error.value.cause


def test_existing_is_never_deleted(tmp_path):
    from deployproof.providers.existing import ExistingProvider

    path = _kubeconfig(tmp_path, ["dev"], current="dev")
    provider = ExistingProvider(path)
    assert provider.down() == []
    assert path.exists()


@pytest.mark.skipif(not shutil.which("minikube"), reason="minikube is not installed on this machine")
def test_minikube_real_status_runs():
    from deployproof.providers.minikube import MinikubeProvider

    assert isinstance(MinikubeProvider().is_running(), bool)


@pytest.mark.skipif(not (shutil.which("kind") and shutil.which("kubectl")), reason="kind is not installed on this machine")
def test_kind_real_binary_answers():
    from deployproof.runner import run

    assert run(["kind", "version"]).stdout.startswith("kind")
