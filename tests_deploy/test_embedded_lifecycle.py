"""The embedded cluster's lifecycle: up, reuse, down leaves nothing, up after down, recovery from a crashed run.

Runs first in the session (see fixtures/cluster.py) because it takes the cluster down;
it leaves a healthy cluster up for the tests after it.
"""

from __future__ import annotations

import os
import signal
import time

import pytest

from deployproof.providers.embedded import processes, teardown
from deployproof.providers.embedded.cluster import EmbeddedCluster

pytestmark = [pytest.mark.deploy, pytest.mark.criterion("CLUSTER"), pytest.mark.cluster_lifecycle]


@pytest.fixture(scope="module")
def embedded(cluster_provider):
    if cluster_provider.name != "embedded":
        pytest.skip(f"lifecycle of the embedded provider; this run uses {cluster_provider.name}")
    return cluster_provider.cluster


def _timed(action) -> float:
    begun = time.monotonic()
    action()
    return round(time.monotonic() - begun, 1)


def test_up_then_up_again_reuses_the_running_cluster(embedded: EmbeddedCluster, figures):
    figures["up_s"] = _timed(embedded.up)
    assert embedded.health_problem() is None
    pids = processes.recorded(embedded.layout)
    figures["reuse_s"] = _timed(embedded.up)
    assert processes.recorded(embedded.layout) == pids, "a second up must reuse the running processes"


def test_down_leaves_nothing_behind_and_up_works_again(embedded: EmbeddedCluster, figures):
    problems: list[str] = []
    figures["down_s"] = _timed(lambda: problems.extend(embedded.down()))
    assert problems == []
    assert teardown.leftovers(embedded) == []
    figures["up_after_down_s"] = _timed(embedded.up)
    assert embedded.health_problem() is None


def test_state_of_a_crashed_run_is_detected_and_cleaned(embedded: EmbeddedCluster, figures, caplog):
    embedded.up()  # a running cluster to crash, whatever the tests before left
    for pid, binary in processes.recorded(embedded.layout).values():
        if processes.is_running(pid, binary):
            os.kill(pid, signal.SIGKILL)
    assert embedded.health_problem() is not None
    figures["up_after_crash_s"] = _timed(embedded.up)
    assert "not healthy" in caplog.text
    assert embedded.health_problem() is None
