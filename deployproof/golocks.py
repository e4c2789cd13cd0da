"""The committed go.mod and go.sum of every Go wrapper module this project generates (golocks/<name>/).

Kubernetes, etcd, containerd, CoreDNS, metrics-server, Helm, crictl, kube-network-policies, kubeadm, minikube
and kubectl-ai are built inside wrapper modules generated here (build.py says why a wrapper is needed). A
fresh `go mod tidy` would resolve each wrapper's dependencies anew on every machine. Instead the tidied
go.mod and go.sum are committed under golocks/<name>/, copied into the build folder, and `go build` runs
with -mod=readonly: a new machine builds exactly the module versions that were tested, and every module it
downloads is checked against the committed hash (Go stops with "checksum mismatch" otherwise).

golocks/<name>/inputs.sha256 is the hash of what the wrapper is generated from (its go.mod head and Go
sources). A recipe or pin that changed without a new lock is refused with the command that writes one:

    ./dev lock-go        (python -m deployproof.golocks: every wrapper of every supported Kubernetes)

`go install module@version` builds (kind, kube-score) need no lock here: they use the module's own go.sum.
"""

from __future__ import annotations

import contextlib
import contextvars
import hashlib
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator, Mapping

from .errors import PrerequisiteError
from .progress import say
from .runner import run_streaming

LOCKS = Path(__file__).resolve().parents[1] / "golocks"
LOCKED_FILES = ("go.mod", "go.sum")
LOCK_FIX = ("run `./dev lock-go` (it runs `go mod tidy` for every wrapper through the Go module proxy), "
            "review the diff of golocks/ and commit it")

# None: builds read their lock; "write": prepare() tidies and saves it; "check": prepare() only compares.
_mode: contextvars.ContextVar[str | None] = contextvars.ContextVar("golocks_mode", default=None)


class StopBeforeBuild(Exception):
    """Raised by prepare() in the "write" and "check" modes once the lock is written or found to match:
    nothing is compiled then. Its argument is the wrapper's name."""


@dataclass(frozen=True)
class GoWrapper:
    """A generated module: `name` keys its lock; `go_mod` is the generated head; `sources` maps path → text."""

    name: str
    go_mod: str
    sources: Mapping[str, str] = field(default_factory=dict)

    def digest(self) -> str:
        hashed = hashlib.sha256(self.go_mod.encode())
        for path in sorted(self.sources):
            hashed.update(b"\0" + path.encode() + b"\0" + self.sources[path].encode())
        return hashed.hexdigest()


def lock_dir(name: str) -> Path:
    return LOCKS / name


def is_locked(wrapper: GoWrapper) -> bool:
    lock = lock_dir(wrapper.name)
    digest = lock / "inputs.sha256"
    return (all((lock / f).is_file() for f in LOCKED_FILES) and digest.is_file()
            and digest.read_text().strip() == wrapper.digest())


def prepare(wrapper: GoWrapper, work: Path, env: Mapping[str, str]) -> None:
    """Write `wrapper` into `work` with its committed go.mod and go.sum, ready for `go build -mod=readonly`.

    In mode("write"), tidy it instead, save the result as its lock and raise StopBeforeBuild; in mode("check"),
    raise StopBeforeBuild once the lock is found to match (a missing or stale lock raises PrerequisiteError)."""
    work.mkdir(parents=True, exist_ok=True)
    (work / "go.sum").unlink(missing_ok=True)
    (work / "go.mod").write_text(wrapper.go_mod)
    for path, text in wrapper.sources.items():
        (work / path).parent.mkdir(parents=True, exist_ok=True)
        (work / path).write_text(text)
    if _mode.get() == "write":
        _write_lock(wrapper, work, env)
        raise StopBeforeBuild(wrapper.name)
    if not is_locked(wrapper):
        lock = lock_dir(wrapper.name)
        reason = "its recipe or pin changed since the lock was written" if lock.exists() else "there is no lock for it"
        raise PrerequisiteError(f"the Go wrapper module {wrapper.name} has no committed go.sum that matches it ({reason}: {lock})",
                                LOCK_FIX)
    if _mode.get() == "check":
        raise StopBeforeBuild(wrapper.name)
    for name in LOCKED_FILES:
        shutil.copyfile(lock_dir(wrapper.name) / name, work / name)


