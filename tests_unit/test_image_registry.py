"""--image-registry: parsing, the setting, error classification, the pull secret's content (no registry needed)."""

from __future__ import annotations

import base64
import json

import pytest

from deployproof.errors import RegistryError, RegistryRefused, RegistryTLSError, RegistryUnreachable, UsageError
from deployproof.image_registry import Registry, classify, docker_config_json, ensure_pull_secret, parse_registry
from deployproof.settings import Settings


@pytest.mark.parametrize("text, address, prefix, repository", [
    ("registry.example.com", "registry.example.com", "", "registry.example.com/todo-backend"),
    ("172.18.0.1:5443", "172.18.0.1:5443", "", "172.18.0.1:5443/todo-backend"),
    ("Reg.Example:5000/team/apps/", "reg.example:5000", "team/apps", "reg.example:5000/team/apps/todo-backend"),
    ("[fd00::1]:5000/x", "[fd00::1]:5000", "x", "[fd00::1]:5000/x/todo-backend"),
])
def test_registry_parses_host_port_and_prefix(text, address, prefix, repository):
    registry = parse_registry(text)
    assert (registry.address, registry.prefix, registry.repository("todo-backend")) == (address, prefix, repository)


@pytest.mark.parametrize("text, says", [
    ("https://reg.example", "without a scheme"),
    ("reg.example:99999", "port"),
    ("reg.example:http", "port"),
    ("reg_example", "neither a host name"),
    ("reg.example/Team", "prefix component"),
])
def test_a_bad_registry_is_refused_with_the_reason(text, says):
    with pytest.raises(ValueError, match=says):
        parse_registry(text)


def test_the_setting_comes_from_option_env_or_ini_and_a_bad_one_is_a_usage_error(tmp_path):
    assert Settings.load({"image_registry": "reg.example:5000/p"}, env={}).image_registry == Registry("reg.example", 5000, "p")
    from_env = Settings.load({}, env={"DEPLOYPROOF_IMAGE_REGISTRY": "172.18.0.1:5443"})
    assert from_env.image_registry == Registry("172.18.0.1", 5443) and from_env.sources["image_registry"].startswith("env")
    assert Settings.load({}, ini={"image_registry": "reg.example"}, env={}).image_registry == Registry("reg.example")
    assert Settings.load({}, env={}).image_registry is None
    assert "image_registry=reg.example:5000/p (--image-registry)" in Settings.load({"image_registry": "reg.example:5000/p"}, env={}).describe()
    with pytest.raises(UsageError, match="--image-registry=http://x"):
        Settings.load({"image_registry": "http://x"}, env={})
    ca = tmp_path / "ca.crt"
    ca.write_text("pem")
    assert Settings.load({"image_registry_ca": str(ca)}, env={}).image_registry_ca == ca.resolve()
    with pytest.raises(UsageError, match="--image-registry-ca"):
        Settings.load({"image_registry_ca": str(tmp_path / "missing.crt")}, env={})


REGISTRY = Registry("172.18.0.1", 5443, "todo")


@pytest.mark.parametrize("message, error", [
    # what dockerd's push stream says (measured against docker-registry 2.8.2 in test_registry_push.py, and Go's resolver)
    ('Get "https://172.18.0.1:5443/v2/": dial tcp 172.18.0.1:5443: connect: connection refused', RegistryUnreachable),
    ('Get "https://nosuch.example:5443/v2/": dial tcp: lookup nosuch.example on 127.0.0.53:53: no such host', RegistryUnreachable),
    ('Get "https://172.18.0.1:5443/v2/": tls: failed to verify certificate: x509: certificate signed by unknown authority', RegistryTLSError),
    ("http: server gave HTTP response to HTTPS client", RegistryTLSError),
    ("unauthorized: authentication required", RegistryRefused),
    ("no basic auth credentials", RegistryRefused),
    ("denied: requested access to the resource is denied", RegistryRefused),
    ("blob upload unknown", RegistryError),
])
def test_each_push_failure_is_the_error_that_names_the_registry_and_its_fix(message, error):
    found = classify(REGISTRY, message)
    assert type(found) is error
    assert "172.18.0.1:5443" in found.cause and message in found.cause and found.fix


def test_the_fixes_name_docker_login_and_the_ca_option():
    assert "docker login 172.18.0.1:5443" in classify(REGISTRY, "unauthorized: authentication required").fix
    assert "--image-registry-ca" in classify(REGISTRY, "x509: certificate signed by unknown authority").fix
    assert "--image-registry" in classify(REGISTRY, "connect: connection refused").fix


def test_the_pull_secret_holds_what_docker_login_writes():
    config = json.loads(docker_config_json(REGISTRY, {"username": "u", "password": "p:w"}))
    entry = config["auths"]["172.18.0.1:5443"]
    assert base64.b64decode(entry["auth"]).decode() == "u:p:w" and entry["username"] == "u"


class _CoreApi:
    def __init__(self, exists: bool) -> None:
        self.exists, self.calls = exists, []

    def create_namespaced_secret(self, namespace, secret):
        from kubernetes.client.exceptions import ApiException

        self.calls.append(("create", namespace, secret))
        if self.exists:
            raise ApiException(status=409)

    def replace_namespaced_secret(self, name, namespace, secret):
        self.calls.append(("replace", namespace, secret))


@pytest.mark.parametrize("exists, calls", [(False, ["create"]), (True, ["create", "replace"])])
def test_the_pull_secret_is_created_or_replaced_as_dockerconfigjson(exists, calls):
    core = _CoreApi(exists)
    ensure_pull_secret(core, "todo", "todo-registry", REGISTRY, {"username": "u", "password": "p"})
    assert [c[0] for c in core.calls] == calls
    secret = core.calls[-1][2]
    assert secret.type == "kubernetes.io/dockerconfigjson" and secret.metadata.name == "todo-registry"
    assert "172.18.0.1:5443" in json.loads(secret.string_data[".dockerconfigjson"])["auths"]
