"""deployproof.golocks: every Go wrapper module builds from a committed go.mod and go.sum (nothing is built here)."""

from __future__ import annotations

import pytest

from deployproof import golocks, versions
from deployproof.errors import PrerequisiteError

# Their go.mod head names upstream's staging modules, read from k8s.io/kubernetes' own go.mod (a download).
READS_UPSTREAM_GO_MOD = ("kubernetes-", "kind-node-kubeadm-")


def _wrapper(text: str = "module deployproof.local/x-build\ngo 1.26.0\nrequire example.com/x v1.0.0\n") -> golocks.GoWrapper:
    return golocks.GoWrapper("x-v1.0.0", text, {"tools.go": '//go:build tools\n\npackage tools\n\nimport _ "example.com/x"\n'})


@pytest.fixture
def locks(tmp_path, monkeypatch):
    monkeypatch.setattr(golocks, "LOCKS", tmp_path / "golocks")
    return tmp_path / "golocks"


def _lock(locks, wrapper: golocks.GoWrapper) -> None:
    folder = locks / wrapper.name
    folder.mkdir(parents=True)
    (folder / "go.mod").write_text(wrapper.go_mod + "require example.com/y v0.2.0 // indirect\n")
    (folder / "go.sum").write_text("example.com/x v1.0.0 h1:abc=\n")
    (folder / "inputs.sha256").write_text(wrapper.digest() + "\n")


def test_a_build_gets_the_committed_go_mod_and_go_sum(locks, tmp_path):
    wrapper = _wrapper()
    _lock(locks, wrapper)
    work = tmp_path / "work"
    golocks.prepare(wrapper, work, {})
    assert (work / "go.sum").read_text() == "example.com/x v1.0.0 h1:abc=\n"
    assert "example.com/y v0.2.0 // indirect" in (work / "go.mod").read_text()  # the tidied one, not the head
    assert (work / "tools.go").exists()


def test_a_changed_pin_without_a_new_lock_is_refused_with_the_command_that_writes_one(locks, tmp_path):
    _lock(locks, _wrapper())
    with pytest.raises(PrerequisiteError, match="recipe or pin changed") as refused:
        golocks.prepare(_wrapper("module deployproof.local/x-build\ngo 1.26.0\nrequire example.com/x v1.0.1\n"), tmp_path / "w", {})
    assert "./dev lock-go" in refused.value.fix


def test_a_wrapper_with_no_lock_is_refused(locks, tmp_path):
    with pytest.raises(PrerequisiteError, match="there is no lock"):
        golocks.prepare(_wrapper(), tmp_path / "w", {})


def test_the_digest_covers_the_sources_too():
    assert _wrapper().digest() != golocks.GoWrapper("x-v1.0.0", _wrapper().go_mod, {"main.go": "package main\n"}).digest()


def test_every_wrapper_the_suite_builds_has_a_matching_committed_lock():
    """The recipes themselves are run in "check" mode: each stops at golocks.prepare, before any go command."""
    every = golocks.recipes()
    offline = {name: recipe for name, recipe in every.items() if not name.startswith(READS_UPSTREAM_GO_MOD)}
    assert sorted(golocks.run_recipes("check", offline)) == sorted(offline)
    committed = {p.name for p in golocks.LOCKS.iterdir() if p.is_dir()}
    assert committed == set(every), "golocks/ holds exactly one lock per recipe: run ./dev lock-go"


@pytest.mark.parametrize("kubernetes", versions.SUPPORTED_KUBERNETES)
def test_each_supported_kubernetes_release_has_its_locks_pinned_to_that_release(kubernetes):
    staging_tag = "v0." + kubernetes.lstrip("v").split(".", 1)[1]
    for name in (f"kubernetes-{kubernetes}", f"kind-node-kubeadm-{kubernetes}"):
        go_mod = (golocks.LOCKS / name / "go.mod").read_text()
        assert f"k8s.io/kubernetes {kubernetes}" in go_mod
        assert f"k8s.io/api => k8s.io/api {staging_tag}" in go_mod
        assert "k8s.io/kubernetes" in (golocks.LOCKS / name / "go.sum").read_text()
