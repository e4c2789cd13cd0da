"""The kind binary, `go install`ed from the Go module proxy at versions.KIND and cached by version.

    <cache>/bin/kind-<version>-<go version>/kind   (+ .complete with the measured build time)

kind's go.mod has no replace directives, so a plain `go install module@version` works; GOBIN points
at a `.partial` folder renamed into place once the binary exists, so a killed build is never taken
for a finished one.
"""

from __future__ import annotations

from pathlib import Path

from ... import versions
from ...paths import cache_dir
from ...progress import say, step
from ...runner import run, run_streaming


def go_env() -> dict[str, str]:
    """Static binaries, no VCS stamping (module builds have none to read)."""
    return {"CGO_ENABLED": "0", "GOFLAGS": "-buildvcs=false", "GO111MODULE": "on"}


def go_version() -> str:
    from ..embedded import build  # lazy: build.py is shared with the embedded provider

    return build.go_version()


def kind_dir() -> Path:
    return cache_dir() / "bin" / f"kind-{versions.KIND}-{go_version()}"


def kind_binary() -> Path:
    """Where the cached kind binary is (whether or not it is built yet)."""
    return kind_dir() / "kind"


def is_built() -> bool:
    return (kind_dir() / ".complete").exists()


def ensure_kind(timings: dict[str, float] | None = None) -> Path:
    """The cached kind binary, built first when missing (one build at a time: CI's unit tests and its
    background node-image build may both ask for it)."""
    from ..embedded.build import build_into, build_lock

    target = kind_dir()
    with build_lock(target, f"kind {versions.KIND}"):
        if is_built():
            say(f"kind {versions.KIND}: cached in {target}")
            return target / "kind"
        work = cache_dir() / "work" / f"kind-{versions.KIND}"
        work.mkdir(parents=True, exist_ok=True)

        def build(staging: Path) -> dict:
            run_streaming(
                ["go", "install", "-trimpath", "-ldflags", "-s -w", f"{versions.KIND_MODULE}@{versions.KIND}"],
                cwd=work, env={**go_env(), "GOBIN": str(staging)}, log_path=work / "build.log",
                label="go install (kind)", fix=f"see {work}/build.log; the Go module proxy must serve {versions.KIND_MODULE}",
            )
            return {"version": versions.KIND, "reported": run([staging / "kind", "version"], quiet=True).stdout.strip()}

        with step(f"build kind {versions.KIND} from the Go module proxy", timings):
            build_into(target, build)
        return target / "kind"
