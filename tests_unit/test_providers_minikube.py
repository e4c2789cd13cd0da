"""deployproof.providers.minikube and minikube_node: start command, resources, ownership, offline cache (no cluster needed)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess

import pytest

from deployproof import versions
from deployproof.errors import PrerequisiteError
from deployproof.providers import get_provider, host_ports
from deployproof.providers import minikube as minikube_provider
from deployproof.providers.minikube import MinikubeSettings, fit_resources, profile_state, start_arguments
from deployproof.providers.minikube_node import minikubebin, offline
from deployproof.settings import Settings


def _which(available: set[str]):
    return lambda name: f"/usr/bin/{name}" if name in available else None


def test_minikube_missing_says_how_to_get_it(monkeypatch):
    monkeypatch.setattr(shutil, "which", _which(set()))
    monkeypatch.setattr(minikubebin, "is_built", lambda: False)
    with pytest.raises(PrerequisiteError) as error:
        get_provider("minikube")
    assert "minikube" in error.value.cause and "--minikube-offline" in error.value.fix


def test_minikube_start_uses_the_plans_resources_and_the_test_cluster_settings():
    command = start_arguments(MinikubeSettings(), cpus=4, memory_mb=8192, base_image=None, as_root=False)
    assert "--cpus=4" in command and "--memory=8192mb" in command and f"--kubernetes-version={versions.KUBERNETES}" in command
    assert f"--extra-config=controller-manager.horizontal-pod-autoscaler-sync-period={versions.TEST_CLUSTER_HPA_SYNC_PERIOD}" in command
    assert "--force" not in command and not any(a.startswith("--base-image") for a in command)
    # metrics-server is enabled after start (offline it needs our image first), never by --addons
    assert not any(a.startswith("--addons") for a in command)
    custom = start_arguments(MinikubeSettings(driver="docker"), cpus=2, memory_mb=4096, base_image=None, as_root=True)
    assert "--cpus=2" in custom and "--memory=4096mb" in custom and "--driver=docker" in custom and "--force" in custom


def test_offline_start_names_everything_it_needs():
    command = start_arguments(MinikubeSettings(offline=True), cpus=2, memory_mb=8192, base_image="deployproof/minikube-node:abc",
                              as_root=False)
    for flag in ("--driver=docker", "--container-runtime=containerd", "--base-image=deployproof/minikube-node:abc",
                 "--preload=false", "--cni=bridge", "--force", "--interactive=false"):
        assert flag in command


@pytest.mark.parametrize(("host_cpus", "host_memory", "expected", "lowered"), [
    (8, 32000, (4, 8192), 0),
    (2, 24000, (2, 8192), 1),
    (2, 6000, (2, 6000 - minikube_provider.HOST_RESERVE_MB), 2),
    (1, 1000, (1, minikube_provider.MINIMUM_MEMORY_MB), 2),
])
def test_resources_are_lowered_with_a_note_where_the_machine_has_less(host_cpus, host_memory, expected, lowered):
    cpus, memory, notes = fit_resources(4, 8192, host_cpus, host_memory)
    assert (cpus, memory) == expected and len(notes) == lowered
    assert all("this machine has" in note for note in notes)


@pytest.mark.parametrize(("text", "expected"), [
    ('{"Name":"deployproof","Host":"Running","Kubelet":"Running","APIServer":"Running"}', "Running"),
    ('[{"Name":"deployproof","Host":"Stopped"}]', "Stopped"),
    ("🤷  Profile \"deployproof\" not found.", None),
    ("", None),
])
def test_profile_state_reads_minikubes_status(text, expected):
    assert profile_state(text).get("Host") == expected


def test_vm_drivers_and_offline_with_another_driver_are_refused(monkeypatch):
    monkeypatch.setattr(minikube_provider, "find_minikube", lambda build=False: "/usr/bin/minikube")
    with pytest.raises(PrerequisiteError, match="VM"):
        minikube_provider.MinikubeProvider(MinikubeSettings(driver="kvm2"))
    with pytest.raises(PrerequisiteError, match="offline"):
        minikube_provider.MinikubeProvider(MinikubeSettings(driver="virtualbox", offline=True))


def test_a_profile_is_ours_only_when_its_node_container_is_the_one_we_recorded(monkeypatch, tmp_path):
    monkeypatch.setattr(minikube_provider, "find_minikube", lambda build=False: "/usr/bin/minikube")
    provider = minikube_provider.MinikubeProvider()
    provider._record = tmp_path / "deployproof.json"
    monkeypatch.setattr(provider, "_node_id", lambda: "abc")
    assert not provider.created_by_us() and provider.own_addresses() == []
    provider._record.write_text(json.dumps({"node_id": "other"}))
    assert not provider.created_by_us()
    provider._record.write_text(json.dumps({"node_id": "abc"}))
    assert provider.created_by_us()


def test_the_offline_switch_is_a_setting_from_cli_env_and_ini():
    assert Settings.load({}).minikube_offline is False
    assert Settings.load({"minikube_offline": "true"}).minikube_offline is True
    assert Settings.load({}, env={"DEPLOYPROOF_MINIKUBE_OFFLINE": "1"}).minikube_offline is True
    assert Settings.load({}, ini={"minikube_offline": "yes"}, env={}).minikube_offline is True
    with pytest.raises(Exception, match="minikube-offline"):
        Settings.load({}, env={"DEPLOYPROOF_MINIKUBE_OFFLINE": "maybe"})


def test_minikube_is_built_in_a_wrapper_module_with_its_makefiles_stamps():
    assert f"require {versions.MINIKUBE_MODULE} {versions.MINIKUBE}" in minikubebin.wrapper_go_mod()
    tools = minikubebin.wrapper_tools_go()
    assert "//go:build tools" in tools and "k8s.io/minikube/cmd/minikube" in tools
    assert minikubebin.PROVISIONER_SOURCE.is_file()
    flags = minikubebin.ldflags()
    assert f"pkg/version.version={versions.MINIKUBE}" in flags
    assert f"pkg/version.storageProvisionerVersion={versions.MINIKUBE_STORAGE_PROVISIONER_TAG}" in flags


@pytest.mark.parametrize(("kubeadm_name", "ours"), [
    ("registry.k8s.io/kube-apiserver:v1.37.2", "registry.k8s.io/kube-apiserver:v1.37.2"),
    ("registry.k8s.io/pause:3.10.2", f"registry.k8s.io/pause:{versions.KIND_PAUSE_VERSION}"),
    ("registry.k8s.io/etcd:3.7.0-0", f"deployproof.local/etcd:{versions.ETCD}"),
    ("registry.k8s.io/coredns/coredns:v1.14.6", f"deployproof.local/coredns-minikube:{versions.COREDNS}"),
])
def test_kubeadms_image_names_map_to_our_builds(kubeadm_name, ours):
    assert offline.our_image_for(kubeadm_name, "v1.37.2") == ours


def test_metrics_server_gets_the_test_clusters_resolution_and_a_shorter_kubelet_timeout():
    from deployproof.providers.minikube import metrics_server_args

    args = metrics_server_args(["--cert-dir=/tmp", "--metric-resolution=60s", "--kubelet-insecure-tls"])
    assert args == ["--cert-dir=/tmp", "--kubelet-insecure-tls", f"--metric-resolution={versions.TEST_CLUSTER_METRIC_RESOLUTION}",
                    "--kubelet-request-timeout=5s"]
    assert metrics_server_args(args) == args


def test_an_unknown_kubeadm_image_is_an_error_naming_it():
    with pytest.raises(PrerequisiteError, match="registry.k8s.io/something:1"):
        offline.our_image_for("registry.k8s.io/something:1", "v1.37.2")


def test_cache_problems_name_each_missing_piece(tmp_path):
    folder = offline.binary_cache_dir("v1.37.2", tmp_path)
    folder.mkdir(parents=True)
    (folder / "kubeadm").write_text("")
    (folder / "kubeadm").chmod(0o755)
    (folder / "kubelet").write_text("")
    problems = offline.cache_problems("v1.37.2", ["registry.k8s.io/etcd:3.7.0-0", "x:1"], has_image=lambda name: name == "x:1",
                                      home=tmp_path)
    assert any("kubelet is not executable" in p for p in problems)
    assert any("kubectl is missing" in p for p in problems)
    assert any("registry.k8s.io/etcd:3.7.0-0" in p for p in problems)
    assert len(problems) == 3


def test_minikube_real_status_runs():
    """The real minikube (on PATH or our build) answers `status` for a profile. Skipped only when neither exists
    and the run does not require it: CI's minikube leg sets DEPLOYPROOF_REQUIRE_MINIKUBE=1 after building it."""
    try:
        provider = minikube_provider.MinikubeProvider(MinikubeSettings(profile="deployproof-unit-absent", offline=False))
    except PrerequisiteError as missing:
        if os.environ.get("DEPLOYPROOF_REQUIRE_MINIKUBE") == "1":
            raise
        pytest.skip(f"minikube is neither installed nor built here: {missing.cause}")
    assert provider.is_running() is False and provider.exists() is False


