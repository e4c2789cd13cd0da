"""deployproof.providers.embedded.build: the build recipe and its cache (nothing is built)."""

from __future__ import annotations

import re

import pytest

from deployproof import versions
from deployproof.errors import UsageError
from deployproof.providers.embedded import build


def test_build_cache_is_keyed_by_version(monkeypatch, tmp_path):
    monkeypatch.setenv("DEPLOYPROOF_CACHE", str(tmp_path))
    component = build.COMPONENTS[0]
    assert component.version in build.component_dir(component).name
    assert not build.is_built(component)


def test_all_kubernetes_components_build_in_one_go_build_invocation():
    assert set(versions.KUBERNETES_COMMANDS) >= {"kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubelet", "kube-proxy"}


def test_each_supported_kubernetes_release_gets_its_own_cache_folder_and_shares_the_rest(monkeypatch, tmp_path):
    monkeypatch.setenv("DEPLOYPROOF_CACHE", str(tmp_path))
    monkeypatch.setattr(build, "go_version", lambda: "go1.26.8")
    folders = {v: {c.name: build.component_dir(c) for c in build.components(v)} for v in versions.SUPPORTED_KUBERNETES}
    assert len({f["kubernetes"] for f in folders.values()}) == len(versions.SUPPORTED_KUBERNETES)
    assert len({f["containerd"] for f in folders.values()}) == 1
    assert build.binary("kubelet", "v1.36.3") == tmp_path / "bin" / "kubernetes-v1.36.3-go1.26.8" / "kubelet"
    assert build.binary("kubelet") == tmp_path / "bin" / f"kubernetes-{versions.KUBERNETES}-go1.26.8" / "kubelet"
    assert build.COMPONENTS == build.components(versions.KUBERNETES)


def test_an_unsupported_kubernetes_release_is_a_usage_error_naming_the_supported_ones():
    with pytest.raises(UsageError) as caught:
        build.ensure_built(kubernetes_version="v1.34.4")
    assert all(v in caught.value.fix for v in versions.SUPPORTED_KUBERNETES)


def test_a_build_waits_for_another_process_building_the_same_component(monkeypatch, tmp_path):
    monkeypatch.setenv("DEPLOYPROOF_CACHE", str(tmp_path))
    monkeypatch.setattr(build, "go_version", lambda: "go1.26.8")
    crictl = build.component("crictl")
    built: list[str] = []

    def fake_build(component):
        built.append(component.name)
        build.component_dir(component).mkdir(parents=True)
        (build.component_dir(component) / ".complete").write_text("{}")

    monkeypatch.setattr(build, "_build", fake_build)
    with build._build_lock(crictl):
        # Another process holds the lock: flock is per open file, so a second open in a thread blocks.
        import threading

        worker = threading.Thread(target=build.ensure_built, kwargs={"only": ("crictl",)})
        worker.start()
        worker.join(0.5)
        assert worker.is_alive() and built == []
        fake_build(crictl)  # "the other process" finishes the build
    worker.join(5)
    assert built == ["crictl"]  # only the other process built it


def test_go_directive_of_wrappers_is_a_valid_go_version():
    assert re.fullmatch(r"1\.\d+\.\d+", build.GO_DIRECTIVE)
