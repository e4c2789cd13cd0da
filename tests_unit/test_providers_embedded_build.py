"""deployproof.providers.embedded.build: the build recipe and its cache (nothing is built)."""

from __future__ import annotations

from deployproof import versions
from deployproof.providers.embedded import build


def test_build_cache_is_keyed_by_version(monkeypatch, tmp_path):
    monkeypatch.setenv("DEPLOYPROOF_CACHE", str(tmp_path))
    component = build.COMPONENTS[0]
    assert component.version in build.component_dir(component).name
    assert not build.is_built(component)


def test_all_kubernetes_components_build_in_one_go_build_invocation():
    assert set(versions.KUBERNETES_COMMANDS) >= {"kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubelet", "kube-proxy"}
