"""The right-sizing advisor's values file for the umbrella chart, without a cluster: keys where the chart reads
them, each value beside the live one, throttled measurements said to be a lower bound, workloads that are not
the chart's left out, and whether every HPA replica at its maximum still fits the nodes."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import yaml

from deployproof.aiops import rightsizing
from deployproof.charts import APP_CHARTS, chart_dir

Mi = 2**20


def recommendation(chart, container, usage, workload_kind="Deployment", release="todo", **spec_fields):
    fields = dict(workload=f"{workload_kind}/{release}-{chart}", container=container, replicas=2, selector={"app": chart},
                  cpu_request=0.05, cpu_limit=0.5, memory_request=128 * Mi, memory_limit=384 * Mi,
                  hpa=rightsizing.HpaSpec(f"{release}-{chart}", 1, 3, 50))
    fields.update(spec_fields)
    return rightsizing.recommend(rightsizing.ContainerSpec(**fields), usage)


@pytest.fixture
def measured():
    """The last embedded run's shape: a frontend held at its 500m limit, a backend near its 50m request."""
    frontend = recommendation("frontend", "frontend", rightsizing.Usage(30, 3, 0.3, 0.495, 0.5, 200 * Mi, 230 * Mi))
    backend = recommendation("backend", "backend", rightsizing.Usage(30, 2, 0.03, 0.046, 0.08, 90 * Mi, 101 * Mi),
                             memory_request=96 * Mi, memory_limit=256 * Mi, hpa=rightsizing.HpaSpec("todo-backend", 2, 4, 50))
    database = recommendation("database", "postgresql", rightsizing.Usage(30, 1, 0.01, 0.02, 0.05, 60 * Mi, 70 * Mi),
                              workload_kind="StatefulSet", replicas=1, hpa=None)
    return [frontend, backend, database]


def test_workloads_map_onto_the_umbrellas_subcharts():
    assert rightsizing.chart_of("Deployment/todo-backend", "todo") == "backend"
    assert rightsizing.chart_of("StatefulSet/todo-database", "todo") == "database"
    assert rightsizing.chart_of("Deployment/other-backend", "todo") is None
    assert rightsizing.chart_of("Deployment/todo-probe", "todo") is None


def test_the_values_file_sets_what_the_chart_reads_with_the_live_value_beside_each(measured, tmp_path):
    path, changes, fits = rightsizing.write_values_diff(tmp_path / "rightsizing-values.yaml", measured, release="todo",
                                                       condition="a test load")
    values = yaml.safe_load(path.read_text())
    assert set(values) == set(APP_CHARTS) and fits is None
    assert values["frontend"]["resources"] == {"requests": {"cpu": "620m", "memory": "280Mi"}, "limits": {"cpu": "1250m", "memory": "352Mi"}}
    assert values["backend"]["resources"]["requests"] == {"cpu": "60m", "memory": "128Mi"}
    assert values["backend"]["autoscaling"] == {"targetCPUUtilizationPercentage": 50}
    assert "autoscaling" not in values["database"]  # a StatefulSet without an HPA
    # Every key exists in the subchart's own values.yaml: the file is a valid layer, not a new vocabulary.
    for change in changes:
        chart, *keys = change.path
        node = yaml.safe_load((chart_dir(chart) / "values.yaml").read_text())
        for key in keys:
            assert key in node, f"{change.key} is not a value of charts/{chart}"
            node = node[key]

    text = path.read_text()
    assert "      cpu: 620m  # now 50m — p95 use 495m × 1.25; at its CPU limit, so the need may be higher" in text
    assert "    targetCPUUtilizationPercentage: 50  # unchanged — " in text
    assert "Measured under a test load." in text
    assert "-f charts/todo/values-<environment>.yaml -f rightsizing-values.yaml" in text
    changed = [c.key for c in changes if c.changed]
    assert "frontend.resources.requests.cpu" in changed and "frontend.autoscaling.targetCPUUtilizationPercentage" not in changed
    assert f"{len(changed)} of {len(changes)} values differ" in text


