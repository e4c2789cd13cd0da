"""A real image registry for tests: Debian's `docker-registry` (the distribution registry), run by us.

    with RegistryServer(folder, host="172.17.0.1", port=5443) as server:
        server.registry   # image_registry.Registry for --image-registry
        server.ca_cert    # the CA that signed its certificate (--image-registry-ca)

Everything it needs is written into `folder`: its config (config.yml), a CA and a serving certificate for
`host` (cryptography, as the embedded cluster's PKI), an htpasswd file (bcrypt, apache2-utils' htpasswd:
the only hash the registry accepts) and its storage. TLS and basic auth by default; plain HTTP and no auth
only when asked (`plain_http=True`, `username=None`). It listens on `host:port`, which the caller picks:
a kind node reaches the host at its docker network's gateway (providers/kind_registry.py:
node_reachable_address), never at 127.0.0.1. Its log goes to `log_path` (default: the diagnostics folder).
`stop()` ends the process (SIGTERM, then SIGKILL) and nothing else.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from .errors import PrerequisiteError
from .image_registry import Registry
from .progress import say
from .runner import run, start_background
from .waits import poll_until

REGISTRY_BINARY = "docker-registry"  # Debian's package of the same name (versions.APT_PACKAGES)
HTPASSWD_BINARY = "htpasswd"  # apache2-utils
BCRYPT_COST = 5  # the registry checks the hash on every request; a test registry needs no slow hash
START_TIMEOUT_S = 30.0
STOP_GRACE_S = 10.0
TEST_REGISTRY_FOLDER = Path("/var/lib/deployproof-registry")  # config, CA (kept: a kind cluster made with it trusts it), data
TEST_REGISTRY_PORT = 5443  # fixed, so a kind cluster made for it is reused by the next run (its hosts config names it)
INSTALL_FIX = "apt-get install docker-registry apache2-utils (./dev setup installs versions.APT_PACKAGES)"


@dataclass
class RegistryServer:
    """One docker-registry process serving `host:port` from `folder`."""

    folder: Path
    host: str = "127.0.0.1"
    port: int = 0  # 0: a free port, chosen at start
    username: str | None = "deployproof"
    password: str = "deployproof-test"
    plain_http: bool = False
    log_path: Path | None = None  # default: diagnostics/registry/<host>-<port>.log
    process: subprocess.Popen | None = field(default=None, init=False)
    started_s: float = field(default=0.0, init=False)  # measured: from start to the API answering

    @property
    def registry(self) -> Registry:
        return Registry(self.host, self.port)

    @property
    def ca_cert(self) -> Path | None:
        return None if self.plain_http else self.folder / "pki" / "ca.crt"

    @property
    def url(self) -> str:
        return f"{'http' if self.plain_http else 'https'}://{self.registry.address}"

    def tls_context(self):
        """An ssl context trusting this registry's CA (for httpx); plain HTTP: False."""
        import ssl

        return ssl.create_default_context(cafile=str(self.ca_cert)) if self.ca_cert else False

    def start(self) -> RegistryServer:
        binary = shutil.which(REGISTRY_BINARY)
        if binary is None:
            raise PrerequisiteError(f"{REGISTRY_BINARY} is not installed (the test registry runs it)", INSTALL_FIX)
        begun = time.monotonic()
        if not self.port:
            self.port = _free_port(self.host)
        self.folder.mkdir(parents=True, exist_ok=True)
        config = self.folder / "config.yml"
        config.write_text(yaml.safe_dump(self._config(), sort_keys=False))
        self.log_path = self.log_path or Path("diagnostics") / "registry" / f"{self.host}-{self.port}.log"
        self.process = start_background([binary, "serve", config], log_path=self.log_path)
        try:
            poll_until(self._answering, description=f"the test registry at {self.url} to answer /v2/", timeout=START_TIMEOUT_S,
                       interval=0.1, max_interval=0.5)
        except BaseException:
            self.stop()
            raise
        self.started_s = round(time.monotonic() - begun, 2)
        say(f"✓ test registry at {self.url} ({'TLS' if not self.plain_http else 'plain HTTP'}, "
            f"{'basic auth' if self.username else 'no auth'}) in {self.started_s:.2f}s; log {self.log_path}")
        return self

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(STOP_GRACE_S)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def __enter__(self) -> RegistryServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- what is written into the folder ------------------------------------------------------------
    def _config(self) -> dict:
        http: dict = {"addr": f"{self.registry.address}", "headers": {"X-Content-Type-Options": ["nosniff"]}}
        if not self.plain_http:
            pki = self._write_pki()
            http["tls"] = {"certificate": str(pki / "registry.crt"), "key": str(pki / "registry.key")}
        config: dict = {
            "version": 0.1,
            "log": {"level": "info", "formatter": "text"},
            "storage": {"filesystem": {"rootdirectory": str(self.folder / "data")}, "delete": {"enabled": True}},
            "http": http,
        }
        if self.username:
            config["auth"] = {"htpasswd": {"realm": "deployproof-test-registry", "path": str(self._write_htpasswd())}}
        return config

    def _write_pki(self) -> Path:
        """A CA and the registry's serving certificate for its address (and localhost), kept across restarts."""
        import ipaddress

        from .providers.embedded.pki import CertSpec, write_ca, write_signed

        pki = self.folder / "pki"
        pki.mkdir(parents=True, exist_ok=True)
        if not (pki / "ca.crt").exists():
            write_ca(pki, "ca")
        try:
            ipaddress.ip_address(self.host)
            ips, names = tuple(dict.fromkeys((self.host, "127.0.0.1"))), ("localhost",)
        except ValueError:
            ips, names = ("127.0.0.1",), tuple(dict.fromkeys((self.host, "localhost")))
        write_signed(pki, CertSpec("registry", "ca", "deployproof-test-registry", server=True, dns_names=names, ips=ips))
        return pki

    def _write_htpasswd(self) -> Path:
        binary = shutil.which(HTPASSWD_BINARY)
        if binary is None:
            raise PrerequisiteError("htpasswd is not installed (the test registry's basic auth needs a bcrypt hash)", INSTALL_FIX)
        # -i: the password from stdin, never on a command line.
        line = run([binary, "-niB", "-C", str(BCRYPT_COST), self.username], input=self.password, quiet=True).stdout.strip()
        path = self.folder / "htpasswd"
        path.write_text(line + "\n")
        path.chmod(0o600)
        return path

    def _answering(self) -> tuple[bool, str]:
        import httpx

        if self.process is not None and self.process.poll() is not None:
            tail = self.log_path.read_text(errors="replace").strip().splitlines()[-5:] if self.log_path else []
            raise PrerequisiteError(f"{REGISTRY_BINARY} exited with code {self.process.returncode} while starting: "
                                    + " | ".join(tail), f"read {self.log_path}")
        try:
            answer = httpx.get(self.url + "/v2/", verify=self.tls_context(), timeout=2)
        except httpx.HTTPError as exc:
            return False, f"{type(exc).__name__}: {exc}"
        # 401: up, and asking for credentials.
        return answer.status_code in (200, 401), f"HTTP {answer.status_code}"


