"""The scale-in bound of the HPA test: the stabilization window, then the scale-down policies' steps, then lag.
A bound that ignored the policies failed the test on the chart's defaults (1 pod a minute), not on the HPA."""

from __future__ import annotations

from types import SimpleNamespace

from deployproof.autoscaling import DEFAULT_SCALE_DOWN, SCALE_IN_SLACK_S, HpaSpec, ScaleDownPolicy, read_hpa


def _spec(policies=DEFAULT_SCALE_DOWN, select="Max", min_replicas=1, window=300) -> HpaSpec:
    return HpaSpec("todo-backend", "todo-backend", min_replicas, 5, 70, window, tuple(policies), select)


def test_kubernetes_default_removes_everything_at_once():
    assert _spec().scale_down_steps_s(5) == 0
    assert _spec().scale_in_bound_s(5) == 300 + SCALE_IN_SLACK_S


def test_one_pod_a_minute_from_four_to_one_is_two_more_minutes():
    chart_default = [ScaleDownPolicy("Pods", 1, 60)]
    assert _spec(chart_default).scale_down_steps_s(4) == 120
    assert _spec(chart_default).scale_in_bound_s(4) == 300 + 120 + SCALE_IN_SLACK_S


def test_kind_values_two_pods_a_minute_from_four_to_two_is_one_step():
    assert _spec([ScaleDownPolicy("Pods", 2, 60)], min_replicas=2, window=60).scale_down_steps_s(4) == 0


def test_select_min_takes_the_slower_policy_and_percent_counts_from_the_current_size():
    policies = [ScaleDownPolicy("Pods", 1, 60), ScaleDownPolicy("Percent", 50, 30)]
    assert _spec(policies, "Max").scale_down_steps_s(8) == 30 * 2  # 8 → 4 → 2 → 1
    assert _spec(policies, "Min").scale_down_steps_s(3) == 60  # 3 → 2 → 1, a pod a minute


def test_at_min_already_needs_no_steps():
    assert _spec([ScaleDownPolicy("Pods", 1, 60)]).scale_down_steps_s(1) == 0


def test_read_hpa_takes_the_policies_and_the_select_policy_from_the_api_object():
    down = SimpleNamespace(stabilization_window_seconds=300, select_policy="Max",
                           policies=[SimpleNamespace(type="Pods", value=1, period_seconds=60)])
    hpa = SimpleNamespace(spec=SimpleNamespace(
        metrics=[], behavior=SimpleNamespace(scale_down=down), scale_target_ref=SimpleNamespace(name="todo-backend"),
        min_replicas=1, max_replicas=5))
    k8s = SimpleNamespace(autoscaling=SimpleNamespace(read_namespaced_horizontal_pod_autoscaler=lambda name, ns: hpa))
    spec = read_hpa(k8s, "todo", "todo-backend")
    assert spec.scale_down_policies == (ScaleDownPolicy("Pods", 1, 60),) and spec.scale_in_bound_s(4) == 420 + SCALE_IN_SLACK_S
