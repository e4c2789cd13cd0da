"""Where the suite keeps its cache (builds) and state (running clusters)."""

from __future__ import annotations

import os
from pathlib import Path


def cache_dir() -> Path:
    """Expensive, reusable artefacts (binaries built from source, base images), keyed by version."""
    return Path(os.environ.get("DEPLOYPROOF_CACHE", "/var/cache/deployproof"))


def state_dir() -> Path:
    """State of the embedded cluster: certs, kubeconfig, logs, PIDs."""
    return Path(os.environ.get("DEPLOYPROOF_STATE", "/var/lib/deployproof"))
