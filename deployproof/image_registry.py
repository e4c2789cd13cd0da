"""The app's images through a registry (--image-registry HOST[:PORT][/PREFIX]): tag, push, digest, pull credentials.

A cluster that is not on this machine cannot be handed locally built images; its nodes pull them. So with
a registry the built images are tagged `HOST[:PORT][/PREFIX]/todo-backend:<content tag>`, pushed through
the docker engine (the SDK, credentials from the user's docker config), and the release names each one by
the digest the push returned (`…/todo-backend@sha256:…`): the nodes run exactly what was pushed, and a
test compares each pod's imageID with that digest. When the docker config holds credentials for the
registry, the release's namespace gets them as an imagePullSecret (kubernetes.io/dockerconfigjson).

Failures are classified from what the engine reports, so each error names the registry and its fix:
nothing listening (RegistryUnreachable), credentials refused (RegistryRefused: `docker login`), an
untrusted certificate (RegistryTLSError: --image-registry-ca).
"""

from __future__ import annotations

import base64
import ipaddress
import json
import re
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Mapping

from .errors import RegistryError, RegistryRefused, RegistryTLSError, RegistryUnreachable
from .progress import say

DOCKER_CERTS_DIR = Path("/etc/docker/certs.d")  # dockerd reads HOST:PORT/ca.crt here at each connection
PULL_SECRET_SUFFIX = "-registry"  # the imagePullSecret is "<release>-registry"
PROGRESS_EVERY_S = 5.0

_HOST = re.compile(r"^(?=.{1,253}$)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$")
# Path components of a repository name (distribution's grammar, lowercase).
_COMPONENT = re.compile(r"^[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*$")


