"""NETPOL: the app's NetworkPolicies hold, proven with real TCP connections from pods.

Only on a cluster that enforces NetworkPolicies, which a probe finds out first (fixtures/netpol.py): elsewhere
every test here is skipped "unproven: …". Then: the database admits the backend and the frontend (Better Auth
keeps its tables there) and refuses a stranger pod of its namespace; the backend admits the frontend and refuses
the stranger; a pod of another namespace reaches the frontend but neither the backend nor the database. Each
target is tried at its Service's ClusterIP and at a pod IP (policies apply to pods). Denied connections take up
to CONNECT_TIMEOUT_S each when the agent drops them; a run takes ~1 min with the probe pods' start.
"""

from __future__ import annotations

import pytest

from fixtures.netpol import Pair, assert_as_expected, check_pairs, live_source, service_targets

pytestmark = [pytest.mark.deploy, pytest.mark.criterion("NETPOL")]


def test_a_deny_all_policy_cuts_a_connection_that_worked(netpol_enforced, figures):
    figures.update({"netpol_enforced": True, "netpol_deny_programmed_s": netpol_enforced.programmed_s,
                    "netpol_denied_as": netpol_enforced.denied_as})
    assert netpol_enforced.enforced, netpol_enforced.reason


def test_database_admits_the_backend_and_the_frontend_and_refuses_a_stranger(k8s, release, netpol_enforced, stranger, figures):
    database = service_targets(k8s, release, "database")
    backend = live_source(k8s, release, "backend", "python")
    frontend = live_source(k8s, release, "frontend", "node")
    pairs = [Pair(source, target, allowed=True) for source in (backend, frontend) for target in database]
    pairs += [Pair(stranger, service_targets(k8s, release, "frontend")[0], allowed=True)]  # the stranger has a network
    pairs += [Pair(stranger, target, allowed=False) for target in database]
    seen = check_pairs(k8s, pairs)
    figures["netpol_pairs_database"] = len(seen)
    assert_as_expected(seen)


def test_backend_admits_the_frontend_and_refuses_a_stranger(k8s, release, netpol_enforced, stranger, figures):
    backend = service_targets(k8s, release, "backend")
    frontend = live_source(k8s, release, "frontend", "node")
    pairs = [Pair(frontend, target, allowed=True) for target in backend]
    pairs += [Pair(stranger, service_targets(k8s, release, "frontend")[0], allowed=True)]
    pairs += [Pair(stranger, target, allowed=False) for target in backend]
    seen = check_pairs(k8s, pairs)
    figures["netpol_pairs_backend"] = len(seen)
    assert_as_expected(seen)


def test_another_namespace_reaches_the_frontend_but_neither_the_backend_nor_the_database(k8s, release, netpol_enforced,
                                                                                        netpol_scratch, figures):
    outsider = netpol_scratch.client
    frontend = live_source(k8s, release, "frontend", "node")
    guarded = service_targets(k8s, release, "backend") + service_targets(k8s, release, "database")
    pairs = [Pair(outsider, target, allowed=True) for target in service_targets(k8s, release, "frontend")]
    pairs += [Pair(frontend, target, allowed=True) for target in guarded]  # the guarded targets listen
    pairs += [Pair(outsider, target, allowed=False) for target in guarded]
    seen = check_pairs(k8s, pairs)
    figures["netpol_pairs_other_namespace"] = len(seen)
    assert_as_expected(seen)
