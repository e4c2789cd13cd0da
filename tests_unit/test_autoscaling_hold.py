"""autoscaling.held_at: HPAs held at a size for a block, their own bounds given back even when the block fails."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from deployproof import autoscaling


def _k8s(patches: list):
    return SimpleNamespace(autoscaling=SimpleNamespace(
        patch_namespaced_horizontal_pod_autoscaler=lambda name, namespace, body: patches.append((name, body["spec"]))))


def test_the_hpas_are_held_then_given_their_bounds_back_even_after_a_failure() -> None:
    specs = [autoscaling.HpaSpec("todo-backend", "todo-backend", 2, 5, 50, 60),
             autoscaling.HpaSpec("todo-frontend", "todo-frontend", 1, 3, 70, 60)]
    patches: list = []
    with pytest.raises(RuntimeError):
        with autoscaling.held_at(_k8s(patches), "todo", specs, {"todo-backend": 2, "todo-frontend": 1}):
            assert patches == [("todo-backend", {"minReplicas": 2, "maxReplicas": 2}), ("todo-frontend", {"minReplicas": 1, "maxReplicas": 1})]
            raise RuntimeError("the load failed")
    assert patches[2:] == [("todo-backend", {"minReplicas": 2, "maxReplicas": 5}), ("todo-frontend", {"minReplicas": 1, "maxReplicas": 3})]
