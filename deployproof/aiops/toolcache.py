"""Install the SC-4 tools on demand into the cache: checkov in a venv of its own, kube-score by `go install`,
kubectl-ai built from the Go module proxy (in a wrapper module, like the embedded cluster's components).

Each lands in `<cache>/tools/<name>-<version>` and is marked complete only after it ran once,
so an interrupted install is redone, and a version bump in versions.py installs afresh.
checkov cannot join our lock (it pins packaging<24), hence its own venv from PyPI.
"""

from __future__ import annotations

import json
import shutil
import sys
import time
from pathlib import Path

from .. import versions
from ..errors import PrerequisiteError
from ..paths import cache_dir
from ..progress import step
from ..runner import run


def tool_dir(name: str, version: str) -> Path:
    return cache_dir() / "tools" / f"{name}-{version}"


def _complete(folder: Path) -> bool:
    return (folder / ".complete").exists()


def _mark_complete(folder: Path, begun: float) -> None:
    (folder / ".complete").write_text(json.dumps({"installed": time.time(), "install_s": round(time.monotonic() - begun, 1)}))


def checkov() -> Path:
    """Path of the pinned checkov executable, installing it into its own venv on first use."""
    target = tool_dir("checkov", versions.CHECKOV)
    exe = target / "bin" / "checkov"
    if _complete(target):
        return exe
    # A venv's scripts name their interpreter by absolute path, so it is built in place; the
    # .complete marker (written last) is what makes it count, so a broken half-install is redone.
    shutil.rmtree(target, ignore_errors=True)
    target.parent.mkdir(parents=True, exist_ok=True)
    begun = time.monotonic()
    python = target / "bin" / "python"
    fix = "check that PyPI is reachable (pip config), or remove the folder and retry"
    with step(f"install checkov {versions.CHECKOV} into {target}"):
        run([sys.executable, "-m", "venv", target], fix="install python3-venv")
        run([python, "-m", "pip", "install", "--quiet", f"checkov=={versions.CHECKOV}"], timeout=1800, fix=fix)
        run([exe, "--version"], quiet=True, fix=fix)
        (target / "freeze.txt").write_text(run([python, "-m", "pip", "freeze"], quiet=True).stdout)
    _mark_complete(target, begun)
    return exe


def kube_score() -> Path:
    """Path of the pinned kube-score binary, built with `go install` through the Go module proxy on first use."""
    target = tool_dir("kube-score", versions.KUBE_SCORE)
    exe = target / "kube-score"
    if _complete(target):
        return exe
    go = shutil.which("go")
    if not go:
        raise PrerequisiteError("Go is not installed; kube-score is built from source", f"install Go >= {versions.GO_MINIMUM} and put it on PATH")
    staging = target.with_name(target.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    begun = time.monotonic()
    package = f"{versions.KUBE_SCORE_MODULE}/cmd/kube-score@{versions.KUBE_SCORE}"
    with step(f"go install {package}"):
        run([go, "install", "-trimpath", "-ldflags", f"-s -w -X main.version={versions.KUBE_SCORE}", package],
            env={"GOBIN": str(staging), "CGO_ENABLED": "0", "GOFLAGS": "-buildvcs=false"}, timeout=1800,
            fix="check that the Go module proxy is reachable (go env GOPROXY)")
        run([staging / "kube-score", "version"], quiet=True)
    _mark_complete(staging, begun)
    shutil.rmtree(target, ignore_errors=True)
    staging.rename(target)
    return exe


def kubectl_ai_dir() -> Path:
    """Where the pinned kubectl-ai is cached: by its version and the Go toolchain that built it."""
    from ..providers.embedded import build  # lazy: the Go toolchain lookup and the build helpers live there

    return tool_dir("kubectl-ai", f"{versions.KUBECTL_AI}-{build.go_version()}")


def kubectl_ai_cached() -> Path | None:
    """The pinned kubectl-ai if it is already built (builds nothing), else None."""
    try:
        target = kubectl_ai_dir()
    except PrerequisiteError:
        return None
    return target / "kubectl-ai" if _complete(target) else None


def kubectl_ai_work_name() -> str:
    """The build folder's name under <cache>/work, and the name of the wrapper's lock in golocks/."""
    return f"kubectl-ai-{versions.KUBECTL_AI}"


def build_kubectl_ai(work: Path, out: Path) -> dict:
    """Build the pinned kubectl-ai into `out` from its locked wrapper module in `work`.

    Not `go install`: its go.mod replaces the nested gollm module with a local folder that the module
    zip leaves out, so a wrapper module requires kubectl-ai and maps gollm to its published pseudo-version.
    """
    from ..providers.embedded import build

    component = build.Component("kubectl-ai", versions.KUBECTL_AI, ("kubectl-ai",))
    gollm = versions.KUBECTL_AI_GOLLM_MODULE
    build._wrapper_build(component, work, out, module=versions.KUBECTL_AI_MODULE,
                         packages=[f"{versions.KUBECTL_AI_MODULE}/cmd"],
                         ldflags=f"-s -w -X main.version={versions.KUBECTL_AI}",
                         replaces=(f"{gollm} => {gollm} {versions.KUBECTL_AI_GOLLM}",))
    reported = run([out / "kubectl-ai", "version"], quiet=True).stdout.strip()
    return {"version": versions.KUBECTL_AI, "gollm": versions.KUBECTL_AI_GOLLM, "reported": reported}


def kubectl_ai() -> Path:
    """Path of the pinned kubectl-ai, built from source through the Go module proxy on first use."""
    from ..providers.embedded import build

    target = kubectl_ai_dir()
    with build.build_lock(target, f"kubectl-ai {versions.KUBECTL_AI}"):
        if _complete(target):
            return target / "kubectl-ai"
        work = cache_dir() / "work" / kubectl_ai_work_name()
        work.mkdir(parents=True, exist_ok=True)
        with step(f"build kubectl-ai {versions.KUBECTL_AI} from the Go module proxy"):
            build.build_into(target, lambda staging: build_kubectl_ai(work, staging))
    return target / "kubectl-ai"
