"""The embedded cluster's filter chains on the host: what they refuse, queue and accept, in that order."""

from __future__ import annotations

import subprocess

from deployproof.providers.embedded import host
from deployproof.providers.embedded.layout import Network


class _Recorder:
    def __init__(self) -> None:
        self.commands: list[list[str]] = []

    def __call__(self, args, **_kwargs):
        self.commands.append([str(a) for a in args])
        # -L/-C of a chain that does not exist yet: so it is created and jumped to.
        returncode = 1 if args[2] in ("-L", "-C") or args[3] in ("-L", "-C") else 0
        return subprocess.CompletedProcess(args, returncode, "", "")


def test_untranslated_service_addresses_are_refused_before_pod_traffic_is_queued_and_accepted(monkeypatch, tmp_path):
    """A Service address kube-proxy did not translate must not leave the host (measured: the default route
    answered a 404 for the backend); new pod connections go to the NetworkPolicy agent's queue, with bypass."""
    net = Network()
    recorder = _Recorder()
    monkeypatch.setattr(host, "run", recorder)
    changes = host.HostChanges.__new__(host.HostChanges)
    changes.path, changes.data = tmp_path / "host.json", {"chains": []}
    host._ensure_filter_chains(changes, net)

    appended = [c[4:] for c in recorder.commands if c[2] == "-A" and c[3] == net.forward_chain]
    assert appended[0] == ["-d", net.service_cidr, "-j", "REJECT", "--reject-with", "icmp-port-unreachable"]
    queued = [rule for rule in appended if "NFQUEUE" in rule]
    assert len(queued) == 2 and all({"--queue-bypass", str(net.policy_queue)} <= set(rule) for rule in queued)
    assert appended.index(queued[-1]) < appended.index(["-s", net.pod_cidr, "-j", "ACCEPT"])
    output = [c[4:] for c in recorder.commands if c[2] == "-A" and c[3] == net.output_chain]
    assert output == [appended[0]]
    jumps = [c for c in recorder.commands if c[2] == "-I"]
    assert ["FORWARD", "1", "-j", net.forward_chain] in [j[3:] for j in jumps]
    assert ["OUTPUT", "1", "-j", net.output_chain] in [j[3:] for j in jumps]
    assert changes.data["chains"] == [net.forward_chain, net.output_chain]
