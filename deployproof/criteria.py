"""The success criteria, declared: each criterion is a list of claims, each claim the tests that prove it.

This map, not the tests' markers, decides what a verdict needs. A test is named by its file and
function (`tests_deploy/test_deployment.py::test_service_types`); every parametrized case of it
must pass. A claim may hold only on some providers (the embedded cluster's own lifecycle), only
on a cluster of several nodes (losing one), or only when the images went through a registry
(--image-registry): elsewhere it is not required. tests_unit/test_criteria.py checks that every named test exists.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Claim:
    text: str
    tests: tuple[str, ...]
    providers: tuple[str, ...] | None = None  # None: required on every provider
    multi_node: bool = False  # required only on a cluster of two nodes or more
    registry_only: bool = False  # required only when the images went through a registry (--image-registry)

    def required_on(self, provider: str | None, nodes: int | None = None, registry: bool | None = None) -> bool:
        if self.multi_node and nodes is not None and nodes < 2:
            return False
        if self.registry_only and registry is False:
            return False
        return self.providers is None or provider is None or provider in self.providers


@dataclass(frozen=True)
class Criterion:
    id: str
    description: str
    claims: tuple[Claim, ...]

    def required_tests(self, provider: str | None = None, nodes: int | None = None, registry: bool | None = None) -> tuple[str, ...]:
        """The tests this criterion needs on `provider` with `nodes` nodes, with or without a registry (None: unknown, so everything)."""
        tests: list[str] = []
        for claim in self.claims:
            if claim.required_on(provider, nodes, registry):
                tests.extend(t for t in claim.tests if t not in tests)
        return tuple(tests)


_DEPLOYMENT = "tests_deploy/test_deployment.py::"
_CLUSTER = "tests_deploy/test_cluster.py::"
_AUTH = "tests_functional/test_auth_isolation.py::"
_MCP = "tests_functional/test_mcp_chat.py::"
_AIOPS = "tests_deploy/test_aiops.py::"
_HOSTILE = "tests_functional/test_hostile_input.py::"
_LIMIT = "tests_functional/test_rate_limit.py::"
_UNAVAILABLE = "tests_resilience/test_backend_unavailable.py::"
_NETPOL = "tests_deploy/test_network_policies.py::"

_LIST = (
    Criterion("CLUSTER", "the cluster itself: a real, conformant Kubernetes under the app", (
        Claim("node Ready, API server ready, the pinned version", (
            _CLUSTER + "test_node_is_ready", _CLUSTER + "test_apiserver_readyz", _CLUSTER + "test_version_is_the_pinned_release")),
        Claim("a locally built workload runs, resolves a Service by DNS and answers on a NodePort", (
            _CLUSTER + "test_deployment_of_a_locally_built_image_becomes_ready",
            _CLUSTER + "test_pod_resolves_a_service_by_dns_name", _CLUSTER + "test_node_port_answers_on_the_host")),
        Claim("metrics API and HPA see CPU use", (
            _CLUSTER + "test_metrics_api_reports_nodes_and_pods", _CLUSTER + "test_hpa_shows_current_cpu_utilisation")),
        Claim("self-healing and Pod Security admission", (
            _CLUSTER + "test_deleted_pod_is_replaced", _CLUSTER + "test_restricted_namespace_rejects_a_privileged_pod")),
        Claim("the embedded cluster's lifecycle: reuse, clean down, crash recovery", (
            "tests_deploy/test_embedded_lifecycle.py::test_up_then_up_again_reuses_the_running_cluster",
            "tests_deploy/test_embedded_lifecycle.py::test_down_leaves_nothing_behind_and_up_works_again",
            "tests_deploy/test_embedded_lifecycle.py::test_state_of_a_crashed_run_is_detected_and_cleaned"),
            providers=("embedded",)),
    )),
    Criterion("SC-1", "every application pod starts and stays Running/Ready (no restarts, no CrashLoop/ImagePull errors)", (
        Claim("every app pod Running and Ready with 0 restarts", (_DEPLOYMENT + "test_every_app_pod_is_running_ready_without_restarts",)),
        Claim("Deployments and the StatefulSet available", (_DEPLOYMENT + "test_deployments_and_statefulset_are_available",)),
        Claim("the chart's helm test hook passes", (_DEPLOYMENT + "test_helm_test_hook_passes",)),
        Claim("pods meet Pod Security `restricted` and run the images just built",
              (_DEPLOYMENT + "test_live_pods_meet_the_restricted_profile_and_run_the_images_just_built",)),
        Claim("with --image-registry: every pod runs the digest the push returned",
              (_DEPLOYMENT + "test_every_pod_runs_the_digest_the_registry_push_returned",), registry_only=True),
    )),
    Criterion("SC-2", "services reachable from the host: the frontend NodePort (and the backend through it)", (
        Claim("the frontend is a NodePort, backend and database ClusterIP", (_DEPLOYMENT + "test_service_types",)),
        Claim("real requests through the NodePort reach the page and the backend",
              (_DEPLOYMENT + "test_node_port_serves_the_app_page_and_the_backend_health",)),
    )),
    Criterion("SC-3", "horizontal scaling: HPA scales out under load and traffic is balanced over replicas", (
        Claim("HPA scales out under load, requests spread over the replicas, scales back in",
              ("tests_resilience/test_hpa.py::test_backend_hpa_scales_out_under_load_spreads_requests_and_scales_back_in",)),
        Claim("throughput rises with users up to a knee; p95 bounded below it",
              ("tests_resilience/test_load.py::test_step_load_records_throughput_latency_and_the_knee",)),
    )),
    Criterion("SC-4", "AI-assisted tools (Gordon, kubectl-ai, kagent) used when present, with graded fallbacks", (
        Claim("each tool used, or its fallback ran and its findings were parsed and graded", (
            _AIOPS + "test_each_ai_tool_was_used_or_its_fallback_ran_and_was_recorded",
            _AIOPS + "test_our_images_and_charts_have_no_unaccepted_high_findings")),
        Claim("right-sizing measured against the live spec; diagnosis read the live namespace", (
            _AIOPS + "test_right_sizing_measured_every_app_container_against_its_live_spec",
            _AIOPS + "test_diagnosis_read_the_live_namespace")),
        Claim("kubectl-ai (local stand-in model when no model is configured) answered from the live cluster, "
              "and a broken Deployment changed its answer", (
            _AIOPS + "test_kubectl_ai_answered_from_the_live_cluster_through_the_local_model",
            _AIOPS + "test_kubectl_ai_answer_changes_with_a_broken_deployment")),
    )),
    Criterion("SC-5", "Phase III functionality intact: JWT auth, per-user isolation, MCP chat, task CRUD", (
        Claim("JWT matrix: the real token accepted, forged or missing tokens 401, another user's path 403", (
            _AUTH + "test_the_real_token_is_accepted", _AUTH + "test_forged_or_missing_tokens_get_401",
            _AUTH + "test_another_users_path_gets_403")),
        Claim("isolation between users over REST, MCP and chat", (
            _AUTH + "test_rest_cannot_read_change_or_delete_another_users_task",
            _AUTH + "test_mcp_cannot_touch_another_users_task", _AUTH + "test_mcp_refuses_a_missing_token",
            _AUTH + "test_chat_cannot_touch_another_users_task")),
        Claim("MCP tools and chat manage tasks", (
            _MCP + "test_mcp_lists_the_five_tools_and_calls_them_with_a_jwt",
            _MCP + "test_chat_manages_tasks_by_natural_phrasing_across_replicas",
            "tests_functional/test_browser.py::test_sign_up_then_chat_adds_a_visible_task")),
        Claim("task CRUD over REST; bad input gets a clear 4xx", (
            _MCP + "test_task_crud_through_rest", _MCP + "test_bad_input_gets_a_clear_4xx")),
        Claim("hostile input through the NodePort gets clean 4xx, never 5xx; another user's tasks unchanged", (
            _HOSTILE + "test_unstorable_text_gets_422_on_rest_and_chat_and_a_tool_error_on_mcp",
            _HOSTILE + "test_deep_nesting_oversized_bodies_and_malformed_bytes_get_a_json_4xx",
            _HOSTILE + "test_an_oversized_header_block_gets_a_json_431",
            _HOSTILE + "test_a_wrong_content_type_on_mcp_gets_a_json_415",
            _HOSTILE + "test_racing_changes_to_one_task_settle_by_conditional_updates",
            _HOSTILE + "test_get_mcp_event_streams_are_capped_per_user",
            _HOSTILE + "test_fuzzed_requests_through_the_proxy_never_get_a_5xx_nor_touch_another_user")),
        Claim("rate limiting on: a burst gets 429, a spoofed forwarded-for does not escape it", (
            _LIMIT + "test_the_auth_rate_limit_is_on_with_a_bounded_allowance",
            _LIMIT + "test_a_burst_of_sign_in_attempts_gets_429_and_a_spoofed_forwarded_for_does_not_escape")),
    )),
    Criterion("SC-6", "deployment completes within 10 minutes, measured from the start of the run to all pods Ready", (
        Claim("cluster up, images built and loaded, helm install to all Ready: the whole under 600 s",
              (_DEPLOYMENT + "test_deployment_completes_within_ten_minutes",)),
    )),
    Criterion("RES", "resilience: recovery after a pod is killed, rolling updates, a database outage, a lost node", (
        Claim("a killed pod of each component is replaced under traffic, no task lost",
              ("tests_resilience/test_pod_kill.py::test_pod_killed_under_traffic_recovers_without_losing_tasks",)),
        Claim("rolling updates under load lose no request",
              ("tests_resilience/test_rolling_update.py::test_rolling_update_under_load_loses_no_request",)),
        Claim("a database outage is reported cleanly and service resumes by itself",
              ("tests_resilience/test_database_outage.py::test_database_outage_is_reported_cleanly_and_service_resumes_by_itself",)),
        Claim("no backend Ready → 503 + Retry-After, never 502 (outage, rollout, scaled to 0)", (
            "tests_resilience/test_database_outage.py::test_database_outage_is_reported_cleanly_and_service_resumes_by_itself",
            _UNAVAILABLE + "test_backend_scaled_to_zero_gets_503_with_retry_after_never_502",
            _UNAVAILABLE + "test_rollout_with_no_backend_ready_gets_503_with_retry_after_never_502")),
        Claim("a burst of 50 sign-ups: all succeed, 0 restarts, 0 OOM kills",
              (_LIMIT + "test_fifty_simultaneous_sign_ups_all_succeed_without_restarts_or_oom_kills",)),
        Claim("a lost worker node: its pods replaced on the others, every route answers again, no task lost",
              ("tests_resilience/test_node_loss.py::test_losing_a_worker_moves_its_pods_and_loses_no_task",), multi_node=True),
    )),
    Criterion("NETPOL", "NetworkPolicies enforced: only the app's own pods reach the backend and the database (real TCP connections)", (
        Claim("the cluster enforces NetworkPolicies: a deny-all policy cuts a connection that worked (else unproven)",
              (_NETPOL + "test_a_deny_all_policy_cuts_a_connection_that_worked",)),
        Claim("the database admits the backend and the frontend, refuses a stranger pod of its namespace",
              (_NETPOL + "test_database_admits_the_backend_and_the_frontend_and_refuses_a_stranger",)),
        Claim("the backend admits the frontend, refuses a stranger pod of its namespace",
              (_NETPOL + "test_backend_admits_the_frontend_and_refuses_a_stranger",)),
        Claim("a pod of another namespace reaches the frontend but neither the backend nor the database",
              (_NETPOL + "test_another_namespace_reaches_the_frontend_but_neither_the_backend_nor_the_database",)),
    )),
)

CRITERIA: dict[str, Criterion] = {c.id: c for c in _LIST}

# What a test needs from the cluster beyond a working Kubernetes, by the preflight check that finds it out
# (deployproof/preflight.py). Where the preflight finds a need missing, its tests are skipped "unproven: <why>", so
# their claims are unproven there: never passed, and never failed for that reason.
NEEDS: dict[str, tuple[str, ...]] = {
    # the metrics API: read directly, through an HPA, or sampled by the right-sizing advisor (SC-4's report, the step load)
    "metrics": (
        _CLUSTER + "test_metrics_api_reports_nodes_and_pods", _CLUSTER + "test_hpa_shows_current_cpu_utilisation",
        "tests_resilience/test_hpa.py::test_backend_hpa_scales_out_under_load_spreads_requests_and_scales_back_in",
        "tests_resilience/test_load.py::test_step_load_records_throughput_latency_and_the_knee",
        _AIOPS + "test_each_ai_tool_was_used_or_its_fallback_ran_and_was_recorded",
        _AIOPS + "test_our_images_and_charts_have_no_unaccepted_high_findings",
        _AIOPS + "test_right_sizing_measured_every_app_container_against_its_live_spec",
        _AIOPS + "test_diagnosis_read_the_live_namespace"),
    # Pod Security admission honouring a namespace's enforce label
    "pod-security": (_CLUSTER + "test_restricted_namespace_rejects_a_privileged_pod",),
    # a server of a supported minor (versions.SUPPORTED_KUBERNETES)
    "supported-version": (_CLUSTER + "test_version_is_the_pinned_release",),
    # NetworkPolicies enforced (the NETPOL tests' own deny-all probe decides; fixtures/netpol.py)
    "netpol": tuple(t for claim in CRITERIA["NETPOL"].claims for t in claim.tests),
}


def claims_needing(need: str) -> list[tuple[str, str]]:
    """(criterion, claim text) of every claim with a test that needs `need`."""
    tests = set(NEEDS.get(need, ()))
    return [(c.id, claim.text) for c in _LIST for claim in c.claims if tests & set(claim.tests)]


def map_key(nodeid: str) -> str:
    """`path::function` of a pytest node id: parametrized cases and classes map onto their function."""
    path, _, rest = nodeid.partition("::")
    function = rest.split("[", 1)[0].split("::")[-1]
    return f"{path}::{function}"


def criteria_of(nodeid: str) -> list[str]:
    """The criteria a test helps prove (by the map)."""
    key = map_key(nodeid)
    return [c.id for c in _LIST if any(key in claim.tests for claim in c.claims)]
