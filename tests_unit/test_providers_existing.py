"""deployproof.providers.existing: a cluster we are handed, never created nor deleted (no cluster needed)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from deployproof.errors import PrerequisiteError
from deployproof.providers import get_provider


def _kubeconfig(tmp_path: Path, contexts: list[str], current: str | None = None) -> Path:
    path = tmp_path / "kubeconfig"
    path.write_text(yaml.safe_dump({"apiVersion": "v1", "kind": "Config", "current-context": current,
                                    "contexts": [{"name": c, "context": {"cluster": c, "user": c}} for c in contexts]}))
    return path


def test_existing_needs_a_kubeconfig(monkeypatch):
    monkeypatch.delenv("KUBECONFIG", raising=False)
    with pytest.raises(PrerequisiteError) as error:
        get_provider("existing")
    assert "--kubeconfig" in error.value.fix


def test_existing_reports_a_missing_or_broken_kubeconfig(tmp_path):
    from deployproof.providers.existing import ExistingProvider

    with pytest.raises(PrerequisiteError, match="does not exist"):
        ExistingProvider(tmp_path / "nope")
    broken = tmp_path / "broken"
    broken.write_text("clusters: [unclosed")
    with pytest.raises(PrerequisiteError, match="not valid YAML"):
        ExistingProvider(broken)


def test_existing_names_the_available_contexts_when_one_is_unknown(tmp_path):
    from deployproof.providers.existing import ExistingProvider

    path = _kubeconfig(tmp_path, ["dev", "prod"], current="dev")
    assert ExistingProvider(path).context() == "dev"
    with pytest.raises(PrerequisiteError) as error:
        ExistingProvider(path, "staging")
    assert "dev, prod" in error.value.cause


def test_existing_is_never_deleted(tmp_path):
    from deployproof.providers.existing import ExistingProvider

    path = _kubeconfig(tmp_path, ["dev"], current="dev")
    provider = ExistingProvider(path)
    assert provider.down() == []
    assert path.exists()


# --- where the host reaches a NodePort of an existing cluster ---------------------------------------------------

def _node(name: str, ready: bool, **addresses: str):
    from types import SimpleNamespace

    return SimpleNamespace(metadata=SimpleNamespace(name=name), status=SimpleNamespace(
        conditions=[SimpleNamespace(type="Ready", status="True" if ready else "False")],
        addresses=[SimpleNamespace(type=kind, address=address) for kind, address in addresses.items()] +
                  [SimpleNamespace(type="Hostname", address=name)]))


NODES = [_node("cp", False, InternalIP="172.18.0.2"), _node("w1", True, InternalIP="172.18.0.3", ExternalIP="203.0.113.3"),
         _node("w2", True, InternalIP="172.18.0.4")]


def test_node_addresses_are_external_ips_first_ready_nodes_first_each_once():
    from deployproof.providers.existing import node_addresses

    assert node_addresses(NODES) == ["203.0.113.3", "172.18.0.3", "172.18.0.4", "172.18.0.2"]
    assert node_addresses(NODES + [_node("w3", True, InternalIP="172.18.0.3")]) == ["203.0.113.3", "172.18.0.3", "172.18.0.4", "172.18.0.2"]


def test_ipv6_node_urls_are_bracketed():
    from deployproof.providers.existing import url_for

    assert url_for("fd00::3", 30080) == "http://[fd00::3]:30080" and url_for("10.0.0.1", 30080) == "http://10.0.0.1:30080"


def test_the_node_port_url_is_the_first_node_address_that_answers(tmp_path):
    from deployproof.providers.existing import ExistingProvider

    tried: list[tuple[str, int]] = []
    provider = ExistingProvider(_kubeconfig(tmp_path, ["kind-deployproof"], "kind-deployproof"), list_nodes=lambda: NODES,
                                connect=lambda address, port: tried.append((address, port)) or address.startswith("172.18."))
    assert provider.node_port_url(30080) == "http://172.18.0.3:30080"  # the ExternalIP did not answer
    assert {address for address, _ in tried} == {"203.0.113.3", "172.18.0.3", "172.18.0.4", "172.18.0.2"}  # all at once
    assert provider.app_origins(30080) == ["http://203.0.113.3:30080", "http://172.18.0.3:30080", "http://172.18.0.4:30080",
                                           "http://172.18.0.2:30080"]
    assert provider.own_addresses() == []  # never ours: load needs --allow-load-to


def test_a_node_port_that_answers_nowhere_names_the_addresses_tried_and_the_app_url_fix(tmp_path):
    from deployproof.providers.existing import ExistingProvider

    provider = ExistingProvider(_kubeconfig(tmp_path, ["eks"], "eks"), list_nodes=lambda: NODES, connect=lambda address, port: False,
                                node_port_timeout=0.5)
    with pytest.raises(PrerequisiteError) as error:
        provider.node_port_url(30080)
    assert "NodePort 30080 answers on no node address this host can reach" in error.value.cause
    assert "203.0.113.3, 172.18.0.3, 172.18.0.4, 172.18.0.2" in error.value.cause
    assert "--app-url" in error.value.fix and "DEPLOYPROOF_APP_URL" in error.value.fix
    nodes_without_addresses = ExistingProvider(_kubeconfig(tmp_path, ["eks"], "eks"), list_nodes=lambda: [_node("n", True)])
    with pytest.raises(PrerequisiteError, match="no ExternalIP or InternalIP") as error:
        nodes_without_addresses.node_port_url(30080)
    assert "--app-url" in error.value.fix


def test_a_node_port_that_answers_after_a_while_is_waited_for(tmp_path):
    from deployproof.providers.existing import ExistingProvider

    rounds = []
    provider = ExistingProvider(_kubeconfig(tmp_path, ["eks"], "eks"), list_nodes=lambda: NODES[1:2],
                                connect=lambda address, port: rounds.append(address) or len(rounds) > 4, node_port_timeout=20)
    assert provider.node_port_url(31080) in ("http://203.0.113.3:31080", "http://172.18.0.3:31080")


def test_first_answering_tries_addresses_in_parallel():
    import threading

    from deployproof.providers.existing import first_answering

    barrier = threading.Barrier(3, timeout=5)  # deadlocks unless all three connect at once

    def connect(address, port):
        barrier.wait()
        return address == "b"

    assert first_answering(["a", "b", "c"], 1, connect) == "b"
    assert first_answering([], 1, connect) is None


def test_loading_images_into_an_existing_cluster_is_refused_naming_the_registry_option(tmp_path):
    from deployproof.errors import PrerequisiteError
    from deployproof.providers.existing import ExistingProvider

    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(yaml.safe_dump({"apiVersion": "v1", "kind": "Config", "current-context": "ctx",
                                          "clusters": [{"name": "c", "cluster": {"server": "https://192.0.2.1:6443"}}],
                                          "contexts": [{"name": "ctx", "context": {"cluster": "c", "user": "u"}}],
                                          "users": [{"name": "u", "user": {}}]}))
    with pytest.raises(PrerequisiteError) as refused:
        ExistingProvider(kubeconfig, "ctx").load_images(["todo-backend:1"])
    assert "--image-registry" in refused.value.fix
