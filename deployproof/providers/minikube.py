"""The minikube provider: the plan's target on a developer laptop, driven through the minikube CLI.

Two ways to start, chosen by an explicit setting (--minikube-offline; never by probing the internet):
- ordinary: minikube's own path (its kicbase, preload and images, downloaded by minikube) with the user's
  MINIKUBE_HOME;
- offline: the docker driver with our node image (--base-image), our Kubernetes binaries and images in a
  MINIKUBE_HOME of our own (minikube_node/offline.py), --preload=false, the bridge CNI (minikube's default
  kindnet image cannot be built here) with the kind nodes' NetworkPolicy agent, and metrics-server from our build.

Resources: the plan's 4 CPUs / 8 GB, lowered with a printed note where the machine has less. The profile is
ours when the node container's id matches the record written when we created it: a profile someone else
made (or a broken one of theirs) is never deleted, only reported.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from .. import versions
from ..errors import PrerequisiteError
from ..paths import state_dir
from ..progress import say, step
from ..runner import run
from ..waits import poll_until
from . import host_ports
from .base import ClusterInfo, Provider, daemonset_ready

# Drivers that start a VM: they need a hypervisor and an ISO download, neither of which the offline path has.
VM_DRIVERS = ("kvm2", "hyperkit", "virtualbox", "vmware", "parallels", "hyperv", "qemu2", "qemu", "vfkit")
PLAN_CPUS = 4
PLAN_MEMORY_MB = 8192
# Memory left to the host (and the node's overhead) when the plan's memory does not fit.
HOST_RESERVE_MB = 2048
MINIMUM_MEMORY_MB = 1800  # minikube's own floor (it refuses less)
READY_TIMEOUT = 300.0
METRICS_SERVER_NAMESPACE = "kube-system"
HOST_PORTS = (versions.FRONTEND_NODE_PORT, versions.ECHO_NODE_PORT)  # NodePorts published on 127.0.0.1 (host-port access)
NETWORK_POLICIES_MANIFEST = "default-cni.yaml"  # kind's node manifest: kube-network-policies, its RBAC and DaemonSet


@dataclass(frozen=True)
class MinikubeSettings:
    profile: str = "deployproof"
    cpus: int = PLAN_CPUS  # the plan's resources
    memory_mb: int = PLAN_MEMORY_MB
    driver: str | None = None  # minikube's own default when unset (offline: docker)
    kubernetes_version: str = versions.KUBERNETES
    addons: tuple[str, ...] = ("metrics-server",)
    offline: bool = False  # our node image and cache, nothing downloaded (settings.minikube_offline)
    app_access: str = "auto"  # node-ip, host-port, or auto (settings.minikube_app_access)
    extra_config: tuple[str, ...] = field(default_factory=lambda: (
        f"controller-manager.horizontal-pod-autoscaler-sync-period={versions.TEST_CLUSTER_HPA_SYNC_PERIOD}",
        f"controller-manager.node-monitor-grace-period={versions.KIND_NODE_MONITOR_GRACE}",
    ))


def publishes_host_ports(s: MinikubeSettings, platform: str = sys.platform) -> bool:
    """Whether the node container publishes the app's NodePorts on 127.0.0.1: asked for, or where the node IP is not
    routable from the host (the docker driver on macOS/Windows runs the node inside docker's own VM)."""
    return s.app_access == "host-port" or (s.app_access == "auto" and not platform.startswith("linux"))


def fit_resources(cpus: int, memory_mb: int, host_cpus: int, host_memory_mb: int) -> tuple[int, int, list[str]]:
    """The CPUs and memory to ask for on a host with `host_cpus`/`host_memory_mb`, and a note per value lowered.

    docker refuses `--cpus` above the host's count; memory keeps HOST_RESERVE_MB for the host."""
    notes = []
    fitted_cpus = max(1, min(cpus, host_cpus))
    if fitted_cpus < cpus:
        notes.append(f"{cpus} CPUs asked for, this machine has {host_cpus}: the node gets {fitted_cpus}")
    room = max(MINIMUM_MEMORY_MB, host_memory_mb - HOST_RESERVE_MB)
    fitted_memory = min(memory_mb, room)
    if fitted_memory < memory_mb:
        notes.append(f"{memory_mb} MB of memory asked for, this machine has {host_memory_mb} MB: the node gets {fitted_memory} MB")
    return fitted_cpus, fitted_memory, notes


def host_memory_mb(meminfo: Path = Path("/proc/meminfo")) -> int:
    try:
        for line in meminfo.read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) // 1024
    except OSError:
        pass
    return PLAN_MEMORY_MB + HOST_RESERVE_MB  # unknown (not Linux): let minikube judge


