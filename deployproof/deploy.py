"""Deploy the app as one library call: build, load, install, wait, and clean up per `--keep`.

    with deploy(settings, provider) as deployment:
        print(deployment.url)

`cluster(settings, provider)` brings the provider's cluster up (or reuses a running one, which
is then never torn down by us); `deploy` runs inside it: images built (content-tagged, unchanged
ones reused) or taken from `--skip-image-build` and loaded into the cluster, the namespace and
`helm upgrade --install --wait` with pods watched for permanent failures (podwatch.py), then the
app's URL: --app-url when given, else the frontend Service's live NodePort on the provider's address.
Before anything is built the cluster is preflighted (preflight.py: what it lets the run prove, and
whether the deployment can work there at all); the table is printed before the install. On any
failure the diagnostics are collected before anything is removed. The pytest fixtures and
`deployproof deploy` are thin wrappers over these two context managers.
"""

from __future__ import annotations

import contextlib
import logging
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator, MutableMapping

from . import capacity, charts, diagnostics, preflight
from .errors import DeploymentError, DeployProofError, PrerequisiteError, UsageError
from .podwatch import Limits, PodWatch
from .progress import say, step
from .providers import Provider, running_before_up
from .release import VALUES_BY_PROVIDER, Release, browser_origin_values, image_values, wanted_frontend_node_port
from .settings import Settings

# Steps of a provider's `up` that are set-up rather than bringing a cluster up (building it from source).
SETUP_STEP_PREFIX = "build components"
SC6_LIMIT_S = 600


@dataclass(frozen=True)
class ImageRef:
    """One app image as deployed: its reference, the image ID the nodes run, whether it was reused."""

    name: str
    tag: str  # repository:tag (or repository@sha256:…) handed to the chart
    id: str | None  # docker image ID (sha256:…) when the image is local
    digest: str | None = None  # repository digest when the image came from (or went to) a registry
    cached: bool = False  # not built in this run: content unchanged, or given with --skip-image-build
    given: bool = False  # from --skip-image-build

    def describe(self) -> str:
        state = "given" if self.given else ("cached" if self.cached else "built")
        return f"{self.tag} ({(self.digest or self.id or 'id unknown')[:19]}, {state})"


@dataclass
class ClusterRun:
    """A cluster as this run found or made it."""

    provider: Provider
    started: float  # time.monotonic() just before up(): the start of the run for SC-6
    up_s: float = 0.0  # cluster up, set-up steps (building components) excluded
    setup_s: float = 0.0  # building the cluster's components (a cache hit when warm)
    created: bool = False  # False when a running cluster was reused or the provider cannot tell
    ready_at: float = 0.0  # time.monotonic() when up() returned
    steps: dict[str, float] = field(default_factory=dict)
    failed: bool = False  # set by the caller when what ran on the cluster failed (decides --keep)


@dataclass
class Timings:
    """SC-6: each step separately, and the whole from the start of the run to all pods Ready."""

    cluster_up_s: float = 0.0
    cluster_reused: bool = False
    images_built_s: float = 0.0
    images_cached: str = "no"  # yes | no | partly: <names> | given (--skip-image-build)
    images_loaded_s: float = 0.0  # loaded into the nodes, or pushed to --image-registry
    images_pushed_to: str | None = None  # the registry (--image-registry), when the nodes pull the images
    helm_to_ready_s: float = 0.0
    release_upgraded: bool = False  # an already deployed release was upgraded (pods may have stayed)
    total_s: float = 0.0
    excluded: dict[str, float] = field(default_factory=dict)  # not part of the whole, and why

    def warm_steps(self) -> list[str]:
        warm = []
        if self.cluster_reused:
            warm.append("cluster up (a running cluster was reused)")
        if self.images_cached == "yes":
            warm.append("images built (all unchanged, none rebuilt)")
        elif self.images_cached.startswith("partly"):
            warm.append(f"images built ({self.images_cached.split(':', 1)[1].strip()} unchanged)")
        elif self.images_cached.startswith("given"):
            warm.append("images built (skipped: --skip-image-build)")
        if self.release_upgraded:
            warm.append("helm install (upgrade of an already deployed release)")
        return warm

    def report_context(self) -> dict[str, str]:
        """The SC-6 figures under the report's keys."""
        return {
            "sc6_cluster_up_s": str(self.cluster_up_s),
            "sc6_images_built_s": str(self.images_built_s),
            "sc6_images_cached": self.images_cached,
            "sc6_images_loaded_s": str(self.images_loaded_s),
            "sc6_images_pushed_to": self.images_pushed_to or "-",
            "sc6_helm_to_ready_s": str(self.helm_to_ready_s),
            "sc6_total_s": str(self.total_s),
            "sc6_warm_steps": ", ".join(self.warm_steps()) or "none (every step ran cold)",
            "sc6_excluded": ", ".join(f"{what} {s}s" for what, s in self.excluded.items() if s) or "nothing",
        }

    def lines(self) -> list[str]:
        return [
            f"cluster up          {self.cluster_up_s:7.1f}s{'  (reused)' if self.cluster_reused else ''}",
            f"images built        {self.images_built_s:7.1f}s  (cached: {self.images_cached})",
            f"images pushed       {self.images_loaded_s:7.1f}s  (to {self.images_pushed_to})" if self.images_pushed_to
            else f"images loaded       {self.images_loaded_s:7.1f}s",
            f"helm to all Ready   {self.helm_to_ready_s:7.1f}s{'  (upgrade)' if self.release_upgraded else ''}",
            f"total (SC-6 ≤ {SC6_LIMIT_S}s) {self.total_s:7.1f}s",
        ]