@dataclass(frozen=True)
class Registry:
    """A registry and the repository prefix the app's images go under."""

    host: str  # a DNS name or an IP address (IPv6 without brackets)
    port: int | None = None
    prefix: str = ""  # "team/apps", or "" for the registry's root

    @property
    def address(self) -> str:
        """HOST[:PORT] as docker, containerd and docker config files name the registry."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}" if self.port else host

    def repository(self, name: str) -> str:
        return "/".join(part for part in (self.address, self.prefix, name) if part)

    def __str__(self) -> str:
        return "/".join(part for part in (self.address, self.prefix) if part)


def parse_registry(text: str) -> Registry:
    """`HOST[:PORT][/PREFIX]` → Registry; ValueError saying what is wrong (settings.py reports it as a usage error)."""
    text = text.strip().rstrip("/")
    if "://" in text:
        raise ValueError("give HOST[:PORT][/PREFIX] without a scheme (the registry is spoken to over TLS)")
    where, _, prefix = text.partition("/")
    if where.startswith("["):  # [IPv6]:PORT
        host, _, rest = where[1:].partition("]")
        port_text = rest[1:] if rest.startswith(":") else (rest or None)
    else:
        host, sep, port_text = where.partition(":")
        port_text = port_text if sep else None
    host = host.lower()
    try:
        ipaddress.ip_address(host)
    except ValueError:
        if not _HOST.match(host):
            raise ValueError(f"{host!r} is neither a host name nor an IP address") from None
    port = None
    if port_text is not None:
        if not port_text.isdigit() or not 0 < int(port_text) < 65536:
            raise ValueError(f"port {port_text!r} is not a number from 1 to 65535")
        port = int(port_text)
    for component in filter(None, prefix.split("/")):
        if not _COMPONENT.match(component):
            raise ValueError(f"prefix component {component!r} is not a repository name (lowercase letters, digits, . _ -)")
    return Registry(host, port, "/".join(filter(None, prefix.split("/"))))


# ---------------------------------------------------------------------------------------------
# Credentials: the user's docker config
# ---------------------------------------------------------------------------------------------

# Credentials of registries this process started (the test registry): never written into the user's docker config.
_OWN_CREDENTIALS: dict[str, dict[str, str]] = {}


def remember_credentials(registry: Registry, auth: Mapping[str, str]) -> None:
    """Credentials for `registry` that `credentials()` returns before looking at any docker config."""
    _OWN_CREDENTIALS[registry.address] = dict(auth)


def credentials(registry: Registry, docker_config: Path | None = None) -> dict[str, str] | None:
    """Username and password (or identity token) for `registry`: those of a registry this process started, else
    from a docker config file (default: the user's, $DOCKER_CONFIG/config.json or ~/.docker/config.json,
    credential helpers included); None when there are none."""
    from docker import auth

    if registry.address in _OWN_CREDENTIALS:
        return dict(_OWN_CREDENTIALS[registry.address])

    config = auth.load_config(config_path=str(docker_config) if docker_config else None)
    found = auth.resolve_authconfig(config, registry.address)
    if not found or not (found.get("password") or found.get("identitytoken") or found.get("IdentityToken")):
        return None
    return {key: value for key, value in found.items() if value}


def docker_config_json(registry: Registry, auth: Mapping[str, str]) -> str:
    """The `.dockerconfigjson` of an imagePullSecret holding `auth` for `registry` (what `docker login` writes)."""
    username, password = auth.get("username", ""), auth.get("password", "")
    entry = {"username": username, "password": password,
             "auth": base64.b64encode(f"{username}:{password}".encode()).decode()}
    return json.dumps({"auths": {registry.address: entry}})


def pull_secret_name(release: str) -> str:
    return release + PULL_SECRET_SUFFIX


def ensure_pull_secret(core_api: Any, namespace: str, name: str, registry: Registry, auth: Mapping[str, str]) -> None:
    """Create (or update) the imagePullSecret `name` in `namespace` holding the push credentials for `registry`."""
    from kubernetes.client import V1ObjectMeta, V1Secret
    from kubernetes.client.exceptions import ApiException

    secret = V1Secret(metadata=V1ObjectMeta(name=name, labels={"app.kubernetes.io/managed-by": "deployproof"}),
                      type="kubernetes.io/dockerconfigjson",
                      string_data={".dockerconfigjson": docker_config_json(registry, auth)})
    try:
        core_api.create_namespaced_secret(namespace, secret)
    except ApiException as exc:
        if exc.status != 409:
            raise
        core_api.replace_namespaced_secret(name, namespace, secret)
    say(f"imagePullSecret {name} in namespace {namespace}: credentials for {registry.address}")


# ---------------------------------------------------------------------------------------------
# Trust: the registry's CA for dockerd
# ---------------------------------------------------------------------------------------------

def trust_for_docker(registry: Registry, ca: Path, certs_dir: Path = DOCKER_CERTS_DIR) -> Path:
    """Install `ca` as certs_dir/HOST:PORT/ca.crt, where dockerd looks for a registry's CA at every connection
    (no restart); return the path. An identical file is left as it is."""
    target = certs_dir / registry.address / "ca.crt"
    if target.is_file() and target.read_bytes() == ca.read_bytes():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(ca, target)
    say(f"dockerd trusts {ca} for {registry.address} ({target})")
    return target


# ---------------------------------------------------------------------------------------------
# Push
# ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class PushedImage:
    """An image as the registry holds it after a push."""

    repository: str  # HOST[:PORT][/PREFIX]/NAME
    tag: str
    digest: str  # sha256:… of the manifest, as the registry returned it
    seconds: float  # measured: the push

    @property
    def by_digest(self) -> str:
        return f"{self.repository}@{self.digest}"

    @property
    def reference(self) -> str:
        """`repository:tag@digest`: pulled by digest; the tag says which build it was."""
        return f"{self.repository}:{self.tag}@{self.digest}"


def push_image(client: Any, local: str, registry: Registry, name: str, *, auth: Mapping[str, str] | None = None) -> PushedImage:
    """Tag local image `local` as REGISTRY/name:<its tag> and push it; return what the registry holds, digest included.

    Progress every few seconds (layers done, bytes sent). Raises the RegistryError subclass that fits
    what the engine reported, as soon as it reports it."""
    import docker.errors

    named = local.split("@", 1)[0].rsplit("/", 1)[-1]  # a digest-only reference keeps no tag: "latest"
    tag = named.rsplit(":", 1)[1] if ":" in named else "latest"
    repository = registry.repository(name)
    client.images.get(local).tag(repository, tag)
    say(f"▶ push {repository}:{tag} …")
    begun = time.monotonic()
    try:
        lines = client.api.push(repository, tag, stream=True, decode=True, auth_config=dict(auth) if auth else None)
        digest = _follow_push(lines, registry, f"{repository}:{tag}", begun)
    except docker.errors.APIError as exc:
        raise classify(registry, str(exc.explanation or exc)) from exc
    if not digest:
        raise RegistryError(f"pushing {repository}:{tag} to {registry.address} returned no digest",
                            f"read the registry's log; push by hand to compare: docker push {repository}:{tag}")
    took = round(time.monotonic() - begun, 2)
    say(f"✓ push {repository}:{tag} ({took:.1f}s): {digest}")
    return PushedImage(repository, tag, digest, took)


def _follow_push(lines: Iterable[dict], registry: Registry, what: str, begun: float) -> str | None:
    layers: dict[str, str] = {}
    sent: dict[str, int] = {}
    digest, last_said = None, time.monotonic()
    for line in lines:
        if line.get("error") or line.get("errorDetail"):
            raise classify(registry, line.get("error") or line["errorDetail"].get("message", ""))
        if line.get("id") and line.get("status"):
            layers[line["id"]] = line["status"]
            current = (line.get("progressDetail") or {}).get("current")
            if current:
                sent[line["id"]] = current
        digest = (line.get("aux") or {}).get("Digest") or digest
        if time.monotonic() - last_said >= PROGRESS_EVERY_S:
            last_said = time.monotonic()
            done = sum(status in ("Pushed", "Layer already exists", "Mounted from") or status.startswith("Mounted")
                       for status in layers.values())
            say(f"  … {what}: {done}/{len(layers)} layers done, {sum(sent.values()) / 1e6:.1f} MB sent "
                f"({time.monotonic() - begun:.0f}s)")
    return digest


def classify(registry: Registry, message: str) -> RegistryError:
    """The error a push (or pull) failure means, from the engine's message, with the registry and the fix."""
    text = message.lower()
    where = f"registry {registry.address}"
    if any(s in text for s in ("x509", "certificate", "tls:")):
        return RegistryTLSError(
            f"{where} presents a certificate this host does not trust: {message.strip()}",
            f"pass the CA that signed it with --image-registry-ca PATH (deployproof installs it for dockerd as "
            f"{DOCKER_CERTS_DIR}/{registry.address}/ca.crt and hands it to the kind nodes it creates)")
    if "http response to https client" in text:
        return RegistryTLSError(f"{where} speaks plain HTTP, and images are pushed over TLS: {message.strip()}",
                                "serve the registry with TLS (a certificate, and --image-registry-ca for its CA)")
    if any(s in text for s in ("unauthorized", "authentication required", "no basic auth credentials", "denied",
                               "forbidden", " 401", " 403")):
        return RegistryRefused(
            f"{where} refused the push: {message.strip()}",
            f"docker login {registry.address} (with an account allowed to push to {registry}); "
            "the push takes the credentials of your docker config ($DOCKER_CONFIG or ~/.docker/config.json)")
    if any(s in text for s in ("connection refused", "no such host", "no route to host", "network is unreachable",
                               "i/o timeout", "server misbehaving", "name resolution", "connection reset")):
        return RegistryUnreachable(
            f"nothing answers at {where}: {message.strip()}",
            f"start the registry, or correct --image-registry (HOST[:PORT] as this host reaches it; "
            f"`curl -v https://{registry.address}/v2/` must answer, 401 included)")
    return RegistryError(f"{where}: {message.strip()}", f"read the message above and the registry's log; "
                         f"try by hand: docker push {registry.repository('IMAGE')}")
