"""deployproof.providers.minikube: its start command and error paths (no cluster needed)."""

from __future__ import annotations

import shutil

import pytest

from deployproof.errors import PrerequisiteError
from deployproof.providers import get_provider


def _which(available: set[str]):
    return lambda name: f"/usr/bin/{name}" if name in available else None


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


@pytest.mark.skipif(not shutil.which("minikube"), reason="minikube is not installed on this machine")
def test_minikube_real_status_runs():
    from deployproof.providers.minikube import MinikubeProvider

    assert isinstance(MinikubeProvider().is_running(), bool)