def test_a_rebuilt_image_is_dropped_from_minikubes_cache(tmp_path):
    name = "registry.k8s.io/coredns/coredns:v1.14.6"
    cached = offline.image_cache_file(name, tmp_path)
    assert cached == tmp_path / ".minikube/cache/images/amd64/registry.k8s.io/coredns/coredns_v1.14.6"
    cached.parent.mkdir(parents=True)
    cached.write_text("old")
    assert offline.forget_changed_images([name], {name: "sha256:1"}, tmp_path) == [name]  # unknown before: dropped
    cached.write_text("cached from sha256:1")
    assert offline.forget_changed_images([name], {name: "sha256:1"}, tmp_path) == [] and cached.exists()
    assert offline.forget_changed_images([name], {name: "sha256:2"}, tmp_path) == [name] and not cached.exists()


def test_offline_start_runs_the_kind_nodes_networkpolicy_agent(monkeypatch):
    """The bridge CNI enforces nothing: offline, our agent's image is loaded and its manifest applied (with our image
    name filled in), then the DaemonSet must be ready; a refused apply is a prerequisite error naming the fix."""
    from deployproof.providers.kind_node import images

    monkeypatch.setattr(minikube_provider, "find_minikube", lambda build=False: "/usr/bin/minikube")
    provider = minikube_provider.MinikubeProvider(MinikubeSettings(offline=True, addons=()))
    calls: list[tuple] = []
    ready = iter(["0/1", "1/1"])

    def fake_run(*args, **kwargs):
        calls.append(("minikube", *args))
        return subprocess.CompletedProcess(args, 0, "", "")

    def fake_kubectl(*args, check=False, input=None):
        calls.append(("kubectl", *args, input))
        out = next(ready) if "daemonset" in args else ""
        return subprocess.CompletedProcess(args, 0, out, "")

    monkeypatch.setattr(provider, "_run", fake_run)
    monkeypatch.setattr(provider, "_kubectl", fake_kubectl)
    monkeypatch.setattr(minikube_provider, "poll_until", lambda check, **kw: [check() for _ in range(2)][-1])
    provider._after_start({})
    assert ("minikube", "image", "load", "--daemon", images.network_policies_image()) in calls
    applied = next(c[-1] for c in calls if c[:4] == ("kubectl", "apply", "-f", "-"))
    assert "kind: DaemonSet" in applied and f"image: {images.network_policies_image()}" in applied

    def refused(*args, check=False, input=None):
        return subprocess.CompletedProcess(args, 1, "", "error: the server could not find the requested resource")

    monkeypatch.setattr(provider, "_kubectl", refused)
    with pytest.raises(PrerequisiteError, match="NetworkPolicy agent"):
        provider._after_start({})


