"""The offline kind pieces: the capability-dropping runtime, our dockerd's config, the kind config
and the provider's refusals (a port taken, a cluster someone else made, kind missing)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from deployproof import versions
from deployproof.errors import PrerequisiteError
from deployproof.providers import host_ports, kind
from deployproof.providers.kind_node import components, runc_wrapper, runtime

FULL = {f"CAP_{name}" for name in runc_wrapper.CAPABILITIES}
WITHOUT_SYS_RESOURCE = FULL - {"CAP_SYS_RESOURCE"}


def test_bounding_set_reads_the_mask_of_a_host_without_sys_resource():
    status = "Name:\tx\nCapBnd:\t000001fffeffffff\n"
    assert runc_wrapper.bounding_set(status) == WITHOUT_SYS_RESOURCE
    assert runc_wrapper.missing_capabilities(WITHOUT_SYS_RESOURCE) == ["CAP_SYS_RESOURCE"]


def _bundle(tmp_path: Path, caps: list[str]) -> Path:
    sets = {key: list(caps) for key in ("bounding", "effective", "permitted", "inheritable")}
    (tmp_path / "config.json").write_text(json.dumps({"ociVersion": "1.0.2", "process": {"capabilities": sets}}))
    return tmp_path


def test_privileged_spec_loses_only_what_the_host_cannot_grant(tmp_path):
    bundle = _bundle(tmp_path, sorted(FULL))
    target = runc_wrapper.spec_file(["--root", "/run/x", "--log", "l.json", "create", "--bundle", str(bundle), "--pid-file", "p", "id1"])
    assert target == (str(bundle / "config.json"), "bundle")
    assert runc_wrapper.fix_spec(*target, WITHOUT_SYS_RESOURCE) is True
    sets = json.loads((bundle / "config.json").read_text())["process"]["capabilities"]
    assert all(set(names) == WITHOUT_SYS_RESOURCE for names in sets.values())


def test_a_spec_within_the_bounding_set_is_left_untouched(tmp_path):
    bundle = _bundle(tmp_path, ["CAP_CHOWN", "CAP_NET_BIND_SERVICE"])
    before = (bundle / "config.json").read_bytes()
    assert runc_wrapper.fix_spec(str(bundle / "config.json"), "bundle", WITHOUT_SYS_RESOURCE) is False
    assert (bundle / "config.json").read_bytes() == before


def test_exec_process_file_and_commands_without_a_spec():
    assert runc_wrapper.spec_file(["exec", "--process", "/tmp/p.json", "--detach", "id"]) == ("/tmp/p.json", "process")
    assert runc_wrapper.spec_file(["run", "-b", "/b", "id"]) == ("/b/config.json", "bundle")
    assert runc_wrapper.spec_file(["--root", "/r", "delete", "--force", "id"]) is None
    assert runc_wrapper.spec_file(["state", "id"]) is None


def test_wrapper_fixes_the_spec_then_runs_runc_with_the_same_arguments(tmp_path, monkeypatch):
    bundle = _bundle(tmp_path, sorted(FULL))
    calls = []
    monkeypatch.setenv("DEPLOYPROOF_RUNC", "/fake/runc")
    monkeypatch.setattr(runc_wrapper, "bounding_set", lambda _text: WITHOUT_SYS_RESOURCE)
    monkeypatch.setattr(runc_wrapper.os, "execv", lambda path, argv: calls.append((path, argv)))
    args = ["--root", "/r", "create", "--bundle", str(bundle), "cid"]
    runc_wrapper.main(["wrapper", *args])
    assert calls == [("/fake/runc", ["/fake/runc", *args])]
    assert "CAP_SYS_RESOURCE" not in (bundle / "config.json").read_text()


def test_our_dockerd_registers_the_runtime_and_defaults_to_it_only_where_needed():
    needed = runtime.daemon_config(["CAP_SYS_RESOURCE"])
    assert needed["default-runtime"] == runtime.RUNTIME_NAME
    assert needed["runtimes"][runtime.RUNTIME_NAME]["path"] == str(runtime.RUNTIME_PATH)
    assert "default-runtime" not in runtime.daemon_config([])


def test_check_names_the_missing_capability_and_the_fix(monkeypatch):
    monkeypatch.setattr(runtime, "host_missing_capabilities", lambda: ["CAP_SYS_RESOURCE"])
    monkeypatch.setattr(runtime, "write_daemon_config", lambda: runtime.DAEMON_CONFIG)
    verdict = runtime.check({"DefaultRuntime": "runc"})
    assert not verdict.ok and "CAP_SYS_RESOURCE" in verdict.detail and "--config-file" in verdict.fix
    assert runtime.check({"DefaultRuntime": runtime.RUNTIME_NAME}).ok


def test_kind_config_one_node_ports_on_loopback_and_our_patches():
    config = kind.kind_config((30080, 30081), (kind.registry_mirror_patch("registry.test:5000", "http://10.0.0.1:5000"),))
    (node,) = config["nodes"]
    assert node["role"] == "control-plane"
    assert {(m["hostPort"], m["listenAddress"]) for m in node["extraPortMappings"]} == {(30080, "127.0.0.1"), (30081, "127.0.0.1")}
    patches = "\n".join(config["kubeadmConfigPatches"])
    assert f"imageTag: {versions.ETCD}" in patches and f"imageTag: {versions.COREDNS}" in patches
    assert f"failCgroupV1: {str(versions.KIND_FAIL_CGROUP_V1).lower()}" in patches
    assert 'registry.mirrors."registry.test:5000"' in config["containerdConfigPatches"][0]


def test_coredns_keeps_upstream_directive_order_for_kubeadms_corefile(tmp_path, monkeypatch):
    seen = {}
    monkeypatch.setattr(components, "_go_build", lambda work, out, **kw: seen.update(kw))
    components._build_coredns(components.node_components()[1], tmp_path, tmp_path / "coredns")
    for plugin in ("forward", "prometheus", "loop", "kubernetes", "cache"):
        assert f'"{plugin}": true' in seen["main_go"]
    assert '"github.com/coredns/coredns/plugin/metrics"' in seen["main_go"]  # the prometheus directive's package


@pytest.fixture
def provider(monkeypatch, tmp_path):
    monkeypatch.setenv("DEPLOYPROOF_STATE", str(tmp_path))
    monkeypatch.setattr(kind, "find_kind", lambda: "/bin/kind")
    monkeypatch.setattr(kind, "find_kubectl", lambda: "/bin/kubectl")
    monkeypatch.setattr(kind, "_check_docker", lambda: None)
    p = kind.KindProvider(cluster_name="t", node_image="img:1")
    monkeypatch.setattr(kind, "_image_id", lambda image: "sha256:1")
    return p


def test_a_cluster_of_the_same_name_made_by_someone_else_is_refused_and_never_deleted(provider, monkeypatch):
    monkeypatch.setattr(kind.KindProvider, "exists", lambda self: True)
    monkeypatch.setattr(kind.KindProvider, "_node_id", lambda self: "abc")
    with pytest.raises(PrerequisiteError, match="deployproof did not create") as raised:
        provider.up()
    assert "kind delete cluster --name t" in raised.value.fix
    deleted = []
    monkeypatch.setattr(kind.KindProvider, "_cluster", lambda self, image=None: deleted.append(1))
    assert provider.down() == ["kind cluster 't' was not created by deployproof: left as it is"]
    assert deleted == []


def test_a_nodeport_published_by_another_cluster_is_named(provider, monkeypatch):
    monkeypatch.setattr(kind.KindProvider, "exists", lambda self: False)
    monkeypatch.setattr(host_ports, "publishing_container", lambda port: ("other-control-plane", "other") if port == 30080 else None)
    with pytest.raises(PrerequisiteError, match="already published by container other-control-plane") as raised:
        provider.up()
    assert "kind delete cluster --name other" in raised.value.fix


def test_a_missing_node_image_says_how_to_build_it(provider, monkeypatch):
    monkeypatch.setattr(kind, "_image_id", lambda image: None)
    with pytest.raises(PrerequisiteError, match="node image img:1 is not in the local docker") as raised:
        provider.up()
    assert "kind_node" in raised.value.fix


def test_kind_missing_is_a_prerequisite_error(monkeypatch):
    from deployproof.providers.kind_node import kindbin

    monkeypatch.setattr(kindbin, "is_built", lambda: False)
    monkeypatch.setattr(kind.shutil, "which", lambda name: None)
    with pytest.raises(PrerequisiteError, match="kind is not installed") as raised:
        kind.find_kind()
    assert "python -m deployproof.providers.kind_node" in raised.value.fix


def test_publishing_container_is_found_from_docker_ps(monkeypatch):
    class Out:
        stdout = "dp-control-plane\tdp\t127.0.0.1:30080->30080/tcp, 127.0.0.1:41234->6443/tcp\nweb\t\t0.0.0.0:8080->80/tcp\n"

    monkeypatch.setattr(host_ports, "run", lambda *a, **k: Out())
    assert host_ports.publishing_container(30080) == ("dp-control-plane", "dp")
    assert host_ports.publishing_container(8080) == ("web", "")
    assert host_ports.publishing_container(30081) is None


def test_every_component_image_has_an_entrypoint_pods_can_start(monkeypatch):
    """containerd refuses a pod sandbox whose image has neither entrypoint nor command: the pause image
    without one made kubeadm's wait-control-plane fail (no static pod ever started)."""
    from deployproof.providers.kind_node import images

    for image in images.component_images():
        dockerfile = (images.KIND_DOCKERFILES / image.dockerfile).read_text().replace("@BINARY@", image.binary)
        if image.dockerfile == "component-scratch.Dockerfile":
            assert f'ENTRYPOINT ["/usr/local/bin/{image.binary}"]' in dockerfile, image.name


def test_node_containerd_keeps_oom_scores_and_kind_patch_format():
    """The node has no CAP_SYS_RESOURCE: containerd must not ask runc to lower a pod's OOM score."""
    config = (Path(kind.__file__).resolve().parents[2] / "dockerfiles/kind-node/files/etc/containerd/config.toml").read_text()
    assert "version = 2" in config  # kind's containerdConfigPatches format; containerd 2.4 migrates it
    assert "restrict_oom_score_adj = true" in config
    assert "tolerate_missing_hugetlb_controller = true" in config


def test_kind_state_lives_beside_the_embedded_clusters_folder(monkeypatch, tmp_path):
    monkeypatch.setenv("DEPLOYPROOF_STATE", str(tmp_path / "deployproof"))
    assert kind.kind_state_dir() == tmp_path / "deployproof-kind"
