"""deployproof.providers.existing: a cluster we are handed, never created nor deleted (no cluster needed)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from deployproof.errors import PrerequisiteError
from deployproof.providers import get_provider


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
