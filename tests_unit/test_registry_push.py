"""Images through a real registry: Debian's docker-registry with TLS and basic auth, pushed to with our code.

The registry listens on docker's bridge gateway, an address of this host that is not loopback: dockerd
treats 127.0.0.0/8 registries as insecure (it would skip the certificate check), and the nodes of a kind
cluster reach the host only at such an address. Each error path meets a real registry (or a real closed port).
Bounded: the image is a few bytes FROM scratch; every push ends in seconds; the registries stop at the end.
"""

from __future__ import annotations

import io
import shutil
import tarfile
import time
import uuid
from pathlib import Path

import httpx
import pytest

from deployproof.errors import RegistryRefused, RegistryTLSError, RegistryUnreachable
from deployproof.image_registry import DOCKER_CERTS_DIR, Registry, credentials, push_image, trust_for_docker
from deployproof.registry_server import RegistryServer, _free_port

MANIFEST_TYPES = ", ".join((
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.oci.image.index.v1+json",
))
PUSH_LIMIT_S = 30  # a few bytes: far below; a hang would show here rather than as a stuck run

pytestmark = pytest.mark.skipif(shutil.which("docker-registry") is None or shutil.which("htpasswd") is None,
                                reason="docker-registry and apache2-utils are not installed (./dev setup installs them)")


@pytest.fixture(scope="module")
def docker_client():
    from deployproof.docker_engine import ensure_docker

    return ensure_docker()


@pytest.fixture(scope="module")
def host_address(docker_client) -> str:
    from deployproof.providers.kind_registry import node_reachable_address

    return node_reachable_address(docker_client, network="bridge")


@pytest.fixture(scope="module")
def registry_server(tmp_path_factory, host_address):
    """The registry with TLS and basic auth, its CA trusted by dockerd for the length of the module."""
    folder = tmp_path_factory.mktemp("registry")
    with RegistryServer(folder, host=host_address, log_path=folder / "registry.log") as server:
        trusted = trust_for_docker(server.registry, server.ca_cert)
        try:
            yield server
        finally:
            shutil.rmtree(trusted.parent, ignore_errors=True)


@pytest.fixture(scope="module")
def tiny_image(docker_client):
    """A local image of a few bytes, unique to this run (so the push really sends a layer)."""
    tag = f"deployproof-test/tiny:{uuid.uuid4().hex[:12]}"
    payload = uuid.uuid4().hex.encode()
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for name, data in (("Dockerfile", b"FROM scratch\nCOPY payload /payload\n"), ("payload", payload)):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    buffer.seek(0)
    image, _ = docker_client.images.build(fileobj=buffer, custom_context=True, tag=tag, rm=True)
    yield tag
    docker_client.images.remove(image.id, force=True)  # every tag of it, the registry's too


def _login(server: RegistryServer, password: str | None = None) -> dict[str, str]:
    return {"username": server.username, "password": password or server.password}


def test_push_returns_the_digest_the_registry_serves(docker_client, registry_server, tiny_image):
    pushed = push_image(docker_client, tiny_image, registry_server.registry, "todo-test", auth=_login(registry_server))
    push_s, digest, tag = pushed.seconds, pushed.digest, tiny_image.rsplit(":", 1)[1]
    assert pushed.repository == f"{registry_server.registry.address}/todo-test" and pushed.tag == tag
    assert digest.startswith("sha256:") and pushed.reference == f"{pushed.repository}:{tag}@{digest}"
    assert push_s < PUSH_LIMIT_S, f"push took {push_s:.1f}s"
    # The engine knows the image by that digest now (what the release names and the deploy test compares).
    assert docker_client.images.get(pushed.reference).id == docker_client.images.get(tiny_image).id

    with httpx.Client(verify=registry_server.tls_context(), auth=(registry_server.username, registry_server.password), timeout=10) as http:
        by_tag = http.get(f"{registry_server.url}/v2/todo-test/manifests/{tag}", headers={"Accept": MANIFEST_TYPES})
        by_digest = http.get(f"{registry_server.url}/v2/todo-test/manifests/{digest}", headers={"Accept": MANIFEST_TYPES})
    assert by_tag.status_code == 200, by_tag.text
    assert by_tag.headers["Docker-Content-Digest"] == digest
    assert by_digest.status_code == 200 and by_digest.content == by_tag.content
    # The digest is the manifest's own sha256: the nodes pulling `repository@digest` get exactly these bytes.
    import hashlib
    assert "sha256:" + hashlib.sha256(by_tag.content).hexdigest() == digest
    print(f"registry started in {registry_server.started_s:.2f}s; push of {tiny_image} took {push_s:.2f}s")


