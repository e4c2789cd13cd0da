"""The NetworkPolicy agent's table guard, run for real in a network namespace of its own: it holds the
table with nftables' owner flag, another process (the agent) cannot change it, and the table goes with it."""

from __future__ import annotations

import os
import shutil
import subprocess
import time

import pytest

from deployproof.providers.embedded.steps import NETPOL_TABLE, NETPOL_TABLE_GUARD

TABLE = " ".join(NETPOL_TABLE)
# Start the guard in the background as $guard and wait (at most 5 s) until it holds the table.
START_GUARD = f"""set -u
        bash {NETPOL_TABLE_GUARD} & guard=$!
        for i in $(seq 50); do nft list table {TABLE} 2>/dev/null | grep -q 'flags owner' && break; sleep 0.1; done"""
needs_root_and_nft = pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("nft") or not shutil.which("unshare"),
                                        reason="needs root, nft and unshare (./dev installs nftables; CI runs as root)")


@needs_root_and_nft
def test_the_guard_holds_the_table_refuses_the_agent_and_takes_the_table_with_it():
    # A new network namespace: the host's own tables are never touched.
    script = f"""
        {START_GUARD}
        echo "held: $(nft list table {TABLE} | grep -c 'flags owner')"
        # What the agent's rebuild does first: add (and delete) the table from another socket.
        nft add chain {TABLE} postrouting '{{ type filter hook postrouting priority 95; }}' 2>&1 | grep -o 'Operation not permitted' | head -1
        nft delete table {TABLE} 2>&1 | grep -o 'Operation not permitted' | head -1
        kill $guard; wait $guard
        # At once, no polling: teardown checks right after the guard's process has exited.
        nft list table {TABLE} >/dev/null 2>&1 && echo "still there" || echo "gone"
    """
    started = time.monotonic()
    out = subprocess.run(["unshare", "--net", "bash", "-c", script], capture_output=True, text=True, timeout=60)
    assert out.stdout.split("\n")[:4] == ["held: 1", "Operation not permitted", "Operation not permitted", "gone"], (out.stdout, out.stderr)
    assert time.monotonic() - started < 30


@needs_root_and_nft
def test_a_guard_killed_outright_leaves_no_table_behind():
    """SIGKILL runs no trap (the embedded cluster's crash test kills every component so): nft must go anyway."""
    script = f"""
        {START_GUARD}
        kill -KILL $guard; wait $guard 2>/dev/null
        for i in $(seq 50); do nft list table {TABLE} >/dev/null 2>&1 || break; sleep 0.1; done
        nft list table {TABLE} >/dev/null 2>&1 && echo "still there" || echo "gone"
        pgrep -P 1 -x nft >/dev/null && echo "an nft left" || echo "no nft left"
    """
    out = subprocess.run(["unshare", "--net", "--pid", "--fork", "--mount-proc", "bash", "-c", script],
                         capture_output=True, text=True, timeout=60)
    assert out.stdout.split("\n")[:2] == ["gone", "no nft left"], (out.stdout, out.stderr)
