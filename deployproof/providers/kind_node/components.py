"""Binaries the kind node needs beyond the embedded cluster's build, built from the Go module proxy.

- kubeadm (kind bootstraps the node with it) from k8s.io/kubernetes at the node's Kubernetes, in a
  wrapper module that maps the staging modules to their published tags (as the embedded build does);
- CoreDNS with the plugins kubeadm's Corefile names (the embedded build leaves out forward,
  prometheus and loop, which kubeadm's CoreDNS config uses), in CoreDNS's own directive order;
- pause, from the project's own source in dockerfiles/pause.

Each lands in <cache>/bin/kind-node-<name>-<version>-<go>/ with a .complete marker, like the
embedded components; the rest (kubelet, kubectl, kube-apiserver…, containerd, crictl, etcd,
metrics-server, kube-network-policies) comes from the embedded build (deployproof/providers/embedded/build.py).
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from ... import golocks, versions
from ...paths import cache_dir
from ...progress import say, step
from ...runner import run, run_streaming
from .kindbin import go_env, go_version

REPO_ROOT = Path(__file__).resolve().parents[3]
PAUSE_SOURCE = REPO_ROOT / "dockerfiles" / "pause"

# The plugins of kubeadm's default Corefile, plus log (directive → package where they differ);
# the order comes from CoreDNS's own directive list.
COREDNS_PLUGINS = ("errors", "health", "ready", "kubernetes", "prometheus", "forward", "cache", "loop",
                   "reload", "loadbalance", "log")
COREDNS_PACKAGES = {"prometheus": "metrics"}


@dataclass(frozen=True)
class NodeComponent:
    name: str
    version: str
    binary: str
    builder: Callable[["NodeComponent", Path, Path], None]


def _cache_dir(component: NodeComponent) -> Path:
    return cache_dir() / "bin" / f"kind-node-{component.name}-{component.version}-{go_version()}"


def binary_path(name: str, kubernetes: str = versions.KUBERNETES) -> Path:
    component = next(c for c in node_components(kubernetes) if c.name == name)
    return _cache_dir(component) / component.binary


def ensure_components(timings: dict[str, float] | None = None, kubernetes: str = versions.KUBERNETES) -> dict[str, Path]:
    """Build every missing node component (one build of each at a time on this machine); return name → binary path."""
    from ..embedded.build import build_lock

    paths: dict[str, Path] = {}
    for component in node_components(kubernetes):
        target = _cache_dir(component)
        with build_lock(target, f"{component.name} {component.version}"):
            ensure_component(component, target, timings)
        paths[component.name] = target / component.binary
    return paths


def ensure_component(component: NodeComponent, target: Path, timings: dict[str, float] | None) -> None:
    from ..embedded.build import build_into

    if (target / ".complete").exists():
        say(f"{component.name} {component.version}: cached in {target}")
        return
    work = cache_dir() / "work" / work_name(component)
    work.mkdir(parents=True, exist_ok=True)

    def build(staging: Path) -> dict:
        component.builder(component, work, staging / component.binary)
        return {"version": component.version}

    with step(f"build {component.name} {component.version} for the kind node", timings):
        build_into(target, build)


def work_name(component: NodeComponent) -> str:
    """The build folder's name under <cache>/work, and the name of the wrapper's lock in golocks/."""
    return f"kind-node-{component.name}-{component.version}"


def _go_build(work: Path, out: Path, *, label: str, module_lines: list[str], package: str,
              ldflags: str = "-s -w", main_go: str | None = None) -> None:
    """`go build package` inside a generated module `work`, with its committed lock (deployproof/golocks.py);
    tools.go (never compiled: build tag) keeps the package in the lock, or `main_go` is the package."""
    sources = ({"main.go": main_go} if main_go is not None
               else {"tools.go": f'//go:build tools\n\npackage tools\n\nimport _ "{package}"\n'})
    golocks.prepare(golocks.GoWrapper(work.name, "\n".join(module_lines) + "\n", sources), work, go_env())
    run_streaming(["go", "build", "-mod=readonly", "-trimpath", "-ldflags", ldflags, "-o", str(out), package], cwd=work,
                  env=go_env(), log_path=work / "build.log", label=f"go build ({label})", fix=f"see {work}/build.log")


def _build_kubeadm(component: NodeComponent, work: Path, out: Path) -> None:
    version, module = component.version, versions.KUBERNETES_MODULE
    run(["go", "mod", "download", "-json", f"{module}@{version}"], cwd=work, env=go_env(), quiet=True)
    gomodcache = Path(run(["go", "env", "GOMODCACHE"], quiet=True).stdout.strip())
    upstream = (gomodcache / "cache/download" / module / "@v" / f"{version}.mod").read_text()
    go_line = re.search(r"^go (\S+)$", upstream, re.M)
    staging_tag = "v0." + version.lstrip("v").split(".", 1)[1]  # v1.34.4 -> v0.34.4
    replaces = [f"replace {mod} => {mod} {staging_tag}"
                for mod in re.findall(r"^\s*(k8s\.io/[\w.-]+) => \./staging/", upstream, re.M)]
    major, minor = version.lstrip("v").split(".")[:2]
    stamp = {"gitVersion": version, "gitMajor": major, "gitMinor": minor, "gitTreeState": "clean",
             "gitCommit": "0" * 40, "buildDate": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    ldflags = " ".join(["-s", "-w"] + [f"-X {pkg}.{key}={value}" for pkg in
                                       ("k8s.io/component-base/version", "k8s.io/client-go/pkg/version")
                                       for key, value in stamp.items()])
    _go_build(work, out, label="kubeadm", package=f"{module}/cmd/kubeadm", ldflags=ldflags,
              module_lines=[f"module deployproof.local/kubeadm-build", f"go {go_line.group(1) if go_line else '1.24.0'}",
                            f"require {module} {version}", *replaces])


def _build_coredns(component: NodeComponent, work: Path, out: Path) -> None:
    build_coredns(component, work, out, COREDNS_PLUGINS)


def build_coredns(component: NodeComponent, work: Path, out: Path, plugins: tuple[str, ...]) -> None:
    """CoreDNS at component.version with `plugins` compiled in (minikube's node adds `hosts`)."""
    module = versions.COREDNS_MODULE
    imports = "\n".join(f'\t_ "{module}/plugin/{COREDNS_PACKAGES.get(name, name)}"' for name in plugins)
    keep = ", ".join(f'"{name}": true' for name in plugins)
    main_go = (f'package main\n\nimport (\n\t"{module}/core/dnsserver"\n\t"{module}/coremain"\n{imports}\n)\n\n'
               "// Keep CoreDNS's own directive order, restricted to the plugins compiled in.\n"
               f"func init() {{\n\tkeep := map[string]bool{{{keep}}}\n\tvar order []string\n"
               "\tfor _, name := range dnsserver.Directives {\n\t\tif keep[name] {\n\t\t\torder = append(order, name)\n\t\t}\n\t}\n"
               "\tdnsserver.Directives = order\n}\n\nfunc main() { coremain.Run() }\n")
    _go_build(work, out, label="coredns", package=".", main_go=main_go,
              ldflags=f"-s -w -X {module}/coremain.GitCommit=deployproof",
              module_lines=["module deployproof.local/coredns-kind-build", "go 1.24.0", f"require {module} {component.version}"])


def _build_pause(component: NodeComponent, work: Path, out: Path) -> None:
    run(["go", "build", "-trimpath", "-ldflags", "-s -w", "-o", str(out), "."], cwd=PAUSE_SOURCE, env=go_env())


def node_components(kubernetes: str = versions.KUBERNETES) -> tuple[NodeComponent, ...]:
    """The node's own builds, kubeadm at the node's Kubernetes release."""
    return (
        NodeComponent("kubeadm", kubernetes, "kubeadm", _build_kubeadm),
        NodeComponent("coredns", versions.COREDNS, "coredns", _build_coredns),
        NodeComponent("pause", versions.KIND_PAUSE_VERSION, "pause", _build_pause),
    )
