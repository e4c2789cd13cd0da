"""deployproof.providers.embedded.cluster and .steps: bring-up runs the named steps in order, each given the narrow StepContext."""

from __future__ import annotations

import inspect
import json

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