def test_the_registry_refuses_anonymous_reads(registry_server):
    answer = httpx.get(f"{registry_server.url}/v2/_catalog", verify=registry_server.tls_context(), timeout=10)
    assert answer.status_code == 401


def test_a_wrong_password_is_a_refused_push_naming_docker_login(docker_client, registry_server, tiny_image):
    begun = time.monotonic()
    with pytest.raises(RegistryRefused) as caught:
        push_image(docker_client, tiny_image, registry_server.registry, "todo-test", auth=_login(registry_server, "wrong"))
    assert time.monotonic() - begun < PUSH_LIMIT_S
    assert registry_server.registry.address in caught.value.cause
    assert f"docker login {registry_server.registry.address}" in caught.value.fix


def test_no_credentials_is_a_refused_push_too(docker_client, registry_server, tiny_image, tmp_path, monkeypatch):
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path))  # an empty docker config: nothing to send
    assert credentials(registry_server.registry) is None
    with pytest.raises(RegistryRefused):
        push_image(docker_client, tiny_image, registry_server.registry, "todo-test", auth=None)


def test_an_unknown_ca_is_a_tls_error_naming_the_ca_option(docker_client, tmp_path, host_address, tiny_image):
    # A second registry whose CA dockerd was never given.
    with RegistryServer(tmp_path / "untrusted", host=host_address, log_path=tmp_path / "untrusted.log") as untrusted:
        assert not (DOCKER_CERTS_DIR / untrusted.registry.address).exists()
        with pytest.raises(RegistryTLSError) as caught:
            push_image(docker_client, tiny_image, untrusted.registry, "todo-test", auth=_login(untrusted))
    assert untrusted.registry.address in caught.value.cause
    assert "--image-registry-ca" in caught.value.fix


def test_nothing_listening_is_unreachable_at_once(docker_client, host_address, tiny_image):
    closed = Registry(host_address, _free_port(host_address))
    begun = time.monotonic()
    with pytest.raises(RegistryUnreachable) as caught:
        push_image(docker_client, tiny_image, closed, "todo-test", auth={"username": "u", "password": "p"})
    took = time.monotonic() - begun
    assert closed.address in caught.value.cause and "--image-registry" in caught.value.fix
    assert took < 15, f"a refused connection took {took:.1f}s to report"


def test_credentials_come_from_the_docker_config(tmp_path, registry_server):
    import base64
    import json

    config = tmp_path / "config.json"
    token = base64.b64encode(f"{registry_server.username}:{registry_server.password}".encode()).decode()
    config.write_text(json.dumps({"auths": {registry_server.registry.address: {"auth": token}}}))
    found = credentials(registry_server.registry, config)
    assert found["username"] == registry_server.username and found["password"] == registry_server.password
    assert credentials(Registry("elsewhere.example", 5000), config) is None


def test_the_registry_stops_cleanly(tmp_path, host_address):
    server = RegistryServer(tmp_path / "short", host=host_address, log_path=tmp_path / "short.log").start()
    server.stop()
    assert server.process.poll() is not None
    with pytest.raises(httpx.ConnectError):
        httpx.get(server.url + "/v2/", verify=server.tls_context(), timeout=2)
    assert Path(tmp_path / "short.log").read_text()


# --- the nodes' side: containerd 2.4 (the kind nodes' release) pulls through our hosts config ----------------------

@pytest.fixture(scope="module")
def containerd(tmp_path_factory):
    """A private containerd of the nodes' release (from our build cache), its CRI plugins off: only ctr talks to it.
    What kind nodes do with the hosts folder, minus the kubelet (ctr resolves registries the same way)."""
    import subprocess

    from deployproof import versions
    from deployproof.providers.embedded import build

    try:
        binary = build.binary("containerd")
    except Exception as exc:  # noqa: BLE001 - no Go toolchain to name the build
        pytest.skip(f"containerd {versions.CONTAINERD} is not built here ({exc})")
    if not binary.exists():
        pytest.skip(f"containerd {versions.CONTAINERD} is not built here ({binary}): ./dev setup builds it")
    folder = tmp_path_factory.mktemp("containerd")
    socket = folder / "containerd.sock"
    (folder / "config.toml").write_text(
        f'version = 3\nroot = "{folder}/root"\nstate = "{folder}/state"\n'
        'disabled_plugins = ["io.containerd.grpc.v1.cri", "io.containerd.cri.v1.runtime", "io.containerd.cri.v1.images", '
        '"io.containerd.nri.v1.nri"]\n'
        f'[grpc]\n  address = "{socket}"\n')
    with open(folder / "containerd.log", "wb") as log:
        process = subprocess.Popen([binary, "--config", folder / "config.toml"], stdout=log, stderr=subprocess.STDOUT)
    ctr = [str(binary.parent / "ctr"), "--address", str(socket), "--namespace", "deployproof-test"]
    try:
        from deployproof.waits import poll_until

        poll_until(lambda: (subprocess.run([*ctr, "version"], capture_output=True).returncode == 0, "not answering"),
                   description="the test containerd to answer", timeout=30)
        yield ctr, folder
    finally:
        process.terminate()
        process.wait(20)