def _write_lock(wrapper: GoWrapper, work: Path, env: Mapping[str, str]) -> None:
    run_streaming(["go", "mod", "tidy"], cwd=work, env=env, log_path=work / "tidy.log",
                  label=f"go mod tidy ({wrapper.name})", fix=f"see {work}/tidy.log")
    lock = lock_dir(wrapper.name)
    lock.mkdir(parents=True, exist_ok=True)
    for name in LOCKED_FILES:
        shutil.copyfile(work / name, lock / name)
    (lock / "inputs.sha256").write_text(wrapper.digest() + "\n")
    say(f"locked {wrapper.name}: {lock}")


@contextlib.contextmanager
def mode(name: str) -> Iterator[None]:
    """Within: prepare() writes ("write") or only checks ("check") each lock, then stops before the build."""
    token = _mode.set(name)
    try:
        yield
    finally:
        _mode.reset(token)


def recipes(kubernetes_releases: tuple[str, ...] | None = None) -> dict[str, Callable[[Path], object]]:
    """Every wrapper the suite can build, by lock name → its build recipe (given a work folder): each
    supported Kubernetes release's embedded and kind node components, minikube's CoreDNS, minikube (with
    our storage-provisioner) and kubectl-ai."""
    from . import versions
    from .aiops import toolcache
    from .providers.embedded import build
    from .providers.kind_node import components as node
    from .providers.minikube_node import minikubebin, offline

    found: dict[str, Callable[[Path], object]] = {}
    for kubernetes in kubernetes_releases or versions.SUPPORTED_KUBERNETES:
        for component in build.components(kubernetes):
            found[build.work_name(component)] = lambda work, c=component: build.BUILDERS[c.name](c, work, work / "out")
        for component in node.node_components(kubernetes):
            if component.name != "pause":  # built from our own source: no dependencies, no go.sum
                found[node.work_name(component)] = lambda work, c=component: c.builder(c, work, work / "out")
    minikube_coredns = offline.coredns_component()
    found[node.work_name(minikube_coredns)] = lambda work: minikube_coredns.builder(minikube_coredns, work, work / "out")
    found[minikubebin.work_name()] = lambda work: minikubebin.build_minikube(work, work / "out")
    found[toolcache.kubectl_ai_work_name()] = lambda work: toolcache.build_kubectl_ai(work, work / "out")
    return found


def run_recipes(how: str, chosen: Mapping[str, Callable[[Path], object]]) -> list[str]:
    """Run each recipe in a scratch folder in mode `how` ("write" or "check"); return the wrappers' names."""
    names = []
    with mode(how), tempfile.TemporaryDirectory(prefix="golocks-") as scratch:
        for name, recipe in chosen.items():
            work = Path(scratch) / name
            work.mkdir()
            try:
                recipe(work)
            except StopBeforeBuild as stopped:
                names.append(str(stopped))
            else:
                raise RuntimeError(f"{name}: its recipe did not go through golocks.prepare")
    return names


def write_all() -> list[str]:
    """Write the lock of every wrapper the suite can build (recipes()); remove locks no recipe builds any more."""
    written = run_recipes("write", recipes())
    stale = sorted(p.name for p in LOCKS.iterdir() if p.is_dir() and p.name not in written)
    for name in stale:
        shutil.rmtree(LOCKS / name)
        say(f"removed the lock of {name}: no recipe builds it any more")
    return written


if __name__ == "__main__":
    # Through the package's module, not __main__'s copy: the builders call deployproof.golocks.prepare.
    from deployproof import golocks

    names = golocks.write_all()
    print(f"{len(names)} Go wrapper locks written under {golocks.LOCKS}")