@pytest.mark.parametrize(("status", "ready"), [("1/1", True), ("0/1", False), ("/", False), ("0/0", False)])
def test_the_agent_is_ready_when_every_scheduled_pod_is(monkeypatch, status, ready):
    monkeypatch.setattr(minikube_provider, "find_minikube", lambda build=False: "/usr/bin/minikube")
    provider = minikube_provider.MinikubeProvider()
    monkeypatch.setattr(provider, "_kubectl", lambda *args, **kw: subprocess.CompletedProcess(args, 0, status, ""))
    assert provider._network_policies_ready()[0] is ready


@pytest.mark.parametrize(("access", "platform", "published"), [
    ("auto", "linux", False), ("auto", "darwin", True), ("auto", "win32", True),
    ("host-port", "linux", True), ("node-ip", "darwin", False)])
def test_the_app_is_published_on_loopback_where_the_node_ip_is_not_routable(access, platform, published):
    assert minikube_provider.publishes_host_ports(MinikubeSettings(app_access=access), platform) is published


def test_host_port_access_publishes_the_apps_node_ports_on_loopback_only(monkeypatch):
    command = start_arguments(MinikubeSettings(offline=True, app_access="host-port"), cpus=2, memory_mb=8192,
                              base_image="deployproof/minikube-node:abc", as_root=True)
    assert [a for a in command if a.startswith("--ports")] == [
        f"--ports=127.0.0.1:{versions.FRONTEND_NODE_PORT}:{versions.FRONTEND_NODE_PORT}",
        f"--ports=127.0.0.1:{versions.ECHO_NODE_PORT}:{versions.ECHO_NODE_PORT}"]
    monkeypatch.setattr(minikube_provider, "find_minikube", lambda build=False: "/usr/bin/minikube")
    provider = minikube_provider.MinikubeProvider(MinikubeSettings(app_access="host-port"))
    monkeypatch.setattr(provider, "_run", lambda *a, **kw: subprocess.CompletedProcess(a, 0, "192.168.49.2\n", ""))
    assert provider.node_port_url(versions.FRONTEND_NODE_PORT) == f"http://127.0.0.1:{versions.FRONTEND_NODE_PORT}"
    assert provider.app_origins(versions.FRONTEND_NODE_PORT) == [
        f"http://127.0.0.1:{versions.FRONTEND_NODE_PORT}", f"http://192.168.49.2:{versions.FRONTEND_NODE_PORT}"]
    with pytest.raises(PrerequisiteError, match="not published") as error:
        provider.node_port_url(31999)
    assert "frontend.service.nodePort" in error.value.fix