@dataclass
class Images:
    """The app images, ready on the cluster's nodes, with how long building and loading took."""

    refs: dict[str, ImageRef]
    built_s: float = 0.0
    loaded_s: float = 0.0  # loading into the nodes, or pushing to the registry
    started: float = 0.0  # time.monotonic() when building began
    pushed_to: str | None = None  # --image-registry, when the images were pushed there instead of loaded

    @property
    def tags(self) -> dict[str, str]:
        return {name: ref.tag for name, ref in self.refs.items()}


@dataclass
class Deployment:
    """The app as deployed: where it answers, which release, which images, how long each step took."""

    url: str | None  # where the tests reach the app: --app-url, else the NodePort URL; None: see url_error
    release: str
    namespace: str
    kubeconfig: Path
    context: str
    provider: str
    images: dict[str, ImageRef]
    timings: Timings
    helm: Release  # the release handle: test(), uninstall()
    diagnostics: Path | None = None
    url_error: DeployProofError | None = None  # why there is no URL: raised by whoever needs it (app_url, the CLI)
    failed: bool = False  # set by the caller when its checks failed: decides --keep and diagnostics
    failure_reason: str = ""  # what failed, in the caller's words: the diagnostics folder's reason.txt
    node_port_url: str | None = None  # the frontend's NodePort as the host reaches it (SC-2), even beside --app-url
    node_port_error: DeployProofError | None = None  # why the host reaches no NodePort


# ---------------------------------------------------------------------------------------------
# The cluster
# ---------------------------------------------------------------------------------------------

def bring_up(provider: Provider) -> ClusterRun:
    """Bring the cluster up (or reuse it), timed from just before up(); record whether we created it."""
    started = time.monotonic()
    was_running = running_before_up(provider)
    steps: dict[str, float] = {}
    with step(f"cluster up ({provider.name})"):
        steps = provider.up() or {}
    took = time.monotonic() - started
    setup = sum(v for k, v in steps.items() if k.startswith(SETUP_STEP_PREFIX))
    # Unknown counts as reused: a cluster we cannot prove we made is never torn down by us.
    return ClusterRun(provider, started, round(took - setup, 1), round(setup, 1), created=was_running is False, steps=steps,
                      ready_at=started + took)


def tear_down(run: ClusterRun, settings: Settings, failed: bool) -> None:
    if not run.created:
        say(f"cluster left running: this run did not create it ({run.provider.name})")
    elif settings.keep_after(failed):
        say(f"cluster kept (--keep={settings.keep}{', the run failed' if failed else ''})")
    else:
        problems = run.provider.down()
        for problem in problems:
            say(f"  tear-down: {problem}")


@contextlib.contextmanager
def cluster(settings: Settings, provider: Provider) -> Iterator[ClusterRun]:
    """The provider's cluster for the length of the block; torn down after it only if we created it and --keep allows."""
    run = bring_up(provider)
    try:
        yield run
    except BaseException:
        run.failed = True
        raise
    finally:
        tear_down(run, settings, run.failed)