def start_arguments(s: MinikubeSettings, *, cpus: int, memory_mb: int, base_image: str | None, as_root: bool) -> list[str]:
    """`minikube start`'s arguments (after `-p PROFILE`)."""
    cmd = ["start", f"--cpus={cpus}", f"--memory={memory_mb}mb", f"--kubernetes-version={s.kubernetes_version}",
           "--interactive=false"]
    if s.offline:
        # --force: minikube refuses root with the docker driver and Kubernetes newer than it knows (1.36, 1.37)
        # without it; --preload=false: the preload tarball is a download; --cni=bridge: the default for
        # containerd is kindnet, whose image we do not build.
        cmd += ["--driver=docker", "--container-runtime=containerd", f"--base-image={base_image}",
                "--preload=false", "--cni=bridge", "--force"]
    else:
        if s.driver:
            cmd.append(f"--driver={s.driver}")
        if as_root and (s.driver in (None, "docker")):
            cmd.append("--force")  # the docker driver refuses root otherwise
    if publishes_host_ports(s):
        # docker's own publishing (minikube hands --ports to `docker run -p`), loopback only: a fixed port, known before
        # the deploy (Better Auth's trusted origin), reaching the Service through kube-proxy like any NodePort.
        cmd += [f"--ports=127.0.0.1:{port}:{port}" for port in HOST_PORTS]
    cmd += [f"--extra-config={item}" for item in s.extra_config]
    return cmd


def profile_state(status_json: str) -> dict:
    """`minikube status -o json` → {"Host": …, "APIServer": …, "Kubelet": …} (empty when absent or unreadable)."""
    try:
        data = json.loads(status_json)
    except (json.JSONDecodeError, TypeError):
        return {}
    if isinstance(data, list):  # several nodes: the first is the control plane
        data = data[0] if data else {}
    return data if isinstance(data, dict) else {}


def metrics_server_args(args: list[str]) -> list[str]:
    """The addon's metrics-server arguments with the test clusters' resolution (the template says 60 s). metrics-server
    refuses a resolution not longer than its kubelet request timeout (10 s by default): that becomes 5 s, as on kind."""
    kept = [a for a in args if not a.startswith(("--metric-resolution=", "--kubelet-request-timeout="))]
    return kept + [f"--metric-resolution={versions.TEST_CLUSTER_METRIC_RESOLUTION}", "--kubelet-request-timeout=5s"]


def find_minikube(build: bool = False) -> str:
    """minikube on PATH, else our build in the cache; `build`: build it when neither exists (offline runs)."""
    from .. import tools

    try:
        return str(tools.find("minikube"))
    except PrerequisiteError as missing:
        if not build:
            raise PrerequisiteError(f"{missing.cause} (needed by the minikube provider)",
                                    f"{missing.fix}, or run with --minikube-offline, or use --cluster-provider=kind|embedded") from None
    from .minikube_node import minikubebin

    return str(minikubebin.ensure_minikube())


