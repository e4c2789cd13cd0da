"""deployproof.providers.embedded.cluster and .steps: bring-up runs the named steps in order, each given the narrow StepContext."""

from __future__ import annotations

import inspect
import json

import pytest

from deployproof import versions
from deployproof.errors import UsageError
from deployproof.providers.embedded import cluster as cluster_module
from deployproof.providers.embedded import steps
from deployproof.providers.embedded.cluster import EmbeddedCluster
from deployproof.providers.embedded.context import StepContext
from deployproof.providers.embedded.layout import Layout


def test_every_bring_up_step_is_named_once_and_takes_only_a_step_context():
    names = [name for name, _ in steps.BRING_UP]
    assert len(names) == len(set(names))
    for name, action in steps.BRING_UP:
        parameters = list(inspect.signature(action).parameters.values())
        assert len(parameters) == 1, name
        assert parameters[0].annotation in (StepContext, "StepContext"), name


def test_up_runs_the_steps_in_order_with_the_clusters_context_and_records_their_times(monkeypatch, tmp_path):
    seen: list[tuple[str, StepContext]] = []

    def recorder(name: str):
        def action(ctx: StepContext) -> None:
            ctx.layout.root.mkdir(parents=True, exist_ok=True)
            ctx.timings[f"inside {name}"] = 0.0
            seen.append((name, ctx))
        return action

    monkeypatch.setattr(cluster_module, "check_root", lambda: None)
    monkeypatch.setattr(cluster_module, "BRING_UP", [("first", recorder("first")), ("second", recorder("second"))])
    embedded = EmbeddedCluster(layout=Layout(tmp_path / "state"))
    timings = embedded.up()
    assert [name for name, _ in seen] == ["first", "second"]
    assert all(ctx.layout == embedded.layout and ctx.net == embedded.net and ctx.timings is timings for _, ctx in seen)
    assert {"first", "second", "inside first", "inside second"} <= set(timings)
    assert json.loads(embedded.layout.cluster_info.read_text())["timings"] == timings


def _healthy(monkeypatch):
    monkeypatch.setattr(EmbeddedCluster, "health_problem", lambda self: None)


def test_a_cluster_records_its_release_before_the_first_step(monkeypatch, tmp_path):
    recorded = []
    monkeypatch.setattr(cluster_module, "check_root", lambda: None)
    embedded = EmbeddedCluster(layout=Layout(tmp_path / "state"), kubernetes_version="v1.36.3")
    monkeypatch.setattr(cluster_module, "BRING_UP", [("look", lambda ctx: recorded.append((embedded.running_version(), ctx.kubernetes_version)))])
    embedded.up()
    assert recorded == [("v1.36.3", "v1.36.3")] and embedded.running_version() == "v1.36.3"


def test_a_healthy_cluster_of_another_release_is_not_reused(monkeypatch, tmp_path):
    _healthy(monkeypatch)
    layout = Layout(tmp_path / "state")
    layout.root.mkdir(parents=True)
    layout.cluster_info.write_text(json.dumps({"kubernetes": "v1.36.3"}))
    assert EmbeddedCluster(layout=layout, kubernetes_version="v1.36.3").reuse_problem("v1.36.3") is None
    problem = EmbeddedCluster(layout=layout, kubernetes_version="v1.37.2").reuse_problem("v1.37.2")
    assert problem and "v1.36.3" in problem and "v1.37.2" in problem
    # No version asked for: whichever supported release runs.
    assert EmbeddedCluster(layout=layout, kubernetes_version=None).wanted_version == "v1.36.3"
    assert EmbeddedCluster(layout=Layout(tmp_path / "none"), kubernetes_version=None).wanted_version == versions.KUBERNETES


def test_tear_down_uses_the_binaries_of_the_release_that_runs(monkeypatch, tmp_path):
    seen = []
    monkeypatch.setattr(cluster_module.teardown, "tear_down", lambda ctx: seen.append(ctx.kubernetes_version) or [])
    layout = Layout(tmp_path / "state")
    layout.root.mkdir(parents=True)
    layout.cluster_info.write_text(json.dumps({"kubernetes": "v1.35.4"}))
    EmbeddedCluster(layout=layout, kubernetes_version="v1.37.2").down()
    assert seen == ["v1.35.4"]


def test_an_unsupported_release_is_refused_before_anything_starts(tmp_path):
    with pytest.raises(UsageError, match="v1.37.2, v1.36.3, v1.35.4"):
        EmbeddedCluster(layout=Layout(tmp_path), kubernetes_version="v1.34.4")


@pytest.mark.parametrize("recorded, healthy, said", [
    ("v1.37.2", False, "is not healthy (node not Ready)"),  # the lifecycle test's crashed run reads this
    ("v1.36.3", True, "runs Kubernetes v1.36.3, not v1.37.2"),
])
def test_up_says_why_it_replaces_an_earlier_cluster(monkeypatch, tmp_path, recorded, healthy, said):
    layout = Layout(tmp_path / "state")
    layout.root.mkdir(parents=True)
    layout.cluster_info.write_text(json.dumps({"kubernetes": recorded}))
    monkeypatch.setattr(cluster_module, "check_root", lambda: None)
    monkeypatch.setattr(cluster_module, "BRING_UP", [])
    monkeypatch.setattr(EmbeddedCluster, "health_problem", lambda self: None if healthy else "node not Ready")
    monkeypatch.setattr(EmbeddedCluster, "down", lambda self: [])
    lines: list[str] = []
    monkeypatch.setattr(cluster_module, "say", lambda message, *_: lines.append(message))
    EmbeddedCluster(layout=layout, kubernetes_version="v1.37.2").up()
    assert any(said in line for line in lines), lines


def test_the_embedded_node_address_is_our_own_to_load():
    from deployproof.providers.embedded.cluster import EmbeddedCluster
    from deployproof.providers.embedded.provider import EmbeddedProvider

    provider = EmbeddedProvider(EmbeddedCluster())
    assert provider.own_addresses() == ["10.99.0.1"]