def test_fit_counts_every_hpa_at_its_maximum_against_what_the_nodes_leave(measured, tmp_path):
    cramped = rightsizing.Capacity(allocatable_cpu=2.0, allocatable_memory=8 * 2**30, others_cpu=0.35, others_memory=256 * Mi)
    path, _, fits = rightsizing.write_values_diff(tmp_path / "v.yaml", measured, release="todo", condition="x", capacity=cramped)
    # frontend 3 × 620m + backend 4 × 60m + database 1 × 25m = 2125m > 2000m - 350m
    assert fits is False and "2125m CPU" in path.read_text() and "NOT every replica can be scheduled" in path.read_text()
    roomy = rightsizing.Capacity(allocatable_cpu=8.0, allocatable_memory=32 * 2**30, others_cpu=0.35, others_memory=256 * Mi)
    assert rightsizing.fit_text(measured, roomy)[0] is True


def test_unset_values_other_releases_and_several_containers_are_said_so(tmp_path):
    usage = rightsizing.Usage(4, 1, 0.01, 0.01, 0.02, 40 * Mi, 40 * Mi)
    unset = recommendation("backend", "backend", usage, cpu_request=None, hpa=None)
    foreign = recommendation("backend", "backend", usage, release="other")
    sidecar_a = recommendation("frontend", "frontend", usage)
    sidecar_b = recommendation("frontend", "proxy", usage)
    changes, skipped = rightsizing.value_changes([unset, foreign, sidecar_a, sidecar_b], "todo")
    cpu = next(c for c in changes if c.key == "backend.resources.requests.cpu")
    assert cpu.current is None and cpu.changed
    assert {c.path[0] for c in changes} == {"backend"}
    assert any("not a chart of todo" in s for s in skipped) and sum("several containers" in s for s in skipped) == 2
    text = rightsizing.render_values(changes, ["header"])
    assert "cpu: 15m  # now unset — " in text and text.startswith("# header\n")


def test_values_yaml_would_misread_are_quoted():
    change = rightsizing.ValueChange(("backend", "resources", "limits", "cpu"), "500m", "10.0", "many cores")
    assert yaml.safe_load(rightsizing.render_values([change], []))["backend"]["resources"]["limits"]["cpu"] == "10.0"


def test_cluster_capacity_reads_allocatable_and_other_namespaces_requests():
    def node(cpu, memory):
        return SimpleNamespace(status=SimpleNamespace(allocatable={"cpu": cpu, "memory": memory}))

    def pod(namespace, requests, phase="Running"):
        container = SimpleNamespace(resources=SimpleNamespace(requests=requests))
        return SimpleNamespace(metadata=SimpleNamespace(namespace=namespace), status=SimpleNamespace(phase=phase),
                               spec=SimpleNamespace(containers=[container]))

    core = SimpleNamespace(
        list_node=lambda: SimpleNamespace(items=[node("2", "8Gi")]),
        list_pod_for_all_namespaces=lambda: SimpleNamespace(items=[
            pod("kube-system", {"cpu": "100m", "memory": "70Mi"}), pod("kube-system", {"cpu": "100m"}),
            pod("todo", {"cpu": "500m"}), pod("kube-system", {"cpu": "1"}, phase="Succeeded"), pod("other", None)]))
    capacity = rightsizing.cluster_capacity(core, "todo")
    assert capacity.allocatable_cpu == 2 and capacity.others_cpu == pytest.approx(0.2) and capacity.others_memory == 70 * Mi
    assert capacity.free_cpu == pytest.approx(1.8)


def test_a_recommendation_knows_it_was_measured_at_its_cpu_limit(measured):
    frontend, backend, _ = measured
    assert frontend.throttled and not backend.throttled
    assert frontend.replicas == 2 and frontend.as_dict()["replicas"] == 2