def test_a_taken_host_port_is_refused_before_minikube_starts(monkeypatch):
    import socket

    monkeypatch.setattr(minikube_provider, "find_minikube", lambda build=False: "/usr/bin/minikube")
    provider = minikube_provider.MinikubeProvider(MinikubeSettings(app_access="host-port"))
    monkeypatch.setattr(minikube_provider, "HOST_PORTS", (0,))  # any port: bound below first
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        monkeypatch.setattr(minikube_provider, "HOST_PORTS", (holder.getsockname()[1],))
        monkeypatch.setattr(host_ports, "publishing_container", lambda port: None)
        monkeypatch.setattr(host_ports, "host_kube_proxy_serves", lambda port: False)
        with pytest.raises(PrerequisiteError, match="in use") as error:
            provider._check_host_ports_free()
    assert "--minikube-app-access node-ip" in error.value.fix and "ss -ltnp" in error.value.fix
    monkeypatch.setattr(host_ports, "host_kube_proxy_serves", lambda port: True)  # the embedded cluster's NodePort
    with pytest.raises(PrerequisiteError, match="kube-proxy") as error:
        provider._check_host_ports_free()
    assert "cluster down" in error.value.fix


def test_the_app_access_is_a_setting_with_three_choices(monkeypatch):
    monkeypatch.setattr(minikube_provider, "find_minikube", lambda build=False: "/usr/bin/minikube")
    assert Settings.load({}).minikube_app_access == "auto"
    assert Settings.load({}, env={"DEPLOYPROOF_MINIKUBE_APP_ACCESS": "host-port"}).minikube_app_access == "host-port"
    with pytest.raises(Exception, match="minikube-app-access"):
        Settings.load({"minikube_app_access": "tunnel"})
    assert get_provider(Settings.load({"cluster_provider": "minikube", "minikube_app_access": "node-ip"})).settings.app_access == "node-ip"