def _fetch(ctr: list[str], hosts: Path, reference: str, user: str | None):
    import subprocess

    command = [*ctr, "content", "fetch", "--hosts-dir", str(hosts), *(["--user", user] if user else []), reference]
    return subprocess.run(command, capture_output=True, text=True, timeout=60)


def test_containerd_pulls_the_pushed_digest_through_our_hosts_config(docker_client, registry_server, tiny_image, containerd):
    from deployproof.podwatch import Limits, PodTracker
    from deployproof.providers.kind_registry import write_hosts_dir

    ctr, folder = containerd
    hosts = folder / "certs.d"
    pushed = push_image(docker_client, tiny_image, registry_server.registry, "todo-test", auth=_login(registry_server))
    user = f"{registry_server.username}:{registry_server.password}"

    # No hosts config: containerd does not know the CA (what a node of a cluster made without --image-registry sees).
    untrusted = _fetch(ctr, folder / "empty", pushed.by_digest, user)
    assert untrusted.returncode != 0 and "x509" in untrusted.stderr, untrusted.stderr

    # The folder as the kind provider writes it (here containerd reads it where it lies, not at the nodes' mount point).
    write_hosts_dir(hosts, registry_server.registry.address, registry_server.ca_cert, seen_at=str(hosts))
    fetched = _fetch(ctr, hosts, pushed.by_digest, user)
    assert fetched.returncode == 0, fetched.stderr
    listed = __import__("subprocess").run([*ctr, "images", "ls"], capture_output=True, text=True).stdout
    assert pushed.digest in listed

    refused = _fetch(ctr, hosts, pushed.by_digest, f"{registry_server.username}:wrong")
    anonymous = _fetch(ctr, hosts, pushed.by_digest, None)
    assert "401 Unauthorized" in refused.stderr and "no basic auth credentials" in anonymous.stderr
    # What the kubelet would report from these is permanent (podwatch.py) and names the registry: an untrusted
    # certificate at once, refused credentials once the kubelet's retry 10 s later was refused too.
    from tests_unit.test_deploy import Clock, _pod  # the same pod stand-ins as the pod-watch tests

    past_retry_s = Limits().refused_grace_s + 1
    for message, words, after_s in ((refused.stderr, "docker login", past_retry_s), (anonymous.stderr, "docker login", past_retry_s),
                                    (untrusted.stderr, "--image-registry-ca", 0)):
        pod = _pod(waiting="ErrImagePull", message=message.strip())
        pod.status.container_statuses[0].image = pushed.by_digest
        tracker = PodTracker(clock=Clock(), registry=registry_server.registry, pull_secret="todo-registry")
        problem = tracker.observe([pod])
        if after_s:
            assert problem is None, message
            tracker.clock.now += after_s
            problem = tracker.observe([pod])
        assert problem is not None and words in problem.fix and registry_server.registry.address in problem.fix, message


def test_the_test_registry_is_refused_for_providers_whose_nodes_are_not_wired_to_it(tmp_path):
    from deployproof.errors import PrerequisiteError
    from deployproof.registry_server import start_test_registry

    for provider in ("embedded", "minikube"):
        with pytest.raises(PrerequisiteError, match="wired into kind clusters") as caught:
            start_test_registry(provider, folder=tmp_path)
        assert "--cluster-provider kind" in caught.value.fix


def test_the_test_registry_pushes_with_credentials_only_this_process_knows(docker_client, tiny_image, tmp_path, monkeypatch,
                                                                           host_address):
    from deployproof.image_registry import credentials, push_image
    from deployproof.registry_server import start_test_registry

    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path / "empty-docker-config"))  # the user's config holds nothing for it
    server = start_test_registry("kind", folder=tmp_path / "registry", port=_free_port(host_address),
                                 log_dir=tmp_path)
    try:
        trust_for_docker(server.registry, server.ca_cert)
        assert credentials(server.registry) == {"username": server.username, "password": server.password}
        pushed = push_image(docker_client, tiny_image, server.registry, "tiny", auth=credentials(server.registry))
        assert pushed.digest.startswith("sha256:")
    finally:
        server.stop()