# ---------------------------------------------------------------------------------------------
# The deployment
# ---------------------------------------------------------------------------------------------

@contextlib.contextmanager
def deploy(settings: Settings, provider: Provider, *, cluster_run: ClusterRun | None = None, images: Images | None = None,
           record: MutableMapping[str, str] | None = None, limits: Limits | None = None,
           checked: preflight.Preflight | None = None) -> Iterator[Deployment]:
    """Build, load, install and wait; yield the Deployment; uninstall per --keep afterwards.

    Without `cluster_run` the cluster is brought up here too (and torn down per --keep if we
    created it); without `checked` it is preflighted here (`check_cluster`) before anything is
    built; without `images` they are built and loaded here (`build_and_load`).
    `record` (e.g. the report's context) receives the figures as text. A failure
    inside the block, or `deployment.failed = True`, counts as a failed run: diagnostics are
    collected before the release is removed (or kept).
    """
    record = record if record is not None else {}
    with contextlib.ExitStack() as stack:
        if cluster_run is None:
            cluster_run = stack.enter_context(cluster(settings, provider))
        try:
            deployment = _install(settings, cluster_run, images, record, limits, checked)
        except BaseException:
            cluster_run.failed = True
            raise
        failed = False
        try:
            yield deployment
        except BaseException:
            failed = True
            raise
        finally:
            failed = failed or deployment.failed
            cluster_run.failed = cluster_run.failed or failed
            if failed and deployment.diagnostics is None:
                deployment.diagnostics = _collect(settings, provider, deployment.helm, record,
                                                  deployment.failure_reason or "the checks of the deployment failed")
            if settings.keep_after(failed):
                say(f"release {deployment.release} kept in namespace {deployment.namespace} (--keep={settings.keep})")
            else:
                deployment.helm.uninstall()


def _fit_to_cluster(provider: Provider, release: Release, core_api, record: MutableMapping[str, str]) -> None:
    """Lower the HPAs' maxReplicas to what a cluster of ours can schedule (capacity.py); on a cluster handed over, warn."""
    found = capacity.workloads(preflight.rendered(release))
    room = capacity.cluster_capacity(core_api, release.namespace)
    if provider.name == "existing":
        short = capacity.shortfall(found, room)
        if short:
            say(f"{short}: replicas past that stay Pending (Unschedulable) — add nodes, or lower the HPAs' "
                "maxReplicas (--set CHART.autoscaling.maxReplicas=N)", logging.WARNING)
        return
    maxes = capacity.fitted_max_replicas(found, room)
    tight = capacity.replacement_shortfall(found, room, maxes)
    if tight:
        record["replacement_room"] = tight
        say(f"note: {tight} (the scheduler counts a terminating pod's requests until it is gone)")
    if not maxes:
        return
    release.set_values.update(capacity.max_replicas_values(maxes))
    lowered = capacity.describe_lowered(found, maxes)
    record["max_replicas_lowered"] = f"{lowered}: {room.describe()}"
    say(f"maxReplicas lowered so every replica can be scheduled on this cluster: {lowered} ({room.describe()})")
    still = capacity.shortfall(found, room, maxes)
    if still:
        say(f"even at minReplicas + 1, {still}", logging.WARNING)


def undeploy(settings: Settings, provider: Provider) -> None:
    """Uninstall the release and delete its namespace; return once the namespace is gone."""
    _release(settings, provider, {}).uninstall(wait_namespace=True)


def _release(settings: Settings, provider: Provider, images: dict[str, str], *, browser_origins: bool = False) -> Release:
    """The release these settings install; with `browser_origins`, Better Auth is told where the host reaches the app
    (--app-url, or the node origins of an existing cluster: provider.app_origins)."""
    values = [charts.values_file(VALUES_BY_PROVIDER[provider.name])] if provider.name in VALUES_BY_PROVIDER else []
    values += list(settings.values)
    set_values = image_values(images)
    if browser_origins:
        set_values.update(browser_origin_values(settings.app_url, provider.app_origins(wanted_frontend_node_port(values)), values))
    return Release(settings.release_name, settings.namespace, provider.kubeconfig(), provider.context(), values, set_values)