def _free_port(host: str) -> int:
    with socket.socket() as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


def start_test_registry(provider: str, folder: Path = TEST_REGISTRY_FOLDER, port: int = TEST_REGISTRY_PORT,
                        log_dir: Path = Path("diagnostics")) -> RegistryServer:
    """--test-registry=on: our registry at the address kind nodes reach the host at, its credentials known to
    this process only (image_registry.remember_credentials), never written into the user's docker config."""
    from .image_registry import remember_credentials
    from .providers.kind_registry import DEFAULT_NETWORK, node_reachable_address

    if provider not in ("kind", "existing"):
        raise PrerequisiteError(
            f"--test-registry is wired into kind clusters (containerd told where to pull and which CA to trust); "
            f"the {provider} provider's nodes are not",
            "use --cluster-provider kind (or existing, for a kind cluster made with --test-registry), "
            "or --image-registry with a registry your nodes pull from")
    # Docker's default bridge, not the `kind` network: that one exists only once kind made it, and an address that
    # changed between runs would make the next run recreate the cluster (its containerd names the registry's address).
    server = RegistryServer(folder, host=node_reachable_address(network=DEFAULT_NETWORK), port=port,
                            log_path=log_dir / "registry" / f"test-registry-{time.strftime('%Y%m%d-%H%M%S')}.log")
    server.start()
    remember_credentials(server.registry, {"username": server.username or "", "password": server.password})
    return server
