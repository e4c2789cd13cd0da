"""The OCI runtime deployproof registers in the dockerd it starts, and the daemon config that does it.

kind and minikube start their node containers with `--privileged`, which asks runc for every
capability; on a host whose capability bounding set lacks one (this VM: CAP_SYS_RESOURCE) runc
refuses ("unable to apply caps"). Our dockerd gets a daemon config of ours (DAEMON_CONFIG, passed with
`--config-file`) that registers runc_wrapper.py as runtime RUNTIME_NAME and, only on such a host,
makes it the default runtime. A dockerd deployproof did not start is never changed: `check()` says
what is wrong with it and how to start one of ours instead.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

from . import runc_wrapper

RUNTIME_NAME = "deployproof-runc"
# Outside the checkout: the daemon keeps using it after a checkout moves or is deleted.
RUNTIME_PATH = Path("/usr/local/libexec/deployproof/runc-without-missing-caps")
DAEMON_CONFIG = Path("/etc/deployproof/dockerd.json")
SYSTEM_PYTHON = "/usr/bin/python3"  # not a venv's or pyenv's: the shim runs it with an empty environment


def host_missing_capabilities(status_path: Path = Path("/proc/self/status")) -> list[str]:
    """Capabilities `--privileged` asks for that this host's bounding set cannot grant."""
    return runc_wrapper.missing_capabilities(runc_wrapper.bounding_set(status_path.read_text()))


def install_runtime() -> Path:
    """Copy the wrapper to RUNTIME_PATH (rewritten only when its content changed)."""
    script = Path(runc_wrapper.__file__).read_text().replace("#!/usr/bin/python3", f"#!{SYSTEM_PYTHON}", 1)
    RUNTIME_PATH.parent.mkdir(parents=True, exist_ok=True)
    if not RUNTIME_PATH.exists() or RUNTIME_PATH.read_text() != script:
        partial = RUNTIME_PATH.with_suffix(".partial")
        partial.write_text(script)
        partial.chmod(0o755)
        partial.replace(RUNTIME_PATH)
    return RUNTIME_PATH


def daemon_config(missing: list[str]) -> dict:
    """Our dockerd's config: the runtime registered always, the default only where capabilities are missing."""
    config: dict = {"runtimes": {RUNTIME_NAME: {"path": str(RUNTIME_PATH)}}}
    if missing:
        config["default-runtime"] = RUNTIME_NAME
    return config


def write_daemon_config() -> Path:
    """Install the runtime and write DAEMON_CONFIG; returns its path for `dockerd --config-file`."""
    install_runtime()
    DAEMON_CONFIG.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(daemon_config(host_missing_capabilities()), indent=2) + "\n"
    if not DAEMON_CONFIG.exists() or DAEMON_CONFIG.read_text() != text:
        DAEMON_CONFIG.write_text(text)
    return DAEMON_CONFIG


def dockerd_command(dockerd: str | None = None) -> list[str]:
    """How deployproof (and ./dev) start dockerd."""
    return [dockerd or shutil.which("dockerd") or "dockerd", "--config-file", str(write_daemon_config())]


@dataclass(frozen=True)
class PrivilegedCheck:
    ok: bool
    detail: str
    fix: str = ""


def check(docker_info: dict) -> PrivilegedCheck:
    """Can this daemon start `--privileged` containers? `docker_info` is `docker info`'s JSON (client.info())."""
    missing = host_missing_capabilities()
    if not missing:
        return PrivilegedCheck(True, "the host's capability bounding set is complete: --privileged works with plain runc")
    default = docker_info.get("DefaultRuntime", "")
    if default == RUNTIME_NAME:
        return PrivilegedCheck(True, f"the host lacks {', '.join(missing)}; dockerd's default runtime {RUNTIME_NAME} "
                                     "drops it from --privileged containers")
    return PrivilegedCheck(
        False,
        f"dockerd cannot start --privileged containers (kind's nodes): the host's capability bounding set lacks "
        f"{', '.join(missing)} and dockerd's default runtime is {default or 'unknown'}, not {RUNTIME_NAME}",
        f"start dockerd with deployproof's config: stop the running dockerd (if it is yours), then "
        f"`{' '.join(dockerd_command())}` (writes {DAEMON_CONFIG} and {RUNTIME_PATH}); "
        "deployproof never changes a dockerd it did not start",
    )
