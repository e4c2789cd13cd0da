"""The Docker engine the image builds talk to: check it answers, start `dockerd` when it does not.

The dockerd we start reads a daemon config of ours (kind_node/runtime.py: DAEMON_CONFIG) that
registers deployproof's OCI runtime, so `--privileged` node containers (kind) start on hosts whose
capability bounding set lacks a capability. A dockerd someone else started is used as it is.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

from .errors import PrerequisiteError, WaitTimeout
from .progress import say
from .runner import start_background
from .waits import poll_until

DOCKERD_LOG = Path("/var/log/deployproof/dockerd.log")
START_TIMEOUT = 60.0


def ensure_docker(timeout: float = START_TIMEOUT):  # -> docker.DockerClient
    """Return a client of a daemon that answers `ping`, starting `dockerd` in the background if needed.

    Machines without systemd (CI containers, ours) have dockerd installed but not running.
    """
    try:
        import docker
    except ImportError as exc:
        raise PrerequisiteError("the docker SDK for Python is not installed",
                                "pip install docker (the version pinned in deployproof/versions.py: DOCKER_SDK)") from exc

    client = _answering_client(docker)
    if client is not None:
        return client
    dockerd = shutil.which("dockerd")
    if dockerd is None:
        raise PrerequisiteError("the docker daemon is not running and dockerd is not installed",
                                "apt-get install docker.io (then run this again; it starts dockerd itself)")
    from .providers.kind_node.runtime import dockerd_command

    command = dockerd_command(dockerd)
    say(f"docker daemon not answering; starting {' '.join(command)} (log: {DOCKERD_LOG})")
    process = start_background(command, log_path=DOCKERD_LOG)
    begun = time.monotonic()

    def answering_or_exited():
        client = _answering_client(docker)
        return client is not None or process.poll() is not None, client or "no answer to ping yet"

    try:
        client = poll_until(answering_or_exited, description="dockerd to answer ping", timeout=timeout)
    except WaitTimeout as exc:
        raise PrerequisiteError(f"dockerd started but did not answer within {timeout:.0f}s", f"read {DOCKERD_LOG}; check `docker info`") from exc
    if process.poll() is not None:
        raise PrerequisiteError(f"dockerd exited with code {process.returncode} while starting",
                                f"read {DOCKERD_LOG}; dockerd needs root and a kernel with overlayfs/cgroups")
    say(f"✓ docker daemon answering after {time.monotonic() - begun:.1f}s")
    return client


def _answering_client(docker):
    try:
        client = docker.from_env(timeout=300)
        client.ping()
        return client
    except Exception:  # any connection failure means "not answering yet"
        return None
