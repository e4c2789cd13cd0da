"""deployproof.docker_engine: what happens when the daemon does not answer (no docker needed)."""

from __future__ import annotations

import docker
import pytest

from deployproof import docker_engine
from deployproof.errors import PrerequisiteError


def _unreachable(**_kwargs):
    raise docker.errors.DockerException("Error while fetching server API version: connection refused")


def test_missing_dockerd_names_the_package_to_install(monkeypatch):
    monkeypatch.setattr(docker, "from_env", _unreachable)
    monkeypatch.setattr(docker_engine.shutil, "which", lambda name: None)
    with pytest.raises(PrerequisiteError) as raised:
        docker_engine.ensure_docker(timeout=1)
    assert "apt-get install docker.io" in raised.value.fix


def test_answering_daemon_is_returned_without_starting_anything(monkeypatch):
    class Client:
        def ping(self):
            return True

    monkeypatch.setattr(docker, "from_env", lambda **_kwargs: Client())
    monkeypatch.setattr(docker_engine, "start_background", lambda *a, **k: pytest.fail("must not start dockerd"))
    assert isinstance(docker_engine.ensure_docker(timeout=1), Client)
