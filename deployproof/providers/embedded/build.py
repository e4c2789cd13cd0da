"""Build the embedded cluster's upstream components from source through the Go module proxy.

Each component lands in its own cache folder named by its pinned version (and the Go
version), so a warm run finds it and skips the build; a bump in versions.py rebuilds.
Kubernetes is built for the version asked for (one of versions.SUPPORTED_KUBERNETES,
versions.KUBERNETES by default): each supported minor gets its own folder, on demand.
Kubernetes cannot be `go install`ed (its go.mod replaces the staging modules with
local paths), so it is built inside a generated wrapper module that maps each
staging module to its published tag. etcd's main module has relative replaces too,
so it gets a wrapper with a two-line main that calls etcdmain.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import re
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

from ... import golocks, versions
from ...errors import PrerequisiteError, UsageError
from ...paths import cache_dir
from ...progress import say, step
from ...runner import run, run_streaming

GO_FIX = f"install Go >= {versions.GO_MINIMUM} and put it on PATH (Debian 12's golang-go is too old)"
# The `go` line of a generated wrapper module when upstream's go.mod names none (`go mod tidy`
# raises it to what the dependencies say).
GO_DIRECTIVE = versions.GO_MINIMUM if versions.GO_MINIMUM.count(".") == 2 else f"{versions.GO_MINIMUM}.0"


@dataclass(frozen=True)
class Component:
    name: str
    version: str
    binaries: tuple[str, ...]
    variant: str = ""  # names a build recipe other than upstream's default (part of the cache key)


def components(kubernetes_version: str = versions.KUBERNETES) -> tuple[Component, ...]:
    """Everything the embedded cluster builds, with Kubernetes at `kubernetes_version`."""
    return (
        Component("kubernetes", kubernetes_version, versions.KUBERNETES_COMMANDS),
        Component("containerd", versions.CONTAINERD, ("containerd", "containerd-shim-runc-v2", "ctr")),
        Component("etcd", versions.ETCD, ("etcd",)),
        Component("coredns", versions.COREDNS, ("coredns",), variant="cluster-dns-plugins"),
        Component("metrics-server", versions.METRICS_SERVER, ("metrics-server",)),
        Component("helm", versions.HELM, ("helm",)),
        Component("crictl", versions.CRICTL, ("crictl",)),
        # The NetworkPolicy agent (kind's): the embedded cluster and the kind node both run it.
        Component("kube-network-policies", versions.KUBE_NETWORK_POLICIES, ("netpol",)),
    )


COMPONENTS = components()  # with the default Kubernetes (versions.KUBERNETES)


def go_version() -> str:
    go = shutil.which("go")
    if not go:
        raise PrerequisiteError("Go is not installed; the embedded cluster is built from source", GO_FIX)
    out = run([go, "env", "GOVERSION"], quiet=True).stdout.strip()
    return out


def component_dir(component: Component) -> Path:
    variant = f"-{component.variant}" if component.variant else ""
    return cache_dir() / "bin" / f"{component.name}-{component.version}{variant}-{go_version()}"


def component(name: str, kubernetes_version: str = versions.KUBERNETES) -> Component:
    """The component called `name` ("kubernetes", "containerd", …)."""
    for candidate in components(kubernetes_version):
        if candidate.name == name:
            return candidate
    raise KeyError(name)


def binary(name: str, kubernetes_version: str = versions.KUBERNETES) -> Path:
    """Path of a built binary by name (builds nothing; see ensure_built)."""
    for candidate in components(kubernetes_version):
        if name in candidate.binaries:
            return component_dir(candidate) / name
    raise KeyError(name)


def recorded_build_seconds(component: Component) -> float | None:
    """How long the cached build of `component` took when it was made (None if unknown)."""
    try:
        return json.loads((component_dir(component) / ".complete").read_text()).get("build_s")
    except (OSError, ValueError):
        return None


def is_built(component: Component) -> bool:
    return (component_dir(component) / ".complete").exists()


def ensure_built(only: tuple[str, ...] = (), kubernetes_version: str = versions.KUBERNETES) -> dict[str, float]:
    """Build every missing component (or those named in `only`), Kubernetes at `kubernetes_version`;
    return seconds per build."""
    if kubernetes_version not in versions.SUPPORTED_KUBERNETES:
        raise UsageError(f"Kubernetes {kubernetes_version} is not supported",
                         f"choose one of {', '.join(versions.SUPPORTED_KUBERNETES)}")
    timings: dict[str, float] = {}
    for candidate in components(kubernetes_version):
        if only and candidate.name not in only:
            continue
        if is_built(candidate):
            say(f"{candidate.name} {candidate.version}: cached in {component_dir(candidate)}")
            continue
        with _build_lock(candidate):
            if is_built(candidate):  # another process (the kind node image, a second CLI) built it meanwhile
                say(f"{candidate.name} {candidate.version}: built meanwhile by another process")
                continue
            with step(f"build {candidate.name} {candidate.version} from source", timings):
                _build(candidate)
    return timings


def _build_lock(component: Component):
    return build_lock(component_dir(component), f"{component.name} {component.version}")


@contextlib.contextmanager
def build_lock(target: Path, label: str) -> Iterator[None]:
    """One build into `target` at a time on this machine: two would share its work and staging folders.
    Used by every cached Go build (the embedded components, kind, the kind node's components)."""
    path = target.with_name(f".{target.name}.lock")
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            say(f"{label}: another process is building it; waiting for it")
            fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def build_into(target: Path, build: Callable[[Path], dict]) -> None:
    """Run `build(staging)` in `target`.partial, record `.complete` (what it returns, plus the measured seconds:
    the benchmark reports cold builds from them), then rename into place: a killed build is never taken for a
    finished one. Every cached Go build goes through here (the embedded components, kind, the kind node's)."""
    staging = target.with_name(target.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    begun = time.monotonic()
    record = build(staging)
    record.update({"built": time.time(), "build_s": round(time.monotonic() - begun, 1)})
    (staging / ".complete").write_text(json.dumps(record))
    shutil.rmtree(target, ignore_errors=True)
    staging.rename(target)


def work_name(component: Component) -> str:
    """The build folder's name under <cache>/work, and the name of the wrapper's lock in golocks/."""
    return f"{component.name}-{component.version}"


def _build(component: Component) -> None:
    work = cache_dir() / "work" / work_name(component)
    work.mkdir(parents=True, exist_ok=True)

    def build(staging: Path) -> dict:
        BUILDERS[component.name](component, work, staging)
        for name in component.binaries:
            if not (staging / name).exists():
                raise PrerequisiteError(f"build of {component.name} did not produce {name}", f"see {work}/build.log")
        return {"version": component.version}

    build_into(component_dir(component), build)


def _go_env() -> dict[str, str]:
    # Static binaries: they run in FROM-scratch images and on any host.
    return {"CGO_ENABLED": "0", "GOFLAGS": "-buildvcs=false", "GO111MODULE": "on"}


def _wrapper_build(
    component: Component,
    work: Path,
    out: Path,
    *,
    module: str,
    packages: list[str],
    ldflags: str = "-s -w",
    tags: str = "",
    replaces: tuple[str, ...] = (),
    go_directive: str = GO_DIRECTIVE,
    main_go: str | None = None,
) -> None:
    """Build `packages` of `module`@version inside a generated wrapper module, with its committed lock.

    A wrapper is needed whenever the upstream go.mod has replace/exclude directives
    (which `go install pkg@version` refuses); using it for every component keeps one
    build path. Its go.mod and go.sum come from golocks/ (see deployproof/golocks.py);
    tools.go (never compiled: build tag) keeps the packages in the lock, or `main_go` is the package.
    """
    lines = [f"module deployproof.local/{component.name}-build", f"go {go_directive}", f"require {module} {component.version}"]
    lines += [f"replace {r}" for r in replaces]
    if main_go is None:
        imports = "\n".join(f'\t_ "{pkg}"' for pkg in packages)
        sources = {"tools.go": f"//go:build tools\n\npackage tools\n\nimport (\n{imports}\n)\n"}
    else:
        sources = {"main.go": main_go}
    golocks.prepare(golocks.GoWrapper(work_name(component), "\n".join(lines) + "\n", sources), work, _go_env())
    args = ["go", "build", "-mod=readonly", "-trimpath", "-ldflags", ldflags]
    if tags:
        args += ["-tags", tags]
    # With several packages, -o names a folder and each command keeps its name.
    target = str(out) + "/" if len(packages) > 1 else str(out / component.binaries[0])
    run_streaming(
        [*args, "-o", target, *packages],
        cwd=work,
        env=_go_env(),
        log_path=work / "build.log",
        label=f"go build ({component.name})",
        fix=f"see {work}/build.log",
    )


def _build_kubernetes(component: Component, work: Path, out: Path) -> None:
    version = component.version
    run(["go", "mod", "download", "-json", f"{versions.KUBERNETES_MODULE}@{version}"], cwd=work, env=_go_env(), quiet=True)
    gomodcache = Path(run(["go", "env", "GOMODCACHE"], quiet=True).stdout.strip())
    upstream = (gomodcache / "cache/download" / versions.KUBERNETES_MODULE / "@v" / f"{version}.mod").read_text()
    go_line = re.search(r"^go (\S+)$", upstream, re.M)
    staging = re.findall(r"^\s*(k8s\.io/[\w.-]+) => \./staging/", upstream, re.M)
    staging_tag = "v0." + version.lstrip("v").split(".", 1)[1]  # v1.34.4 -> v0.34.4
    major, minor = version.lstrip("v").split(".")[:2]
    values = {
        "gitVersion": version,
        "gitMajor": major,
        "gitMinor": minor,
        "gitCommit": "0000000000000000000000000000000000000000",
        "gitTreeState": "clean",
        "buildDate": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    ldflags = ["-s", "-w"]
    for pkg in ("k8s.io/component-base/version", "k8s.io/client-go/pkg/version"):
        ldflags += [f"-X {pkg}.{key}={value}" for key, value in values.items()]
    _wrapper_build(
        component, work, out,
        module=versions.KUBERNETES_MODULE,
        packages=[f"{versions.KUBERNETES_MODULE}/cmd/{cmd}" for cmd in component.binaries],
        ldflags=" ".join(ldflags),
        replaces=tuple(f"{mod} => {mod} {staging_tag}" for mod in staging),
        go_directive=go_line.group(1) if go_line else GO_DIRECTIVE,
    )


def _build_etcd(component: Component, work: Path, out: Path) -> None:
    # The etcd root module (the usual main) has relative replaces; etcdmain is the real entry point.
    main_go = 'package main\n\nimport (\n\t"os"\n\n\t"go.etcd.io/etcd/server/v3/etcdmain"\n)\n\nfunc main() { etcdmain.Main(os.Args) }\n'
    _wrapper_build(component, work, out, module=versions.ETCD_SERVER_MODULE, packages=["."], main_go=main_go)


def _build_containerd(component: Component, work: Path, out: Path) -> None:
    mod = versions.CONTAINERD_MODULE
    ldflags = f"-s -w -X {mod}/version.Version={component.version} -X {mod}/version.Revision=deployproof"
    # no_btrfs: avoids cgo headers, so the build is static. containerd 2's commands live in {mod}/cmd/.
    _wrapper_build(component, work, out, module=mod, packages=[f"{mod}/cmd/{n}" for n in component.binaries],
                   ldflags=ldflags, tags="no_btrfs")


# The CoreDNS plugins cluster DNS needs, in CoreDNS's own directive order (its plugin.cfg).
# Leaving out the cloud-provider plugins (route53, azure, clouddns…) halves the cold build.
COREDNS_PLUGINS = ("reload", "ready", "health", "errors", "log", "loadbalance", "cache", "kubernetes")


def _build_coredns(component: Component, work: Path, out: Path) -> None:
    mod = versions.COREDNS_MODULE
    imports = "\n".join(f'\t_ "{mod}/plugin/{name}"' for name in COREDNS_PLUGINS)
    directives = ", ".join(f'"{name}"' for name in COREDNS_PLUGINS)
    main_go = (f'package main\n\nimport (\n\t"{mod}/core/dnsserver"\n\t"{mod}/coremain"\n{imports}\n)\n\n'
               f"func init() {{ dnsserver.Directives = []string{{{directives}}} }}\n\nfunc main() {{ coremain.Run() }}\n")
    _wrapper_build(component, work, out, module=mod, packages=["."], main_go=main_go,
                   ldflags=f"-s -w -X {mod}/coremain.GitCommit=deployproof")


def _build_metrics_server(component: Component, work: Path, out: Path) -> None:
    mod = versions.METRICS_SERVER_MODULE
    _wrapper_build(component, work, out, module=mod, packages=[f"{mod}/cmd/metrics-server"],
                   # Its Makefile stamps the version into client-go's version package.
                   ldflags=f"-s -w -X k8s.io/client-go/pkg/version.gitVersion={component.version}")


def _build_helm(component: Component, work: Path, out: Path) -> None:
    mod = versions.HELM_MODULE
    ldflags = f"-s -w -X {mod}/internal/version.version={component.version} -X {mod}/internal/version.gitTreeState=clean"
    _wrapper_build(component, work, out, module=mod, packages=[f"{mod}/cmd/helm"], ldflags=ldflags)


def _build_crictl(component: Component, work: Path, out: Path) -> None:
    mod = versions.CRICTL_MODULE
    _wrapper_build(component, work, out, module=mod, packages=[f"{mod}/cmd/crictl"],
                   ldflags=f"-s -w -X {mod}/pkg/version.Version={component.version}")


def _build_network_policies(component: Component, work: Path, out: Path) -> None:
    mod = versions.KUBE_NETWORK_POLICIES_MODULE
    _wrapper_build(component, work, out, module=mod, packages=[f"{mod}/cmd"])


BUILDERS = {
    "kubernetes": _build_kubernetes,
    "containerd": _build_containerd,
    "etcd": _build_etcd,
    "coredns": _build_coredns,
    "metrics-server": _build_metrics_server,
    "helm": _build_helm,
    "crictl": _build_crictl,
    "kube-network-policies": _build_network_policies,
}
