"""minikube (and a storage-provisioner on its code), built from the Go module proxy at versions.MINIKUBE, cached by version.

    <cache>/bin/minikube-<version>-<go version>/minikube   (+ .complete, with the measured build time)

`go install k8s.io/minikube/cmd/minikube@v1.38.1` does not work here: it looks the module's deprecation up in
the version list, which the proxy refuses (403). So the build runs in a generated wrapper module (go.mod
requiring minikube at the pin, a tools.go importing cmd/minikube, its committed lock from golocks/, `go build`),
the shape of the embedded build's. minikube needs cgo (its kvm2 driver imports libvirt: the `libvirt_dlopen` tag loads
it at run time, no headers needed); storage-provisioner runs FROM scratch, so it is built static.

The storage-provisioner image runs our dockerfiles/minikube-node/storage-provisioner/main.go (minikube's own
provisioner package without leader election), built in the same wrapper module: ensure_storage_provisioner.

The version stamps are its Makefile's ldflags; storageProvisionerVersion is not optional (without it the
addon image would be named `…/storage-provisioner:` with an empty tag).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from ... import golocks, versions
from ...paths import cache_dir
from ...progress import say, step
from ...runner import run, run_streaming
from ..kind_node.kindbin import go_env, go_version  # the Go toolchain version that names every cached build

PACKAGES = (f"{versions.MINIKUBE_MODULE}/cmd/minikube",)
# Our storage-provisioner's source (minikube's own provisioner without leader election: see its comment).
PROVISIONER_SOURCE = Path(__file__).resolve().parents[3] / "dockerfiles" / "minikube-node" / "storage-provisioner" / "main.go"


def ldflags() -> str:
    pkg = f"{versions.MINIKUBE_MODULE}/pkg/version"
    stamps = {"version": versions.MINIKUBE, "isoVersion": versions.MINIKUBE_ISO_VERSION,
              "gitCommitID": versions.MINIKUBE_COMMIT, "storageProvisionerVersion": versions.MINIKUBE_STORAGE_PROVISIONER_TAG}
    return " ".join(["-s", "-w", *(f"-X {pkg}.{key}={value}" for key, value in stamps.items())])


def wrapper_go_mod() -> str:
    return (f"module deployproof.local/minikube-build\n\ngo 1.25.0\n\nrequire {versions.MINIKUBE_MODULE} {versions.MINIKUBE}\n")


def wrapper_tools_go() -> str:
    imports = "".join(f'\t_ "{pkg}"\n' for pkg in PACKAGES)
    return f"//go:build tools\n\npackage tools\n\nimport (\n{imports})\n"


def minikube_dir() -> Path:
    return cache_dir() / "bin" / f"minikube-{versions.MINIKUBE}-{go_version()}"


def minikube_binary() -> Path:
    """Where the cached minikube is (whether or not it is built yet)."""
    return minikube_dir() / "minikube"


def provisioner_dir() -> Path:
    digest = hashlib.sha256(PROVISIONER_SOURCE.read_bytes()).hexdigest()[:12]
    return cache_dir() / "bin" / f"minikube-storage-provisioner-{versions.MINIKUBE}-{digest}-{go_version()}"


def storage_provisioner_binary() -> Path:
    return provisioner_dir() / "storage-provisioner"


def work_name() -> str:
    """The build folder's name under <cache>/work, and the name of the wrapper's lock in golocks/."""
    return f"minikube-{versions.MINIKUBE}"


def wrapper() -> golocks.GoWrapper:
    """minikube's wrapper module; it holds our storage-provisioner too, so one lock covers both builds."""
    return golocks.GoWrapper(work_name(), wrapper_go_mod(),
                             {"tools.go": wrapper_tools_go(), "provisioner/main.go": PROVISIONER_SOURCE.read_text()})


def _env(cgo: bool) -> dict[str, str]:
    return {**go_env(), "CGO_ENABLED": "1" if cgo else "0"}  # the kind builds' Go env; minikube itself needs cgo


def ensure_storage_provisioner(timings: dict[str, float] | None = None) -> Path:
    """Our storage-provisioner (static: it runs FROM scratch), built in minikube's wrapper module, cached by source."""
    from ..embedded.build import build_into, build_lock

    ensure_minikube(timings)
    target = provisioner_dir()
    with build_lock(target, "minikube storage-provisioner"):
        if (target / ".complete").exists():
            return target / "storage-provisioner"
        work = cache_dir() / "work" / work_name()

        def build(staging: Path) -> dict:
            golocks.prepare(wrapper(), work, _env(cgo=False))
            run_streaming(["go", "build", "-mod=readonly", "-trimpath", "-ldflags", "-s -w",
                           "-o", str(staging / "storage-provisioner"), "./provisioner"],
                          cwd=work, env=_env(cgo=False), log_path=work / "build-provisioner.log",
                          label="go build (storage-provisioner)", fix=f"see {work}/build-provisioner.log")
            return {"version": versions.MINIKUBE, "source": str(PROVISIONER_SOURCE)}

        with step("build minikube's storage-provisioner (no leader election)", timings):
            build_into(target, build)
        return target / "storage-provisioner"


def is_built() -> bool:
    return (minikube_dir() / ".complete").exists()


def build_minikube(work: Path, out: Path) -> dict:
    """Build minikube into `out` from its locked wrapper module in `work`; return what it reports."""
    fix = (f"see {work}/build.log; the Go module proxy must serve {versions.MINIKUBE_MODULE}@{versions.MINIKUBE}, "
           "and cgo needs gcc and libc6-dev (apt-get install gcc libc6-dev)")
    golocks.prepare(wrapper(), work, _env(cgo=False))
    run_streaming(["go", "build", "-mod=readonly", "-trimpath", "-tags", versions.MINIKUBE_BUILD_TAGS, "-ldflags", ldflags(),
                   "-o", str(out / "minikube"), PACKAGES[0]],
                  cwd=work, env=_env(cgo=True), log_path=work / "build.log", label="go build (minikube)", fix=fix)
    reported = run([out / "minikube", "version", "--short"], quiet=True, env={"MINIKUBE_HOME": str(work)}).stdout.strip()
    if reported != versions.MINIKUBE:
        raise RuntimeError(f"the minikube built reports {reported!r}, not {versions.MINIKUBE}")
    return {"version": versions.MINIKUBE, "reported": reported}


def ensure_minikube(timings: dict[str, float] | None = None) -> Path:
    """The cached minikube binary, built first when missing (one build at a time)."""
    from ..embedded.build import build_into, build_lock

    target = minikube_dir()
    with build_lock(target, f"minikube {versions.MINIKUBE}"):
        if is_built():
            say(f"minikube {versions.MINIKUBE}: cached in {target}")
            return target / "minikube"
        work = cache_dir() / "work" / work_name()
        with step(f"build minikube {versions.MINIKUBE} from the Go module proxy", timings):
            build_into(target, lambda staging: build_minikube(work, staging))
        return target / "minikube"
