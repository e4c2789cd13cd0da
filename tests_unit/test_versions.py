"""deployproof.versions: the one place of pins — supported Kubernetes releases, Go minimum, component pins."""

from __future__ import annotations

import re

import pytest

from deployproof import versions
from deployproof.errors import UsageError
from deployproof.settings import Settings


def _minor(release: str) -> tuple[int, int]:
    return tuple(int(p) for p in release.lstrip("v").split(".")[:2])  # type: ignore[return-value]


def test_three_consecutive_newest_minors_newest_first_and_the_default_is_the_newest():
    minors = [_minor(r) for r in versions.SUPPORTED_KUBERNETES]
    assert len(minors) == 3 and minors == sorted(minors, reverse=True)
    assert [m[1] for m in minors] == [minors[0][1] - i for i in range(3)]
    assert versions.KUBERNETES == versions.SUPPORTED_KUBERNETES[0]


@pytest.mark.parametrize("text, release", [("v1.36.3", "v1.36.3"), ("1.36", "v1.36.3"), ("v1.35", "v1.35.4"),
                                           (" 1.37.2 ", "v1.37.2")])
def test_a_release_or_its_minor_names_the_pinned_patch(text, release):
    assert versions.supported_kubernetes(text) == release


@pytest.mark.parametrize("text", ["v1.34.4", "1.34", "v1.36.1", "latest", ""])
def test_anything_else_is_refused_with_the_supported_list(text):
    with pytest.raises(ValueError) as caught:
        versions.supported_kubernetes(text)
    assert all(r in str(caught.value) for r in versions.SUPPORTED_KUBERNETES)


def test_the_setting_defaults_to_the_newest_and_refuses_unsupported_as_a_usage_error():
    assert Settings.load({}, env={}).kubernetes_version == versions.KUBERNETES
    chosen = Settings.load({}, env={"DEPLOYPROOF_KUBERNETES_VERSION": "1.35"})
    assert chosen.kubernetes_version == "v1.35.4" and chosen.sources["kubernetes_version"] == "env DEPLOYPROOF_KUBERNETES_VERSION"
    assert Settings.load({}, ini={"kubernetes_version": "v1.36.3"}, env={}).kubernetes_version == "v1.36.3"
    with pytest.raises(UsageError, match=r"--kubernetes-version=1\.33: .*v1\.37\.2, v1\.36\.3, v1\.35\.4"):
        Settings.load({"kubernetes_version": "1.33"}, env={})


def test_pins_are_release_tags_and_the_go_minimum_is_a_full_version():
    for name in ("CONTAINERD", "ETCD", "COREDNS", "METRICS_SERVER", "HELM", "CRICTL", *()):
        assert re.fullmatch(r"v\d+\.\d+\.\d+", getattr(versions, name)), name
    assert versions.CONTAINERD.startswith("v2.") and versions.CONTAINERD_MODULE.endswith("/v2")
    assert versions.ETCD.startswith(("v3.6.", "v3.7."))
    assert re.fullmatch(r"\d+\.\d+\.\d+", versions.GO_MINIMUM)
