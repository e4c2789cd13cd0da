"""--kube-context honoured everywhere: every kubectl and helm call names the kubeconfig and the context (kube.py's
kubectl_args/helm_args, the one place that spells them), and tools that follow only a file's current context get a
kubeconfig pinned to ours. No cluster: commands are captured."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import yaml

from deployproof import diagnostics, release as release_module
from deployproof.kube import helm_args, kubectl_args
from deployproof.release import Release

ROOT = Path(__file__).resolve().parents[1]
# Where a kubeconfig option may still be spelled out, and why.
SPELLED_OUT = {
    "deployproof/kube.py": "the one place",
    "deployproof/settings.py": "the option's own declaration",
    "deployproof/cli.py": "the CLI's older spelling of its own option (--context for --kube-context)",
    "deployproof/negative_controls.py": "options of a nested pytest run (its settings), not of kubectl",
    "deployproof/providers/kind.py": "`kind export kubeconfig` writes our kubeconfig file",
    "deployproof/aiops/assistants.py": "kubectl-ai gets a kubeconfig pinned to the context (it has no context option)",
}


def test_the_args_name_both_the_kubeconfig_and_the_context():
    assert kubectl_args(Path("/k/config"), "ctx") == ["--kubeconfig", "/k/config", "--context", "ctx"]
    assert helm_args("/k/config", "ctx") == ["--kubeconfig", "/k/config", "--kube-context", "ctx"]


def test_the_release_runs_helm_and_kubectl_in_its_context(monkeypatch, tmp_path):
    seen: list[list[str]] = []
    monkeypatch.setattr(release_module, "find", lambda name: Path(f"/bin/{name}"))
    monkeypatch.setattr(release_module, "run", lambda cmd, **kw: seen.append([str(c) for c in cmd]) or subprocess.CompletedProcess(cmd, 0, "", ""))
    release = Release("todo", "todo", tmp_path / "kubeconfig", "kind-deployproof")
    release.ensure_namespace()
    release.exists()
    assert release.install_command(60)[1:5] == ["--kubeconfig", str(tmp_path / "kubeconfig"), "--kube-context", "kind-deployproof"]
    kubectl, helm = [cmd for cmd in seen if cmd[0].endswith("kubectl")], [cmd for cmd in seen if cmd[0].endswith("helm")]
    assert [cmd[5] for cmd in kubectl] == ["get", "apply"]  # the namespace's phase, then the namespace
    assert all(cmd[1:5] == ["--kubeconfig", str(tmp_path / "kubeconfig"), "--context", "kind-deployproof"] for cmd in kubectl)
    assert helm[0][1:5] == ["--kubeconfig", str(tmp_path / "kubeconfig"), "--kube-context", "kind-deployproof"]  # helm status


def test_a_namespace_still_being_deleted_is_waited_out_before_it_is_created_again(monkeypatch, tmp_path):
    """An earlier run's uninstall leaves the namespace Terminating for a while; creating objects in it is refused
    (403 NamespaceTerminating), so the install waits until it is gone."""
    phases = iter(["Terminating", "Terminating", "Terminating", ""])
    seen: list[str] = []

    def fake_run(cmd, **kw):
        verb = str(cmd[5])
        seen.append(verb)
        return subprocess.CompletedProcess(cmd, 0, next(phases) if verb == "get" else "", "")

    monkeypatch.setattr(release_module, "find", lambda name: Path(f"/bin/{name}"))
    monkeypatch.setattr(release_module, "run", fake_run)
    monkeypatch.setattr("time.sleep", lambda s: None)
    Release("todo", "todo", tmp_path / "kubeconfig", "kind-deployproof").ensure_namespace()
    assert seen == ["get", "get", "get", "get", "apply"]


def test_diagnostics_read_the_run_s_context(monkeypatch, tmp_path):
    seen: list[list[str]] = []
    monkeypatch.setattr(diagnostics, "find", lambda name: Path(f"/bin/{name}"))
    monkeypatch.setattr(diagnostics, "run", lambda cmd, **kw: seen.append([str(c) for c in cmd]) or subprocess.CompletedProcess(cmd, 0, "", ""))
    collector = diagnostics.Collector(tmp_path / "kubeconfig", "eks-staging", tmp_path / "out")
    collector.nodes()
    collector.helm("todo", "todo")
    assert seen[0][1:5] == ["--kubeconfig", str(tmp_path / "kubeconfig"), "--context", "eks-staging"]
    assert seen[1][1:5] == ["--kubeconfig", str(tmp_path / "kubeconfig"), "--kube-context", "eks-staging"]


def test_kubectl_ai_gets_a_kubeconfig_pinned_to_the_context(tmp_path):
    from deployproof.aiops import assistants
    from deployproof.aiops.detect import Detection

    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "prod",
        "clusters": [{"name": c, "cluster": {"server": f"https://{c}"}} for c in ("prod", "staging")],
        "users": [{"name": c, "user": {}} for c in ("prod", "staging")],
        "contexts": [{"name": c, "context": {"cluster": c, "user": c}} for c in ("prod", "staging")]}))
    tool = tmp_path / "kubectl-ai"
    # The stand-in prints the current context of the kubeconfig it was handed.
    tool.write_text("#!/bin/sh\nwhile [ \"$1\" != --kubeconfig ]; do shift; done\ngrep '^current-context' \"$2\"\n")
    tool.chmod(0o755)
    answer = assistants.kubectl_ai_diagnose(Detection("kubectl-ai", True, str(tool), "gemini", True, settings={}), kubeconfig, "todo",
                                            "staging", timeout=30)
    assert answer.output.strip() == "current-context: staging"


def test_no_module_spells_out_kubeconfig_or_context_options_by_hand():
    pattern = re.compile(r'"--(kubeconfig|context|kube-context)"')
    offenders = []
    for folder in ("deployproof", "fixtures", "tests_deploy", "tests_resilience", "tests_functional"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            relative = str(path.relative_to(ROOT))
            if relative not in SPELLED_OUT and pattern.search(path.read_text()):
                offenders.append(relative)
    assert not offenders, f"kubectl/helm options spelled out by hand (use deployproof.kube.kubectl_args/helm_args): {offenders}"
