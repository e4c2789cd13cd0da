"""Find the CLI tools the suite drives (kubectl, helm): on PATH, else the ones the embedded build made."""

from __future__ import annotations

import shutil
from pathlib import Path

from .errors import PrerequisiteError


def find(name: str) -> Path:
    found = shutil.which(name)
    if found:
        return Path(found)
    try:
        from .providers.embedded import build

        built = build.binary(name)
    except Exception as exc:  # noqa: BLE001 - e.g. no Go toolchain: the build location cannot be named
        raise PrerequisiteError(f"{name} is not on PATH ({exc})", f"install {name}, or run `deployproof build-cluster`") from exc
    if built.exists() and (built.parent / ".complete").exists():
        return built
    raise PrerequisiteError(f"{name} is not on PATH and not built yet", f"install {name}, or run `deployproof build-cluster` (builds it from source)")