def check_cluster(settings: Settings, provider: Provider) -> preflight.Preflight:
    """The preflight (preflight.py) of the provider's running cluster for the release these settings would install."""
    from .kube import KubeClients

    clients = KubeClients.connect(provider.kubeconfig(), provider.context())
    try:
        with step(f"preflight of the cluster (context {provider.context()})"):
            return preflight.run(clients, _release(settings, provider, {}))
    finally:
        clients.close()


def build_and_load(settings: Settings, provider: Provider, record: MutableMapping[str, str] | None = None) -> Images:
    """The app images built (or given with --skip-image-build) and loaded into the cluster — or, with
    --image-registry, pushed there (the nodes pull them by digest; nothing is loaded) — each step timed."""
    begun = time.monotonic()
    refs = prepare_images(settings, provider)
    images = Images(refs, built_s=round(time.monotonic() - begun, 1), started=begun)
    begun = time.monotonic()
    if settings.image_registry is not None:
        images.refs = push_images(settings, refs)
        images.pushed_to = str(settings.image_registry)
    else:
        load_images(settings, provider, refs)
    images.loaded_s = round(time.monotonic() - begun, 1)
    if record is not None:
        record["images"] = ", ".join(f"{name}={ref.describe()}" for name, ref in sorted(images.refs.items()))
        sizes = _local_sizes(refs)
        if sizes:
            record["image_sizes"] = sizes
        if images.pushed_to:
            record["image_registry"] = images.pushed_to
            record["images_pushed_s"] = str(images.loaded_s)
    return images


def _local_sizes(refs: dict[str, ImageRef]) -> str:
    """The app images' sizes for the report (those in the local engine; given ones may live only in a registry)."""
    from .docker_engine import ensure_docker
    from .images import sizes_mb, sizes_summary

    return sizes_summary(sizes_mb({name: ref.tag for name, ref in refs.items()}, client=ensure_docker()))


def _install(settings: Settings, run: ClusterRun, images: Images | None, record: MutableMapping[str, str],
             limits: Limits | None, checked: preflight.Preflight | None) -> Deployment:
    from .kube import KubeClients

    provider = run.provider
    record.update({"provider": provider.name, "context": provider.context(), "cluster_up_s": str(run.up_s)})
    checked = checked or check_cluster(settings, provider)
    checked.stop_if_blocked()
    images = images or build_and_load(settings, provider, record)
    timings = Timings(cluster_up_s=run.up_s, cluster_reused=not run.created, images_built_s=images.built_s,
                      images_cached=_cached_summary(images.refs), images_loaded_s=images.loaded_s,
                      images_pushed_to=images.pushed_to)

    say(checked.table())
    release = _release(settings, provider, images.tags, browser_origins=True)
    record["release"] = f"{release.name} in namespace {release.namespace}"
    clients = KubeClients.connect(provider.kubeconfig(), provider.context())
    try:
        pull_secret = _pull_secret(settings, release, clients.core)
        _fit_to_cluster(provider, release, clients.core, record)
        timings.release_upgraded = release.exists()
        log_dir = Path(settings.report_dir).resolve()
        log_dir.mkdir(parents=True, exist_ok=True)
        try:
            timings.helm_to_ready_s = release.install(settings.deploy_timeout, watch=PodWatch(clients.core, release.namespace, limits,
                                                                                     registry=settings.image_registry, pull_secret=pull_secret),
                                                      log_dir=log_dir)
        except (PrerequisiteError, UsageError):
            raise  # nothing was installed: no diagnostics to gather, and the exit code says "prerequisite"/"usage"
        except DeployProofError as exc:
            folder = _collect(settings, provider, release, record, str(exc))
            helm_log = log_dir / f"helm-install-{release.name}.log"
            if helm_log.exists():
                (folder / "helm").mkdir(exist_ok=True)
                shutil.copy2(helm_log, folder / "helm" / "install.log")
            if not settings.keep_after(True):
                _uninstall_quietly(release)
            raise DeploymentError(exc.cause, f"{exc.fix + '; ' if exc.fix else ''}diagnostics: {folder.resolve()}") from exc
        node_port_url, node_port_error = _node_port_url(provider, clients.core, release)
    finally:
        clients.close()
    url, url_error = (settings.app_url, None) if settings.app_url else (node_port_url, node_port_error)

    # The whole: from just before cluster up to all Ready, less building the cluster's components
    # (set-up) and any time between cluster up and the image build spent on other things (other tests).
    between = max(0.0, images.started - run.ready_at) if run.ready_at else 0.0
    timings.excluded = {"cluster components built": run.setup_s, "other work between cluster up and images": round(between, 1),
                        "preflight probes after the build": round(checked.probe_s, 1)}
    timings.total_s = round(time.monotonic() - run.started - run.setup_s - between - checked.probe_s, 1)
    release.helm_s, release.deploy_s = timings.helm_to_ready_s, timings.total_s
    record.update(timings.report_context())
    if url is not None:
        record["app_url"] = url
    say(f"✓ deployed {release.name} in {timings.total_s:.1f}s from the start of the run: {url or f'no URL ({url_error.cause})'}")
    return Deployment(url, release.name, release.namespace, provider.kubeconfig(), provider.context(), provider.name,
                      images.refs, timings, release, url_error=url_error, node_port_url=node_port_url, node_port_error=node_port_error)


