"""The one Settings object: sources in order, typed values, every bad value named with its fix."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from deployproof.criteria import CRITERIA
from deployproof.errors import UsageError
from deployproof.settings import FIELDS, Settings, read_ini


def test_defaults():
    s = Settings.load(env={})
    assert (s.cluster_provider, s.keep, s.deploy_timeout, s.values, s.skip_image_build) == ("auto", "on-failure", 600, (), None)
    assert s.criteria == tuple(CRITERIA)


def test_command_line_beats_env_beats_ini():
    s = Settings.load({"keep": "always"}, ini={"keep": "never", "namespace": "from-ini"}, env={"DEPLOYPROOF_KEEP": "never"})
    assert s.keep == "always" and s.sources["keep"] == "--keep"
    assert s.namespace == "from-ini" and s.sources["namespace"] == "ini deployproof_namespace"
    s = Settings.load({}, ini={"keep": "always"}, env={"DEPLOYPROOF_KEEP": "never"})
    assert s.keep == "never" and s.sources["keep"] == "env DEPLOYPROOF_KEEP"


def test_every_problem_is_reported_at_once_with_the_choices():
    with pytest.raises(UsageError) as caught:
        Settings.load({"keep": "sometimes", "deploy_timeout": "-3", "criteria": "SC-1,SC-9"}, env={})
    text = caught.value.cause
    assert "--keep=sometimes: not one of always, on-failure, never" in text
    assert "--deploy-timeout=-3: expected a number of seconds above 0" in text
    assert "unknown criteria SC-9" in text


def test_an_env_value_is_named_with_its_variable():
    with pytest.raises(UsageError, match=r"--image-base \(from env DEPLOYPROOF_IMAGE_BASE\) = 'alpine'"):
        Settings.load({}, env={"DEPLOYPROOF_IMAGE_BASE": "alpine"})


def test_values_files_must_exist_and_resolve(tmp_path, monkeypatch):
    values = tmp_path / "v.yaml"
    values.write_text("{}\n")
    monkeypatch.chdir(tmp_path)
    assert Settings.load({"values": "v.yaml"}, env={}).values == (values,)
    with pytest.raises(UsageError, match="no such file"):
        Settings.load({"values": "missing.yaml"}, env={})


@pytest.mark.parametrize("text, problem", [
    ("backend=b:1,frontend=f:1", "missing database"),
    ("backend=b:1,frontend=f:1,database=d", "has no tag"),
    ("api=b:1", "not NAME=IMAGE"),
])
def test_skip_image_build_is_parsed_up_front(text, problem):
    with pytest.raises(UsageError, match=problem):
        Settings.load({"skip_image_build": text}, env={})


def test_skip_image_build_maps_names_to_references():
    s = Settings.load({"skip_image_build": "backend=b:1,frontend=reg:5000/f:2,database=d@sha256:" + "0" * 64}, env={})
    assert s.skip_image_build["frontend"] == "reg:5000/f:2"


def test_criteria_scope():
    assert Settings.load({"criteria": "sc-2, SC-1"}, env={}).criteria == ("SC-2", "SC-1")


def test_the_cli_reads_the_same_ini_keys(tmp_path):
    (tmp_path / "pyproject.toml").write_text('[tool.pytest.ini_options]\ndeployproof_keep = "always"\nother = 1\n')
    assert read_ini(tmp_path / "pyproject.toml") == {"keep": "always"}
    assert read_ini(tmp_path / "absent.toml") == {}


def test_every_field_has_an_env_var_and_an_option_of_the_same_name():
    for f in FIELDS:
        assert f.option == "--" + f.name.replace("_", "-") or f.name == "kube_context" and f.option == "--kube-context"
        assert f.env in ("KUBECONFIG",) or f.env.startswith("DEPLOYPROOF_")
    assert Path  # noqa: B018


def test_app_url_is_a_root_url_of_http_or_https():
    assert Settings.load(env={}).app_url is None
    assert Settings.load({"app_url": "https://todo.example.com/"}, env={}).app_url == "https://todo.example.com"
    assert Settings.load({}, env={"DEPLOYPROOF_APP_URL": "http://[fd00::1]:8080"}).app_url == "http://[fd00::1]:8080"
    for bad, problem in (("todo.example.com", "expected http(s)://HOST[:PORT]"), ("ftp://todo", "expected http(s)://HOST[:PORT]"),
                         ("https://todo.example.com/app", "without a path"), ("https://u:p@todo", "credentials"),
                         ("http://todo:99999", "port is not a number")):
        with pytest.raises(UsageError, match=re.escape(problem)):
            Settings.load({"app_url": bad}, env={})


def test_allow_load_to_takes_hosts_addresses_and_networks_normalized():
    assert Settings.load(env={}).allow_load_to == ()
    s = Settings.load({}, env={"DEPLOYPROOF_ALLOW_LOAD_TO": " Todo.Example.com., 10.0.0.0/8,172.18.0.3, [fd00::1], fd00::/8,10.0.0.0/8"})
    assert s.allow_load_to == ("todo.example.com", "10.0.0.0/8", "172.18.0.3/32", "fd00::1/128", "fd00::/8")
    assert s.sources["allow_load_to"] == "env DEPLOYPROOF_ALLOW_LOAD_TO"
    assert "allow_load_to=todo.example.com,10.0.0.0/8" in " ".join(s.describe())
    with pytest.raises(UsageError, match=r"'10.1.2.3/8' is not a network .*did you mean 10.0.0.0/8"):
        Settings.load({"allow_load_to": "10.1.2.3/8"}, env={})
    for bad in ("*", "under_score.example", "-bad.example", "10.0.0.0/33"):
        with pytest.raises(UsageError):
            Settings.load({"allow_load_to": bad}, env={})


def test_the_test_registry_and_another_registry_are_refused_together():
    with pytest.raises(UsageError, match="two registries"):
        Settings.load({"test_registry": "on", "image_registry": "registry.example.test:5000"})
    assert Settings.load({"test_registry": "on"}).test_registry == "on"
    with pytest.raises(UsageError, match="not one of off, on"):
        Settings.load({"test_registry": "yes"})