class MinikubeProvider(Provider):
    name = "minikube"

    def __init__(self, settings: MinikubeSettings | None = None) -> None:
        self.settings = settings or MinikubeSettings()
        if self.settings.offline and self.settings.driver not in (None, "docker"):
            raise PrerequisiteError(f"--minikube-offline runs the docker driver; {self.settings.driver!r} cannot start offline here",
                                    "leave the driver unset (or docker), or run without --minikube-offline")
        if self.settings.driver in VM_DRIVERS:
            raise PrerequisiteError(f"minikube's {self.settings.driver} driver starts a VM, which this suite does not support",
                                    "use the docker driver (the default here)")
        self.binary = find_minikube(build=self.settings.offline)
        from .kind import find_kubectl

        self.kubectl_bin = find_kubectl()
        folder = state_dir().with_name(state_dir().name + "-minikube")  # beside the state folder (kind's reason)
        self._kubeconfig = folder / f"{self.settings.profile}.kubeconfig"
        self._record = folder / f"{self.settings.profile}.json"
        self._base_image: str | None = None

    # --- commands ------------------------------------------------------------------------------
    def env(self) -> dict[str, str]:
        env = {"KUBECONFIG": str(self._kubeconfig), "MINIKUBE_IN_STYLE": "false", "MINIKUBE_WANTUPDATENOTIFICATION": "false"}
        if self.settings.offline:
            from .minikube_node.offline import minikube_home

            env["MINIKUBE_HOME"] = str(minikube_home())
        return env

    def _run(self, *args: str, check: bool = True, quiet: bool = False, timeout: float | None = None):
        # minikube writes its context into KUBECONFIG: keep it in a file of ours, not ~/.kube/config.
        return run([self.binary, "-p", self.settings.profile, *args], env=self.env(), check=check, quiet=quiet, timeout=timeout)

    def _kubectl(self, *args: str, check: bool = False, input: str | None = None):
        from ..kube import kubectl_args

        return run([self.kubectl_bin, *kubectl_args(self._kubeconfig, self.context()), *args], check=check, quiet=True, input=input)

    def start_command(self) -> list[str]:
        cpus, memory, _notes = self.resources()
        return start_arguments(self.settings, cpus=cpus, memory_mb=memory, base_image=self._base_image or "<node image>",
                               as_root=hasattr(os, "geteuid") and os.geteuid() == 0)

    def resources(self) -> tuple[int, int, list[str]]:
        return fit_resources(self.settings.cpus, self.settings.memory_mb, os.cpu_count() or 1, host_memory_mb())

    # --- what exists -----------------------------------------------------------------------------
    def state(self) -> dict:
        out = self._run("status", "-o", "json", check=False, quiet=True)
        return profile_state(out.stdout)

    def is_running(self) -> bool:
        state = self.state()
        return state.get("Host") == "Running" and state.get("APIServer") == "Running"

    def exists(self) -> bool:
        return self.state().get("Host") not in (None, "", "Nonexistent")

    def _node_id(self) -> str | None:
        out = run(["docker", "inspect", "--format", "{{.Id}}", self.settings.profile], check=False, quiet=True)
        return out.stdout.strip() or None if out.returncode == 0 else None

    def created_by_us(self) -> bool:
        try:
            recorded = json.loads(self._record.read_text())
        except (OSError, ValueError):
            return False
        return bool(recorded.get("node_id")) and recorded.get("node_id") == self._node_id()

    def _not_ours(self) -> PrerequisiteError:
        return PrerequisiteError(
            f"a minikube profile named {self.settings.profile!r} exists that deployproof did not create",
            f"delete it yourself if it is yours (`{self.binary} delete -p {self.settings.profile}`"
            + (f" with MINIKUBE_HOME={self.env()['MINIKUBE_HOME']}" if self.settings.offline else "")
            + "), or use another profile; deployproof never deletes what it did not create")

    # --- lifecycle -------------------------------------------------------------------------------
    def up(self) -> dict[str, float]:
        timings: dict[str, float] = {}
        self._kubeconfig.parent.mkdir(parents=True, exist_ok=True)
        if self.settings.offline:
            self._prepare_offline(timings)
        if self.exists():
            if not self.created_by_us():
                raise self._not_ours()
            recorded = json.loads(self._record.read_text())
            if self.is_running() and recorded.get("kubernetes") == self.settings.kubernetes_version \
                    and recorded.get("base_image") == self._base_image and recorded.get("host_ports", []) == self._host_ports():
                say(f"minikube profile {self.settings.profile!r} (ours) is running: reused")
                self._run("update-context", quiet=True)
                self._after_start(timings)
                return timings
            say(f"minikube profile {self.settings.profile!r} (ours) is stopped, broken or of another release/node image: recreating it")
            self._run("delete", check=False)
        self._check_host_ports_free()
        cpus, memory, notes = self.resources()
        for note in notes:
            say(f"note: {note} (the plan's resources are {PLAN_CPUS} CPUs / {PLAN_MEMORY_MB} MB)")
        args = start_arguments(self.settings, cpus=cpus, memory_mb=memory, base_image=self._base_image,
                               as_root=hasattr(os, "geteuid") and os.geteuid() == 0)
        with step(f"minikube start ({'offline, ' if self.settings.offline else ''}Kubernetes {self.settings.kubernetes_version})", timings):
            try:
                self._run(*args, timeout=900)
            finally:
                node_id = self._node_id()
                if node_id:  # a half-started node is ours too: down() may delete it
                    self._record.write_text(json.dumps({"node_id": node_id, "created": time.time(), "base_image": self._base_image,
                                                        "host_ports": self._host_ports(),
                                                        "kubernetes": self.settings.kubernetes_version, "offline": self.settings.offline}))
        self._after_start(timings)
        return timings

    def _host_ports(self) -> list[int]:
        return list(HOST_PORTS) if publishes_host_ports(self.settings) else []

    def _check_host_ports_free(self) -> None:
        for port in self._host_ports():
            host_ports.check_free(port, elsewhere="use --minikube-app-access node-ip where the node IP is routable (Linux)")

    def _prepare_offline(self, timings: dict[str, float]) -> None:
        from .minikube_node import offline

        with step("minikube node image and offline cache", timings):
            self._base_image = offline.ensure_node_image(timings=timings)
            images = offline.ensure_cache(self.settings.kubernetes_version, timings=timings)
        from ..imagebuild import image_exists
        from ..docker_engine import ensure_docker

        client = ensure_docker()
        problems = offline.cache_problems(self.settings.kubernetes_version, list(images),
                                          has_image=lambda name: image_exists(client, name) is not None)
        if problems:
            raise PrerequisiteError("minikube's offline cache is incomplete: " + "; ".join(problems),
                                    "run `python -m deployproof.providers.minikube_node --force` to rebuild it")

    def _after_start(self, timings: dict[str, float]) -> None:
        if self.settings.offline:
            with step("NetworkPolicy agent (kube-network-policies) ready", timings):
                self._enable_network_policies()
        if "metrics-server" in self.settings.addons:
            with step("metrics-server addon answering", timings):
                self._enable_metrics_server()
                poll_until(self._metrics_answering, description="the metrics API (metrics-server) answering with node metrics",
                           timeout=READY_TIMEOUT)
        for addon in self.settings.addons:
            if addon != "metrics-server":
                self._run("addons", "enable", addon)

    def _enable_network_policies(self) -> None:
        """The bridge CNI enforces no NetworkPolicy: on the offline path our kind nodes' agent runs here too, judging
        the node's new pod connections from the queue its unit feeds (dockerfiles/minikube-node: queue-pod-connections,
        the table guard) and learning pod IPs from containerd's NRI (the kind node's containerd config, kept by minikube)."""
        from .kind_node import images, nodeimage

        self._run("image", "load", "--daemon", images.network_policies_image())
        manifest = nodeimage.render_manifest(nodeimage.MANIFESTS / NETWORK_POLICIES_MANIFEST)
        out = self._kubectl("apply", "-f", "-", input=manifest)
        if out.returncode != 0:
            raise PrerequisiteError(f"the NetworkPolicy agent could not be applied to minikube profile {self.settings.profile!r}: "
                                    f"{out.stderr.strip()[-300:]}", "see `minikube logs`; the node image may be stale "
                                    "(python -m deployproof.providers.minikube_node --force)")
        poll_until(self._network_policies_ready, description="kube-network-policies ready on the minikube node", timeout=READY_TIMEOUT)

    def _network_policies_ready(self) -> tuple[bool, str]:
        ready, status = daemonset_ready(self._kubectl, "kube-system", "kube-network-policies")
        return ready, f"ready {status}"

    def _metrics_server_args(self) -> list[str] | None:
        out = self._kubectl("get", "deployment", "metrics-server", "-n", METRICS_SERVER_NAMESPACE, "-o", "json")
        if out.returncode != 0:
            return None
        return json.loads(out.stdout)["spec"]["template"]["spec"]["containers"][0].get("args", [])

    def _enable_metrics_server(self) -> None:
        current = self._metrics_server_args()
        if current is not None and metrics_server_args(current) == current:
            return  # enabled and patched (a reused profile): enabling again would roll it back to the template's 60 s
        if self.settings.offline:
            from .kind_node import images

            image = images.metrics_server_image()
            self._run("image", "load", "--daemon", image)
            self._run("addons", "enable", "metrics-server", f"--images=MetricsServer={image}")
        else:
            self._run("addons", "enable", "metrics-server")
        # The addon's template scrapes every 60 s; the test clusters' setting is 10 s (HPA reaction, the report says so).
        container_args = self._metrics_server_args() or []
        patched = metrics_server_args(container_args)
        if patched != container_args:
            patch = [{"op": "replace", "path": "/spec/template/spec/containers/0/args", "value": patched}]
            self._kubectl("patch", "deployment", "metrics-server", "-n", METRICS_SERVER_NAMESPACE, "--type=json",
                          "-p", json.dumps(patch), check=True)

    def _metrics_answering(self) -> tuple[bool, str]:
        out = self._kubectl("get", "--raw", "/apis/metrics.k8s.io/v1beta1/nodes")
        if out.returncode != 0:
            return False, out.stderr.strip()[-160:]
        return bool(json.loads(out.stdout).get("items")), "no node metrics yet"

    def down(self) -> list[str]:
        if not self.exists():
            self._record.unlink(missing_ok=True)
            return []
        if not self.created_by_us():
            return [f"minikube profile {self.settings.profile!r} was not created by deployproof: left as it is"]
        out = self._run("delete", check=False)
        problems = [] if out.returncode == 0 else [f"minikube delete: {out.stderr.strip()[-300:]}"]
        leftover = run(["docker", "ps", "-aq", "--filter", f"label=name.minikube.sigs.k8s.io={self.settings.profile}"],
                       check=False, quiet=True).stdout.split()
        if leftover:
            problems.append(f"containers left after minikube delete: {' '.join(leftover)}")
        self._record.unlink(missing_ok=True)
        self._kubeconfig.unlink(missing_ok=True)
        return problems

    def kubeconfig(self) -> Path:
        return self._kubeconfig

    def context(self) -> str:
        return self.settings.profile

    def load_images(self, tags: list[str]) -> None:
        # --daemon: from the host's docker daemon only (a bare tag would first ask Docker Hub about a short name).
        for tag in tags:
            self._run("image", "load", "--daemon", tag)
            if self.settings.offline:
                # minikube keeps a copy of every image it loads in its cache; the app's content-tagged images would
                # pile up there (≈ 60 MB per build) in our MINIKUBE_HOME: the node has it now, the copy can go.
                from .minikube_node.offline import image_cache_file

                image_cache_file(tag).unlink(missing_ok=True)

    def node_ip(self) -> str:
        return self._run("ip", quiet=True).stdout.strip()

    def node_port_url(self, node_port: int) -> str:
        if publishes_host_ports(self.settings):
            if node_port not in HOST_PORTS:
                raise PrerequisiteError(
                    f"NodePort {node_port} is not published on 127.0.0.1 by the minikube node (it publishes {HOST_PORTS})",
                    f"keep frontend.service.nodePort at {versions.FRONTEND_NODE_PORT}, or use --minikube-app-access node-ip "
                    "where the node IP is routable (Linux)")
            return f"http://127.0.0.1:{node_port}"
        if not sys.platform.startswith("linux"):
            raise PrerequisiteError(
                "with minikube's docker driver on macOS/Windows the node IP is not routable from the host",
                "use --minikube-app-access host-port (the default there: the NodePorts published on 127.0.0.1), or run "
                f"`minikube -p {self.settings.profile} service <frontend service> -n <namespace> --url` and pass its URL "
                "with --app-url")
        return f"http://{self.node_ip()}:{node_port}"

    def app_origins(self, node_port: int) -> list[str]:
        out = self._run("ip", check=False, quiet=True)
        origins = [f"http://{out.stdout.strip()}:{node_port}"] if out.returncode == 0 and out.stdout.strip() else []
        if publishes_host_ports(self.settings):
            origins.insert(0, f"http://127.0.0.1:{node_port}")
        return origins

    def own_addresses(self) -> list[str]:
        # The profile's node container, when deployproof created it (the record of its container id).
        if not self.created_by_us():
            return []
        out = self._run("ip", check=False, quiet=True)
        return [out.stdout.strip()] if out.returncode == 0 and out.stdout.strip() else []

    def collect_diagnostics(self, folder: Path) -> list[str]:
        folder.mkdir(parents=True, exist_ok=True)
        problems = []
        out = self._run("logs", f"--file={folder / 'minikube.log'}", check=False)
        if out.returncode != 0:
            problems.append(f"minikube logs: {out.stderr.strip()[-300:]}")
        journal = run(["docker", "exec", self.settings.profile, "journalctl", "--no-pager", "-n", "20000"], check=False, quiet=True)
        if journal.returncode == 0:
            (folder / "node-journal.log").write_text(journal.stdout)
        else:
            problems.append(f"node journal: {journal.stderr.strip()[-300:]}")
        return problems

    def describe(self) -> ClusterInfo:
        s = self.settings
        cpus, memory, _notes = self.resources()
        return ClusterInfo(self.name, self.kubeconfig(), self.context(),
                           {"profile": s.profile, "cpus": str(cpus), "memory": f"{memory}mb", "kubernetes": s.kubernetes_version,
                            "offline": str(s.offline).lower(), "minikube": self.binary,
                            "node_monitor_grace_period": versions.KIND_NODE_MONITOR_GRACE, **versions.test_cluster_settings()})