def _pull_secret(settings: Settings, release: Release, core_api) -> str | None:
    """With --image-registry and credentials for it in the docker config: the imagePullSecret the release's pods get
    (created in its namespace now; its name is returned). Without credentials the nodes pull anonymously."""
    from .image_registry import credentials, ensure_pull_secret, pull_secret_name
    from .release import pull_secret_values

    registry = settings.image_registry
    if registry is None:
        return None
    auth = credentials(registry)
    if auth is None:
        say(f"no credentials for {registry.address} in your docker config: the nodes pull anonymously (no imagePullSecret)")
        return None
    name = pull_secret_name(release.name)
    release.ensure_namespace()
    ensure_pull_secret(core_api, release.namespace, name, registry, auth)
    release.set_values.update(pull_secret_values(name))
    return name


def _node_port_url(provider: Provider, core_api, release: Release) -> tuple[str | None, DeployProofError | None]:
    """The frontend's NodePort as the host reaches it; a release without one (or a cluster whose nodes the host cannot
    reach) is installed all the same: the checks, or --app-url, say what follows."""
    try:
        return provider.node_port_url(frontend_node_port(core_api, release.namespace, release.name)), None
    except DeployProofError as exc:
        say(f"  no NodePort URL for the app: {exc.cause}")
        return None, exc


def _uninstall_quietly(release: Release) -> None:
    """Remove a failed release without hiding the failure that got us here."""
    try:
        release.uninstall()
    except DeployProofError as exc:
        say(f"  could not uninstall {release.name}: {exc.cause}")


def _collect(settings: Settings, provider: Provider, release: Release, record: MutableMapping[str, str], reason: str) -> Path:
    folder = diagnostics.collect(provider, [release.namespace], folder=settings.diagnostics_dir, release=release.name, reason=reason)
    record["diagnostics"] = str(folder.resolve())
    return folder


# ---------------------------------------------------------------------------------------------
# Images
# ---------------------------------------------------------------------------------------------

def prepare_images(settings: Settings, provider: Provider) -> dict[str, ImageRef]:
    """The app images: built (unchanged ones reused), or the ones given with --skip-image-build, checked to exist."""
    from .docker_engine import ensure_docker
    from .imagebuild import image_exists
    from .images import build_app_images

    if settings.skip_image_build:
        if provider.name == "existing" and settings.image_registry is None:
            # Nothing is loaded into an existing cluster: its nodes pull the given references themselves.
            return {name: ImageRef(name, ref, None, _digest_of(ref), cached=True, given=True)
                    for name, ref in settings.skip_image_build.items()}
        client = ensure_docker()
        refs, missing = {}, []
        for name, ref in settings.skip_image_build.items():
            image = image_exists(client, ref)
            if image is None:
                missing.append(f"{name}={ref}")
                continue
            refs[name] = ImageRef(name, ref, image.id, _repo_digest(image), cached=True, given=True)
        if missing:
            raise UsageError(f"--skip-image-build names images that are not in the local docker engine: {', '.join(missing)}",
                             "build or pull them first (`docker image ls` shows what is there), or leave out --skip-image-build")
        return refs
    built_steps: dict[str, float] = {}
    with step(f"build app images ({settings.image_base} base)"):
        built = build_app_images(settings.image_base, timings=built_steps)
    client = ensure_docker()
    refs = {}
    for name, ref in built.items():
        image = image_exists(client, ref.tag)
        rebuilt = any(key.startswith(f"build {name} ") for key in built_steps)
        refs[name] = ImageRef(name, ref.tag, ref.id, _repo_digest(image) if image is not None else None, cached=not rebuilt)
    return refs


