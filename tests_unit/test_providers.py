"""deployproof.providers: the choice of provider (no cluster needed)."""

from __future__ import annotations

import shutil

import pytest

from deployproof.errors import PrerequisiteError
from deployproof.providers import resolve_name


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
