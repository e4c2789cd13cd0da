"""capacity.py: the release's requests at maxReplicas against the cluster, and the maxReplicas that make it fit.

The figures are the measured one-node kind cluster (2 CPUs allocatable, 970m requested by kube-system and
local-path-storage) where SC-1 failed on a third frontend replica that was Unschedulable.
"""

from __future__ import annotations

import logging
from types import SimpleNamespace

import pytest

from deployproof import capacity, charts, deploy
from deployproof.release import Release

Mi = 2**20
ONE_KIND_NODE = capacity.Capacity(allocatable_cpu=2.0, allocatable_memory=23.5 * 2**30, others_cpu=0.97, others_memory=398 * Mi)
THREE_KIND_NODES = capacity.Capacity(allocatable_cpu=6.0, allocatable_memory=70 * 2**30, others_cpu=1.27, others_memory=600 * Mi)


@pytest.fixture(scope="module")
def kind_release_workloads():
    """The workloads `helm template` renders for the kind values (the real chart, no cluster)."""
    release = Release("todo", "todo", None, None, [charts.values_file("kind")], {})
    from deployproof.preflight import rendered

    return capacity.workloads(rendered(release))


def test_workloads_carry_each_charts_pod_requests_and_hpa_bounds(kind_release_workloads):
    by_chart = {w.chart: w for w in kind_release_workloads}
    assert set(by_chart) == {"backend", "frontend", "database"}
    assert (by_chart["frontend"].cpu, by_chart["frontend"].min_replicas, by_chart["frontend"].max_replicas) == (0.25, 1, 3)
    assert (by_chart["backend"].min_replicas, by_chart["backend"].max_replicas) == (2, 4)
    assert by_chart["database"].max_replicas is None and by_chart["database"].count({}) == 1


def test_one_kind_node_lowers_the_widest_hpa_until_every_replica_fits(kind_release_workloads):
    assert capacity.shortfall(kind_release_workloads, ONE_KIND_NODE) is not None
    maxes = capacity.fitted_max_replicas(kind_release_workloads, ONE_KIND_NODE)
    assert maxes == {"frontend": 2}
    assert capacity.shortfall(kind_release_workloads, ONE_KIND_NODE, maxes) is None
    assert capacity.max_replicas_values(maxes) == {"frontend.autoscaling.maxReplicas": "2"}
    assert capacity.describe_lowered(kind_release_workloads, maxes) == "frontend 3 → 2"


def test_three_kind_nodes_change_nothing(kind_release_workloads):
    assert capacity.fitted_max_replicas(kind_release_workloads, THREE_KIND_NODES) == {}
    assert capacity.replacement_shortfall(kind_release_workloads, THREE_KIND_NODES) is None


def test_one_kind_node_has_no_room_for_a_replacement_while_its_predecessor_terminates(kind_release_workloads):
    """Measured there: a killed backend pod's replacement Ready after 9.4-10.0 s, against 3.5 s on three nodes."""
    maxes = capacity.fitted_max_replicas(kind_release_workloads, ONE_KIND_NODE)
    said = capacity.replacement_shortfall(kind_release_workloads, ONE_KIND_NODE, maxes)
    assert said == ("at its maximum replicas the release leaves 30m CPU, less than one more frontend pod (250m): "
                    "a replaced pod waits until its predecessor has terminated")


def test_lowering_stops_at_min_plus_one_and_the_shortfall_is_still_said():
    found = [capacity.Workload("backend", 0.5, 64 * Mi, 2, min_replicas=2, max_replicas=6),
             capacity.Workload("database", 0.1, 64 * Mi, 1)]
    tiny = capacity.Capacity(allocatable_cpu=1.0, allocatable_memory=8 * 2**30, others_cpu=0.0, others_memory=0.0)
    maxes = capacity.fitted_max_replicas(found, tiny)
    assert maxes == {"backend": 3}  # room to show scale-out is kept
    assert "requests 1600m CPU" in capacity.shortfall(found, tiny, maxes)


def _core(cpu: str, others: list[str]):
    node = SimpleNamespace(status=SimpleNamespace(allocatable={"cpu": cpu, "memory": "8Gi"}))
    pods = [SimpleNamespace(metadata=SimpleNamespace(namespace="kube-system"), status=SimpleNamespace(phase="Running"),
                            spec=SimpleNamespace(containers=[SimpleNamespace(resources=SimpleNamespace(requests={"cpu": c}))]))
            for c in others]
    return SimpleNamespace(list_node=lambda: SimpleNamespace(items=[node]),
                           list_pod_for_all_namespaces=lambda: SimpleNamespace(items=pods))


@pytest.fixture
def said():
    """The progress lines (level, message) said while the test runs, through the `deployproof` logger."""
    lines: list[tuple[int, str]] = []
    handler = logging.Handler(logging.INFO)
    handler.emit = lambda record: lines.append((record.levelno, record.getMessage()))
    logger = logging.getLogger("deployproof")
    saved_level = logger.level
    logger.setLevel(logging.INFO)
    logger.addHandler(handler)
    yield lines
    logger.removeHandler(handler)
    logger.setLevel(saved_level)


def test_a_cluster_of_ours_gets_the_lowered_max_and_the_report_says_so(said):
    release = Release("todo", "todo", None, None, [charts.values_file("kind")], {})
    record: dict[str, str] = {}
    deploy._fit_to_cluster(SimpleNamespace(name="kind"), release, _core("2", ["970m"]), record)
    assert release.set_values == {"frontend.autoscaling.maxReplicas": "2"}
    assert record["max_replicas_lowered"].startswith("frontend 3 → 2: 1030m CPU")
    assert "less than one more frontend pod" in record["replacement_room"]
    assert any(level == logging.INFO and "maxReplicas lowered" in message for level, message in said)


def test_a_cluster_handed_over_is_never_resized_only_warned(said):
    release = Release("todo", "todo", None, None, [charts.values_file("kind")], {})
    record: dict[str, str] = {}
    deploy._fit_to_cluster(SimpleNamespace(name="existing"), release, _core("2", ["970m"]), record)
    assert release.set_values == {} and record == {}
    warned = [message for level, message in said if level == logging.WARNING]
    assert len(warned) == 1 and warned[0].startswith("at its maximum replicas the release requests 1250m CPU")
    assert "autoscaling.maxReplicas" in warned[0]