def push_images(settings: Settings, images: dict[str, ImageRef]) -> dict[str, ImageRef]:
    """Push the app images to --image-registry as HOST[:PORT][/PREFIX]/todo-<name>:<tag>; each ref becomes
    `…:<tag>@sha256:…` with the digest the registry returned (what the release installs and SC-1 compares)."""
    from .images import APP_IMAGES

    repositories = {spec.name: spec.repository for spec in APP_IMAGES}
    with step(f"push {len(images)} images to {settings.image_registry}"):
        pushed = push_to_registry(settings, {name: (ref.tag, repositories.get(name, f"todo-{name}")) for name, ref in images.items()})
    return {name: ImageRef(name, pushed[name].reference, ref.id, pushed[name].by_digest, cached=ref.cached, given=ref.given)
            for name, ref in images.items()}


def push_to_registry(settings: Settings, images: dict[str, tuple[str, str]]) -> dict:
    """Push each local image (name → (local tag, repository)) to --image-registry as REGISTRY/repository:<its tag>;
    return name → PushedImage (digest included). The registry's CA (--image-registry-ca) is handed to dockerd
    first; credentials come from the user's docker config (or the test registry's, kept in-process)."""
    from .docker_engine import ensure_docker
    from .image_registry import credentials, push_image, trust_for_docker

    registry = settings.image_registry
    assert registry is not None
    if settings.image_registry_ca is not None:
        try:
            trust_for_docker(registry, settings.image_registry_ca)
        except PermissionError as exc:
            raise PrerequisiteError(f"cannot install the registry's CA for dockerd ({exc})",
                                    "run as root, or install it yourself as /etc/docker/certs.d/"
                                    f"{registry.address}/ca.crt and leave out --image-registry-ca") from exc
    auth = credentials(registry)
    if auth is None:
        say(f"no credentials for {registry.address} in your docker config: pushing anonymously")
    client = ensure_docker()
    return {name: push_image(client, local, registry, repository, auth=auth) for name, (local, repository) in images.items()}


def load_images(settings: Settings, provider: Provider, images: dict[str, ImageRef]) -> None:
    """Make the images available on the cluster's nodes (given ones too: they are local images)."""
    if provider.name == "existing" and all(ref.given for ref in images.values()):
        say("existing cluster: its nodes pull the given images themselves (nothing loaded)")
        return
    with step(f"load {len(images)} images into the cluster ({provider.name})"):
        provider.load_images([ref.tag for ref in images.values()])


def _cached_summary(images: dict[str, ImageRef]) -> str:
    if images and all(ref.given for ref in images.values()):
        return "given (--skip-image-build)"
    cached = sorted(name for name, ref in images.items() if ref.cached)
    if not cached:
        return "no"
    if len(cached) == len(images):
        return "yes"
    return "partly: " + ",".join(cached)


def _repo_digest(image) -> str | None:
    digests = (getattr(image, "attrs", None) or {}).get("RepoDigests") or []
    return digests[0] if digests else None


def _digest_of(reference: str) -> str | None:
    return reference if "@sha256:" in reference else None


# ---------------------------------------------------------------------------------------------
# The app's URL
# ---------------------------------------------------------------------------------------------

def frontend_node_port(core_api, namespace: str, release: str) -> int:
    """The NodePort of the release's frontend Service, as the live Service has it."""
    services = core_api.list_namespaced_service(namespace, label_selector=f"app.kubernetes.io/instance={release}").items
    node_ports = [(svc, port.node_port) for svc in services if svc.spec.type == "NodePort"
                  for port in svc.spec.ports or [] if port.node_port]
    frontend = [(svc, port) for svc, port in node_ports if (svc.metadata.labels or {}).get("app.kubernetes.io/name") == "frontend"]
    chosen = frontend or node_ports
    if not chosen:
        raise DeploymentError(f"release {release} in {namespace} has no NodePort Service for the frontend",
                              "set frontend.service.type=NodePort (and frontend.service.nodePort) in the values")
    return chosen[0][1]
