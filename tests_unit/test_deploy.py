"""deploy() as a library call, and the fast-fail pod watch (deployproof/deploy.py, podwatch.py, release.py, kube.py).

No cluster: pods and Services are kubernetes-client objects built here, the provider is a fake,
helm is a stand-in command, and time is a clock the test moves.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import yaml
from kubernetes import client as k

from deployproof import charts, deploy as deploy_module
from deployproof.deploy import ClusterRun, Images, ImageRef, Timings, cluster, deploy, frontend_node_port, prepare_images
from deployproof.errors import DeploymentError, PrerequisiteError, UsageError
from deployproof.preflight import BLOCKED, OK, Check, Preflight
from deployproof.podwatch import Limits, PodTracker
from deployproof.providers.base import ClusterInfo, Provider
from deployproof.release import Release, image_values, pull_secret_values
from deployproof.settings import Settings


# --- pods as the API returns them ---------------------------------------------------------------------

def _pod(name: str = "todo-backend-1", *, waiting: str | None = None, message: str = "", restarts: int = 0, ready: bool = False,
         unschedulable: bool = False, init: bool = False, deleting: bool = False, last_exit: int | None = None) -> k.V1Pod:
    state = k.V1ContainerState(waiting=k.V1ContainerStateWaiting(reason=waiting, message=message)) if waiting else \
        k.V1ContainerState(running=k.V1ContainerStateRunning())
    last = k.V1ContainerState(terminated=k.V1ContainerStateTerminated(exit_code=last_exit, reason="Error")) if last_exit is not None else None
    status = k.V1ContainerStatus(name="app", image="todo-backend:abc", image_id="", ready=ready, restart_count=restarts,
                                 state=state, last_state=last)
    conditions = [k.V1PodCondition(type="PodScheduled", status="False", reason="Unschedulable",
                                   message="0/1 nodes are available: 1 Insufficient cpu.")] if unschedulable else None
    return k.V1Pod(
        metadata=k.V1ObjectMeta(name=name, namespace="todo", deletion_timestamp="2026-01-01T00:00:00Z" if deleting else None),
        status=k.V1PodStatus(phase="Pending" if not ready else "Running", conditions=conditions,
                             container_statuses=None if init else [status], init_container_statuses=[status] if init else None),
    )


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.mark.parametrize("reason", ["ErrImageNeverPull", "InvalidImageName"])
def test_an_image_that_can_never_arrive_fails_at_once(reason):
    problem = PodTracker(clock=Clock()).observe([_pod(waiting=reason, message="Container image is not present")])
    assert problem is not None and problem.reason == reason and problem.pod == "todo-backend-1" and problem.container == "app"
    assert "todo-backend:abc" in problem.fix or "image" in problem.fix


def test_an_unpullable_image_fails_once_the_kubelet_has_retried_for_the_grace():
    clock = Clock()
    tracker = PodTracker(Limits(pull_grace_s=20), clock=clock)
    assert tracker.observe([_pod(waiting="ErrImagePull")]) is None  # the first pull may be a registry blip
    clock.now += 5
    assert tracker.observe([_pod(waiting="ImagePullBackOff")]) is None  # backing off, but not for long yet
    clock.now += 16
    problem = tracker.observe([_pod(waiting="ImagePullBackOff", message="Back-off pulling image")])
    assert problem is not None and problem.reason == "ImagePullBackOff" and "registry" in problem.fix


def test_a_pull_error_that_clears_starts_its_clock_afresh():
    clock = Clock()
    tracker = PodTracker(Limits(pull_grace_s=20), clock=clock)
    tracker.observe([_pod(waiting="ErrImagePull")])
    clock.now += 30
    assert tracker.observe([_pod(waiting="ContainerCreating")]) is None
    clock.now += 1
    assert tracker.observe([_pod(waiting="ImagePullBackOff")]) is None


def test_crash_loop_fails_past_the_restart_threshold_with_the_last_exit():
    tracker = PodTracker(Limits(crash_restarts=4), clock=Clock())
    assert tracker.observe([_pod(waiting="CrashLoopBackOff", restarts=2, last_exit=1)]) is None
    problem = tracker.observe([_pod(waiting="CrashLoopBackOff", restarts=4, last_exit=1)])
    assert problem is not None and problem.reason == "CrashLoopBackOff"
    assert "4 restarts" in problem.message and "exit 1" in problem.message and "--previous" in problem.fix


def test_init_containers_are_watched_too():
    problem = PodTracker(clock=Clock()).observe([_pod(waiting="ErrImageNeverPull", init=True)])
    assert problem is not None and problem.reason == "ErrImageNeverPull"


def test_unschedulable_fails_after_its_grace_and_names_the_scheduler_message():
    clock = Clock()
    tracker = PodTracker(Limits(unschedulable_grace_s=60), clock=clock)
    assert tracker.observe([_pod(unschedulable=True)]) is None
    clock.now += 61
    problem = tracker.observe([_pod(unschedulable=True)])
    assert problem is not None and problem.reason == "Unschedulable" and problem.container is None
    assert "Insufficient cpu" in problem.message and "resource requests" in problem.fix


def test_healthy_starting_and_terminating_pods_are_no_problem():
    tracker = PodTracker(clock=Clock())
    pods = [_pod("a", ready=True), _pod("b", waiting="ContainerCreating"), _pod("c", waiting="ErrImageNeverPull", deleting=True)]
    assert tracker.observe(pods) is None


# --- helm in the background, stopped early ----------------------------------------------------------

def _release(tmp_path: Path, monkeypatch, command: list[str]) -> Release:
    monkeypatch.setattr(charts, "dependency_build", lambda *a, **kw: None)
    monkeypatch.setattr(Release, "ensure_namespace", lambda self: None)
    monkeypatch.setattr(Release, "install_command", lambda self, timeout_s: command)
    return Release("todo", "todo", tmp_path / "kubeconfig", "ctx")


class FakeWatch:
    def __init__(self, problem_after: int | None) -> None:
        self.calls, self.problem_after = 0, problem_after

    def check(self):
        self.calls += 1
        if self.problem_after is not None and self.calls >= self.problem_after:
            return PodTracker(clock=Clock()).observe([_pod(waiting="ErrImageNeverPull")]), "0 pod(s) ready"
        return None, "0 pod(s) ready"


def test_a_permanent_pod_problem_stops_helm_in_seconds_not_at_the_timeout(tmp_path, monkeypatch):
    release = _release(tmp_path, monkeypatch, ["sleep", "300"])
    begun = time.monotonic()
    with pytest.raises(DeploymentError) as error:
        release.install(600, watch=FakeWatch(problem_after=2), log_dir=tmp_path)
    assert time.monotonic() - begun < 30
    assert "todo-backend-1" in error.value.cause and "ErrImageNeverPull" in error.value.cause
    assert "load it into the cluster" in error.value.fix


def test_a_failing_helm_raises_with_its_own_message(tmp_path, monkeypatch):
    release = _release(tmp_path, monkeypatch, ["sh", "-c", "echo 'Error: UPGRADE FAILED: boom' >&2; exit 1"])
    with pytest.raises(DeploymentError) as error:
        release.install(60, watch=FakeWatch(problem_after=None), log_dir=tmp_path)
    assert "UPGRADE FAILED: boom" in error.value.cause and "exit 1" in error.value.cause


def test_a_helm_that_succeeds_returns_its_seconds(tmp_path, monkeypatch):
    release = _release(tmp_path, monkeypatch, ["true"])
    assert release.install(60, watch=FakeWatch(problem_after=None), log_dir=tmp_path) < 10


def test_image_values_carry_tags_and_digests():
    assert image_values({"backend": "todo-backend:abc"}) == {"backend.image.repository": "todo-backend", "backend.image.tag": "abc"}
    assert image_values({"backend": "reg.example:5000/team/todo-backend@sha256:0123"}) == {
        "backend.image.repository": "reg.example:5000/team/todo-backend", "backend.image.digest": "sha256:0123"}
    # a content tag beside the digest only labels the version: the chart pulls by digest
    assert image_values({"database": "reg.example:5000/todo-database:c0ffee@sha256:0123"}) == {
        "database.image.repository": "reg.example:5000/todo-database", "database.image.tag": "c0ffee",
        "database.image.digest": "sha256:0123"}
    assert image_values({"frontend": "reg.example:5000/todo-frontend:1"})["frontend.image.repository"] == "reg.example:5000/todo-frontend"


def test_pull_secret_values_reach_every_app_chart():
    assert pull_secret_values("todo-registry") == {f"{chart}.imagePullSecrets[0]": "todo-registry"
                                                   for chart in ("backend", "frontend", "database")}


# --- the app's URL from the live Service ---------------------------------------------------------------

class FakeCore:
    def __init__(self, services: list[k.V1Service]) -> None:
        self.services = services

    def list_namespaced_service(self, namespace, label_selector=""):
        return k.V1ServiceList(items=self.services)

    # The capacity the release is fitted to (capacity.py): one roomy node, nothing else requested.
    def list_node(self):
        return k.V1NodeList(items=[k.V1Node(status=k.V1NodeStatus(allocatable={"cpu": "16", "memory": "64Gi"}))])

    def list_pod_for_all_namespaces(self):
        return k.V1PodList(items=[])


def _service(name: str, component: str, kind: str, node_port: int | None = None) -> k.V1Service:
    return k.V1Service(metadata=k.V1ObjectMeta(name=name, labels={"app.kubernetes.io/name": component}),
                       spec=k.V1ServiceSpec(type=kind, ports=[k.V1ServicePort(port=80, node_port=node_port)]))


def test_the_url_uses_the_live_frontend_node_port_not_a_constant():
    core = FakeCore([_service("h1-backend", "backend", "ClusterIP"), _service("h1-frontend", "frontend", "NodePort", 31234)])
    assert frontend_node_port(core, "h1", "h1") == 31234


def test_no_node_port_service_says_which_value_to_set():
    with pytest.raises(DeploymentError) as error:
        frontend_node_port(FakeCore([_service("h1-frontend", "frontend", "ClusterIP")]), "h1", "h1")
    assert "frontend.service.type=NodePort" in error.value.fix


# --- deploy() and cluster() with a fake provider -------------------------------------------------------

class FakeProvider(Provider):
    name = "embedded"

    def __init__(self, tmp_path: Path, log: list[str]) -> None:
        self.tmp_path, self.log = tmp_path, log

    def up(self):
        self.log.append("up")
        return {"build components (cached by version)": 0.0, "start etcd": 0.1}

    def down(self):
        self.log.append("down")
        return []

    def kubeconfig(self):
        return self.tmp_path / "kubeconfig"

    def context(self):
        return "deployproof"

    def load_images(self, tags):
        self.log.append("load " + ",".join(sorted(tags)))

    def node_port_url(self, node_port):
        return f"http://127.0.0.1:{node_port}"

    def collect_diagnostics(self, folder):
        return []

    def describe(self):
        return ClusterInfo(self.name, self.kubeconfig(), self.context())


class FakeClients:
    core = FakeCore([_service("todo-frontend", "frontend", "NodePort", 30080)])

    def close(self):
        pass


@pytest.fixture
def world(tmp_path, monkeypatch):
    """A fake provider and stand-ins for helm, docker and the diagnostics; `log` records what happened in order."""
    log: list[str] = []
    monkeypatch.setattr(deploy_module, "running_before_up", lambda provider: False)
    monkeypatch.setattr("deployproof.kube.KubeClients.connect", classmethod(lambda cls, kubeconfig, context: FakeClients()))
    monkeypatch.setattr(Release, "exists", lambda self: False)
    monkeypatch.setattr(Release, "uninstall", lambda self, wait_namespace=False: log.append("uninstall"))

    def collect(provider, namespaces, *, folder, release=None, reason=""):
        log.append("diagnostics")
        target = tmp_path / "diagnostics" / "stamp"
        target.mkdir(parents=True, exist_ok=True)
        return target

    monkeypatch.setattr(deploy_module.diagnostics, "collect", collect)

    def check_cluster(settings, provider):
        log.append("preflight")
        return Preflight(provider.context(), [Check("server version", OK, "v1.37.2 (minor 1.37 is supported)")])

    monkeypatch.setattr(deploy_module, "check_cluster", check_cluster)
    images = Images({"backend": ImageRef("backend", "todo-backend:abc", "sha256:1", cached=True),
                     "frontend": ImageRef("frontend", "todo-frontend:def", "sha256:2", cached=False)}, built_s=3.0, loaded_s=1.0,
                    started=time.monotonic())
    provider = FakeProvider(tmp_path, log)
    return provider, images, log


def _settings(tmp_path: Path, keep: str) -> Settings:
    return Settings(keep=keep, diagnostics_dir=tmp_path / "diagnostics", report_dir=tmp_path / "reports")


def test_deploy_yields_a_typed_deployment_with_url_images_and_timings(tmp_path, monkeypatch, world):
    provider, images, log = world
    monkeypatch.setattr(Release, "install", lambda self, timeout_s, watch=None, log_dir=None: 12.5)
    record: dict[str, str] = {}
    with deploy(_settings(tmp_path, "on-failure"), provider, images=images, record=record) as deployment:
        assert deployment.url == "http://127.0.0.1:30080"
        assert (deployment.release, deployment.namespace, deployment.context) == ("todo", "todo", "deployproof")
        assert deployment.images["backend"].id == "sha256:1"
        assert deployment.timings.helm_to_ready_s == 12.5 and deployment.timings.images_cached == "partly: backend"
        assert deployment.helm.deploy_s == deployment.timings.total_s
    assert log == ["up", "preflight", "uninstall", "down"]  # passed, keep=on-failure: release and our cluster removed
    for key in ("sc6_cluster_up_s", "sc6_images_built_s", "sc6_images_cached", "sc6_images_loaded_s", "sc6_helm_to_ready_s",
                "sc6_total_s", "sc6_warm_steps"):
        assert key in record, key
    assert record["app_url"] == "http://127.0.0.1:30080"


def test_a_release_without_a_node_port_is_deployed_without_url_and_says_why(tmp_path, monkeypatch, world):
    provider, images, log = world
    monkeypatch.setattr(Release, "install", lambda self, *a, **kw: 1.0)
    monkeypatch.setattr(FakeClients, "core", FakeCore([_service("todo-frontend", "frontend", "ClusterIP")]))
    with deploy(_settings(tmp_path, "always"), provider, images=images) as deployment:
        assert deployment.url is None
        assert isinstance(deployment.url_error, DeploymentError) and "NodePort" in deployment.url_error.fix


def test_a_failed_install_collects_diagnostics_before_removing_anything(tmp_path, monkeypatch, world):
    provider, images, log = world

    def install(self, timeout_s, watch=None, log_dir=None):
        raise DeploymentError("pod todo-backend-1: ErrImageNeverPull", "load it into the cluster")

    monkeypatch.setattr(Release, "install", install)
    record: dict[str, str] = {}
    with pytest.raises(DeploymentError) as error:
        with deploy(_settings(tmp_path, "never"), provider, images=images, record=record):
            pytest.fail("the block must not run when the install failed")
    assert log == ["up", "preflight", "diagnostics", "uninstall", "down"]
    assert "ErrImageNeverPull" in error.value.cause and "diagnostics:" in error.value.fix
    assert record["diagnostics"].endswith("stamp")


def test_a_failed_install_keeps_release_and_cluster_on_failure(tmp_path, monkeypatch, world):
    provider, images, log = world
    monkeypatch.setattr(Release, "install", lambda self, *a, **kw: (_ for _ in ()).throw(DeploymentError("boom")))
    with pytest.raises(DeploymentError):
        with deploy(_settings(tmp_path, "on-failure"), provider, images=images):
            pass
    assert log == ["up", "preflight", "diagnostics"]


def test_a_missing_tool_at_install_stays_a_prerequisite_error_without_diagnostics(tmp_path, monkeypatch, world):
    from deployproof.errors import PrerequisiteError

    provider, images, log = world
    monkeypatch.setattr(Release, "install", lambda self, *a, **kw: (_ for _ in ()).throw(PrerequisiteError("helm is not on PATH", "install helm")))
    with pytest.raises(PrerequisiteError):
        with deploy(_settings(tmp_path, "never"), provider, images=images):
            pass
    assert "diagnostics" not in log


def test_checks_that_failed_inside_the_block_get_diagnostics_and_keep_the_release(tmp_path, monkeypatch, world):
    provider, images, log = world
    monkeypatch.setattr(Release, "install", lambda self, *a, **kw: 1.0)
    with deploy(_settings(tmp_path, "on-failure"), provider, images=images) as deployment:
        deployment.failed = True
    assert log == ["up", "preflight", "diagnostics"]
    assert deployment.diagnostics is not None


def test_a_reused_cluster_is_never_torn_down(tmp_path, monkeypatch, world):
    provider, _, log = world
    monkeypatch.setattr(deploy_module, "running_before_up", lambda provider: True)
    with cluster(_settings(tmp_path, "never"), provider) as run:
        assert not run.created
    assert log == ["up"]


def test_a_provider_that_cannot_tell_counts_as_reused(tmp_path, monkeypatch, world):
    provider, _, log = world
    monkeypatch.setattr(deploy_module, "running_before_up", lambda provider: None)
    with cluster(_settings(tmp_path, "never"), provider):
        pass
    assert log == ["up"]


def test_cluster_up_excludes_building_components_and_the_total_starts_before_up(tmp_path, world):
    provider, _, _ = world
    run = deploy_module.bring_up(provider)
    assert isinstance(run, ClusterRun) and run.created and run.started <= run.ready_at
    assert "build components (cached by version)" in run.steps


def test_warm_steps_and_cached_summary():
    timings = Timings(cluster_reused=True, images_cached="yes", release_upgraded=True)
    warm = timings.report_context()["sc6_warm_steps"]
    assert "cluster up" in warm and "images built" in warm and "helm install" in warm
    assert Timings().report_context()["sc6_warm_steps"].startswith("none")
    assert deploy_module._cached_summary({"a": ImageRef("a", "a:1", None, cached=True), "b": ImageRef("b", "b:1", None)}) == "partly: a"


# --- images ---------------------------------------------------------------------------------------------

class FakeImage:
    def __init__(self, image_id: str, digests: list[str] | None = None) -> None:
        self.id, self.attrs = image_id, {"RepoDigests": digests or [], "Size": 119_675_251}


def test_skip_image_build_refuses_an_image_that_is_not_local(tmp_path, monkeypatch, world):
    provider, _, _ = world
    monkeypatch.setattr("deployproof.docker_engine.ensure_docker", lambda: object())
    monkeypatch.setattr("deployproof.imagebuild.image_exists", lambda client, ref: FakeImage("sha256:9") if ref != "todo-database:gone" else None)
    settings = Settings(skip_image_build={"backend": "todo-backend:1", "frontend": "todo-frontend:1", "database": "todo-database:gone"})
    with pytest.raises(UsageError) as error:
        prepare_images(settings, provider)
    assert "database=todo-database:gone" in error.value.cause and "docker image ls" in error.value.fix


def test_skip_image_build_images_are_checked_and_still_loaded(tmp_path, monkeypatch, world):
    provider, _, log = world
    monkeypatch.setattr("deployproof.docker_engine.ensure_docker", lambda: object())
    monkeypatch.setattr("deployproof.imagebuild.image_exists", lambda client, ref: FakeImage("sha256:9", [f"reg/{ref}@sha256:77"]))
    settings = Settings(skip_image_build={"backend": "todo-backend:1", "frontend": "todo-frontend:1", "database": "todo-database:1"})
    images = deploy_module.build_and_load(settings, provider)
    assert all(ref.given and ref.id == "sha256:9" and ref.digest.endswith("@sha256:77") for ref in images.refs.values())
    assert log == ["load todo-backend:1,todo-database:1,todo-frontend:1"]
    assert deploy_module._cached_summary(images.refs).startswith("given")


def test_built_images_say_which_were_reused(tmp_path, monkeypatch, world):
    from deployproof.imagebuild import ImageRef as BuiltRef

    provider, _, _ = world

    def build_app_images(base, *, timings=None, **kwargs):
        timings["build frontend → todo-frontend:new"] = 42.0  # only the frontend was rebuilt
        return {"backend": BuiltRef("todo-backend:old", "sha256:b"), "frontend": BuiltRef("todo-frontend:new", "sha256:f")}

    monkeypatch.setattr("deployproof.images.build_app_images", build_app_images)
    monkeypatch.setattr("deployproof.docker_engine.ensure_docker", lambda: object())
    monkeypatch.setattr("deployproof.imagebuild.image_exists", lambda client, ref: FakeImage("sha256:x"))
    refs = prepare_images(Settings(), provider)
    assert refs["backend"].cached and not refs["frontend"].cached
    assert refs["frontend"].id == "sha256:f"


# --- kubeconfig pinned to a context --------------------------------------------------------------------

def test_pinned_kubeconfig_keeps_only_the_context_and_makes_paths_absolute(tmp_path):
    from deployproof.kube import pinned_kubeconfig

    source = tmp_path / "config"
    source.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "other",
        "contexts": [{"name": "other", "context": {"cluster": "c2", "user": "u2"}},
                     {"name": "mine", "context": {"cluster": "c1", "user": "u1"}}],
        "clusters": [{"name": "c1", "cluster": {"server": "https://10.0.0.1", "certificate-authority": "pki/ca.crt"}},
                     {"name": "c2", "cluster": {"server": "https://10.0.0.2"}}],
        "users": [{"name": "u1", "user": {"client-certificate": "/abs/admin.crt", "client-key": "pki/admin.key"}},
                  {"name": "u2", "user": {"token": "t"}}],
    }))
    pinned = yaml.safe_load(pinned_kubeconfig(source, "mine", tmp_path / "out" / "kubeconfig").read_text())
    assert pinned["current-context"] == "mine" and [c["name"] for c in pinned["contexts"]] == ["mine"]
    assert [c["name"] for c in pinned["clusters"]] == ["c1"] and [u["name"] for u in pinned["users"]] == ["u1"]
    assert pinned["clusters"][0]["cluster"]["certificate-authority"] == str(tmp_path / "pki" / "ca.crt")
    assert pinned["users"][0]["user"]["client-certificate"] == "/abs/admin.crt"
    assert pinned["users"][0]["user"]["client-key"] == str(tmp_path / "pki" / "admin.key")


# --- the preflight gate and where the host reaches the app ----------------------------------------------------

def test_a_blocked_preflight_stops_before_any_image_is_built_or_anything_installed(tmp_path, monkeypatch, world):
    provider, _, log = world
    blocked = Preflight("deployproof", [Check("permission: deployments.apps", BLOCKED, "may not create deployments.apps in namespace todo",
                                              fix="grant it to this context's user")])
    monkeypatch.setattr(deploy_module, "check_cluster", lambda settings, provider: blocked)
    monkeypatch.setattr(deploy_module, "build_and_load", lambda *a, **kw: pytest.fail("nothing may be built"))
    monkeypatch.setattr(Release, "install", lambda self, *a, **kw: pytest.fail("nothing may be installed"))
    with pytest.raises(PrerequisiteError) as error:
        with deploy(_settings(tmp_path, "never"), provider):
            pass
    assert "may not create deployments.apps in namespace todo" in error.value.cause and "grant it" in error.value.fix
    assert "diagnostics" not in log and "uninstall" not in log


def test_a_preflight_given_by_the_caller_is_used_and_its_late_probes_are_not_deploy_time(tmp_path, monkeypatch, world):
    provider, images, log = world
    monkeypatch.setattr(Release, "install", lambda self, *a, **kw: 1.0)
    checked = Preflight("deployproof", [Check("server version", OK, "v1.37.2")], probe_s=25.0)
    with deploy(_settings(tmp_path, "always"), provider, images=images, checked=checked) as deployment:
        assert deployment.timings.excluded["preflight probes after the build"] == 25.0
    assert "preflight" not in log  # not run again


def test_app_url_is_where_the_tests_go_and_better_auth_is_told_while_the_node_port_stays_known(tmp_path, monkeypatch, world):
    provider, images, _ = world
    installed: list[Release] = []
    monkeypatch.setattr(Release, "install", lambda self, *a, **kw: installed.append(self) or 1.0)
    settings = _settings(tmp_path, "always").with_values(app_url="https://todo.example.test")
    record: dict[str, str] = {}
    with deploy(settings, provider, images=images, record=record) as deployment:
        assert deployment.url == "https://todo.example.test" and record["app_url"] == "https://todo.example.test"
        assert deployment.node_port_url == "http://127.0.0.1:30080"  # SC-2 still proves the NodePort
    assert installed[0].set_values["frontend.betterAuth.url"] == "https://todo.example.test"
    assert "frontend.betterAuth.trustedOrigins" not in installed[0].set_values  # the provider has no other origins


def test_an_existing_cluster_trusts_every_node_origin_beside_the_values_own(tmp_path, monkeypatch, world):
    provider, images, _ = world
    installed: list[Release] = []
    monkeypatch.setattr(Release, "install", lambda self, *a, **kw: installed.append(self) or 1.0)
    monkeypatch.setattr(FakeProvider, "app_origins", lambda self, port: [f"http://172.18.0.2:{port}", f"http://172.18.0.3:{port}"])
    values = tmp_path / "mine.yaml"
    values.write_text("frontend:\n  service:\n    nodePort: 31080\n  betterAuth:\n    trustedOrigins: https://a.test,https://b.test\n")
    settings = _settings(tmp_path, "always").with_values(values=(values,))
    with deploy(settings, provider, images=images):
        pass
    assert installed[0].set_values["frontend.betterAuth.trustedOrigins"] == \
        "https://a.test,https://b.test,http://172.18.0.2:31080,http://172.18.0.3:31080"
    command = installed[0].install_command(60)
    assert r"frontend.betterAuth.trustedOrigins=https://a.test\,https://b.test\,http://172.18.0.2:31080\,http://172.18.0.3:31080" in command


def test_node_origins_join_the_charts_default_when_the_values_give_none():
    from deployproof.release import browser_origin_values, wanted_frontend_node_port

    assert wanted_frontend_node_port([]) == 30080
    assert browser_origin_values(None, ["http://10.0.0.5:30080"], []) == {
        "frontend.betterAuth.trustedOrigins": "http://localhost:30080,http://10.0.0.5:30080"}
    assert browser_origin_values(None, [], []) == {}


# --- pulls from --image-registry -------------------------------------------------------------------------

REGISTRY_IMAGE = "172.18.0.1:5443/todo-backend@sha256:" + "0" * 64


def _registry_pod(message: str, reason: str = "ErrImagePull") -> k.V1Pod:
    pod = _pod(waiting=reason, message=message)
    pod.status.container_statuses[0].image = REGISTRY_IMAGE
    return pod


def _registry_tracker(pull_secret: str | None = "todo-registry") -> PodTracker:
    from deployproof.image_registry import Registry

    return PodTracker(Limits(pull_grace_s=20), clock=Clock(), registry=Registry("172.18.0.1", 5443), pull_secret=pull_secret)


def _refused_after_the_first_retry(tracker: PodTracker, message: str):
    assert tracker.observe([_registry_pod(message)]) is None  # the kubelet may have pulled before it could read the secret
    tracker.clock.now += tracker.limits.refused_grace_s + 1  # past its first back-off (10 s): the retry was refused too
    return tracker.observe([_registry_pod(message, reason="ImagePullBackOff")])


def test_a_refused_pull_from_the_registry_fails_once_the_kubelets_retry_is_refused_naming_the_registry_and_the_pull_secret():
    message = ('failed to pull and unpack image "172.18.0.1:5443/todo-backend@sha256:00": failed to resolve reference: '
               "pulling from host 172.18.0.1:5443 failed with status code [manifests sha256:00]: 401 Unauthorized")
    problem = _refused_after_the_first_retry(_registry_tracker(), message)
    assert problem is not None and "401 Unauthorized" in problem.describe()
    assert "registry 172.18.0.1:5443" in problem.fix and "imagePullSecret todo-registry" in problem.fix
    assert "docker login 172.18.0.1:5443" in problem.fix
    assert "no credentials" in _refused_after_the_first_retry(_registry_tracker(pull_secret=None), message).fix


def test_a_pull_refused_once_while_the_kubelet_could_not_read_the_secret_yet_is_no_problem():
    """Seen in a warm CI rehearsal: a fresh kind node's kubelet logged FailedToRetrieveImagePullSecret, pulled
    without credentials (`no basic auth credentials`) and succeeded at its retry; that first refusal is no verdict."""
    tracker = _registry_tracker()
    message = ('failed to pull and unpack image "172.18.0.1:5443/todo-backend@sha256:00": failed to resolve image: pull access '
               "denied, repository does not exist or may require authorization: authorization failed: no basic auth credentials")
    assert tracker.observe([_registry_pod(message)]) is None
    tracker.clock.now += 5
    assert tracker.observe([_registry_pod(message, reason="ImagePullBackOff")]) is None
    tracker.clock.now += 6  # the retry pulled with the secret: the container is starting
    assert tracker.observe([_pod(waiting="ContainerCreating")]) is None


def test_an_untrusted_registry_certificate_fails_at_once_naming_the_ca_option():
    message = "tls: failed to verify certificate: x509: certificate signed by unknown authority"
    problem = _registry_tracker().observe([_registry_pod(message)])
    assert problem is not None and "--image-registry-ca" in problem.fix and "172.18.0.1:5443" in problem.fix


def test_an_unreachable_registry_is_reported_after_the_grace_naming_the_nodes_reach():
    tracker = _registry_tracker()
    refused = "dial tcp 172.18.0.1:5443: connect: connection refused"
    assert tracker.observe([_registry_pod(refused)]) is None  # may be a blip: the kubelet retries
    tracker.clock.now += 21
    problem = tracker.observe([_registry_pod(refused, reason="ImagePullBackOff")])
    assert problem is not None and "registry 172.18.0.1:5443" in problem.fix and "127.0.0.1 is the node itself" in problem.fix


def test_with_a_registry_the_images_are_pushed_not_loaded_and_the_release_names_their_digests(tmp_path, monkeypatch, world):
    from deployproof.image_registry import PushedImage, Registry

    provider, _, log = world
    pushed: list[tuple[str, str]] = []

    def push_image(client, local, registry, name, *, auth=None):
        pushed.append((local, name))
        return PushedImage(registry.repository(name), local.rsplit(":", 1)[1], "sha256:" + "7" * 64, 0.5)

    monkeypatch.setattr("deployproof.docker_engine.ensure_docker", lambda: object())
    monkeypatch.setattr("deployproof.imagebuild.image_exists", lambda client, ref: FakeImage("sha256:9"))
    monkeypatch.setattr("deployproof.image_registry.push_image", push_image)
    monkeypatch.setattr("deployproof.image_registry.credentials", lambda registry, docker_config=None: None)
    settings = Settings(skip_image_build={"backend": "todo-backend:1", "frontend": "todo-frontend:1", "database": "todo-database:1"},
                        image_registry=Registry("172.18.0.1", 5443, "team"))
    record: dict[str, str] = {}
    images = deploy_module.build_and_load(settings, provider, record)
    assert log == []  # nothing loaded into the nodes
    assert sorted(pushed) == [("todo-backend:1", "todo-backend"), ("todo-database:1", "todo-database"), ("todo-frontend:1", "todo-frontend")]
    backend = images.refs["backend"]
    assert backend.tag == "172.18.0.1:5443/team/todo-backend:1@sha256:" + "7" * 64
    assert backend.digest == "172.18.0.1:5443/team/todo-backend@sha256:" + "7" * 64
    assert images.pushed_to == "172.18.0.1:5443/team" and record["image_registry"] == "172.18.0.1:5443/team"
    # the sizes of the local images (what was pushed), beside #16's goals
    assert record["image_sizes"] == "backend=119.7 MB (goal ≤ 120), database=119.7 MB, frontend=119.7 MB (goal ≤ 150)"
    assert image_values(images.tags)["backend.image.digest"] == "sha256:" + "7" * 64


def test_with_registry_credentials_the_release_gets_an_image_pull_secret(tmp_path, monkeypatch, world):
    from deployproof.image_registry import Registry

    provider, images, _ = world
    installed: list[tuple[Release, object]] = []
    created: list[tuple[str, str]] = []
    monkeypatch.setattr(Release, "install", lambda self, *a, watch=None, **kw: installed.append((self, watch)) or 1.0)
    monkeypatch.setattr(Release, "ensure_namespace", lambda self: None)
    monkeypatch.setattr("deployproof.image_registry.credentials", lambda registry, docker_config=None: {"username": "u", "password": "p"})
    monkeypatch.setattr("deployproof.image_registry.ensure_pull_secret",
                        lambda core, namespace, name, registry, auth: created.append((namespace, name)))
    settings = _settings(tmp_path, "always").with_values(image_registry=Registry("172.18.0.1", 5443))
    with deploy(settings, provider, images=images):
        pass
    release, watch = installed[0]
    assert created == [("todo", "todo-registry")]
    assert release.set_values["backend.imagePullSecrets[0]"] == "todo-registry"
    assert watch.tracker.registry == Registry("172.18.0.1", 5443) and watch.tracker.pull_secret == "todo-registry"
