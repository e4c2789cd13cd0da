"""The real AI tools, asked in advisory mode: each gets a read-only question and a deadline, and its answer is kept.

Every call goes through the one runner with a timeout; a tool that fails or times out is
recorded as such and the fallback runs. Nothing here lets a tool change the cluster or a file:
kubectl-ai runs without --skip-permissions (it must ask before any change, and --quiet cannot
answer), and every prompt says the task is read-only. Without a model of the user's, kubectl-ai
(the pinned build) talks to our local stand-in model (standin.py) instead.
"""

from __future__ import annotations

import os
import re
import tempfile
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any, Mapping

from .. import tools
from ..errors import CommandError
from ..kube import pinned_kubeconfig
from ..runner import run
from . import standin
from .detect import Detection

DEFAULT_TIMEOUT = 300.0
# With the stand-in model every turn answers at once: kubectl-ai's whole run took 0.4 s on a busy 2-core machine.
# The bound only limits how long a run that hangs on its way out is waited for (see _agent_exited).
STAND_IN_TIMEOUT = 60.0
# What kubectl-ai 0.0.25 logs (klog, in $TMPDIR/kubectl-ai.log) when its agent loop ends in --quiet mode.
AGENT_EXITED_LOG_LINE = "Agent state changing from done to exited"
ADVISORY = "This is an advisory, read-only task: do not modify any file or cluster resource."


@dataclass
class Answer:
    tool: str
    task: str
    command: str
    ok: bool
    seconds: float
    output: str
    error: str = ""
    returncode: int | None = None  # None: no exit code (timed out, or could not start)
    timeout_s: float = DEFAULT_TIMEOUT
    stopped_after_answer: bool = False  # it printed its answer, then never exited, and was stopped at its timeout

    @property
    def answered(self) -> bool:
        """The tool really answered: a non-empty answer, and exit 0 within its timeout (or the whole answer printed
        before it hung on its way out). Only then is it "used"."""
        finished = (self.returncode == 0 and self.seconds <= self.timeout_s) or self.stopped_after_answer
        return self.ok and finished and bool(self.output.strip())

    def as_dict(self) -> dict:
        return {**asdict(self), "answered": self.answered}


def _ask(tool: str, task: str, cmd: list[str], *, timeout: float, cwd: Path | None = None, shown_prompt: str = "",
         env: Mapping[str, str] | None = None, input: str | None = None) -> Answer:
    shown = " ".join(str(c) for c in cmd[:-1]) + f" {shown_prompt or '<prompt>'!r}"
    begun = time.monotonic()
    try:
        proc = run(cmd, check=False, timeout=timeout, cwd=cwd, env=env, input=input)
    except CommandError as exc:  # the runner turns a timeout into CommandError
        seconds, printed = round(time.monotonic() - begun, 1), plain_text(exc.output)
        if printed:  # it answered, then never exited (kubectl-ai 0.0.25 can hang in its UI's shutdown on a busy machine)
            return Answer(tool, task, shown, True, seconds, printed, f"answered, then did not exit: stopped after {timeout:.0f}s",
                          None, timeout, stopped_after_answer=True)
        return Answer(tool, task, shown, False, seconds, "", exc.cause, None, timeout)
    seconds = round(time.monotonic() - begun, 1)
    output = plain_text(proc.stdout)
    if proc.returncode != 0 or not output:
        return Answer(tool, task, shown, False, seconds, output, (proc.stderr or "no output").strip()[-1000:], proc.returncode, timeout)
    return Answer(tool, task, shown, True, seconds, output, "", proc.returncode, timeout)


def gordon_review_dockerfiles(detection: Detection, dockerfiles: list[Path], repo: Path, *, timeout: float = DEFAULT_TIMEOUT) -> Answer:
    """Ask Gordon to review our Dockerfiles (their text is in the prompt, so no file access is needed)."""
    parts = [f"Review these Dockerfiles for security and best practices. {ADVISORY} For each issue give the file, a severity "
             "(HIGH, MEDIUM, LOW) and the fix. Base images are build args on purpose (no registry in CI)."]
    for path in dockerfiles:
        parts.append(f"\n# {path.relative_to(repo)}\n{path.read_text()}")
    prompt = "\n".join(parts)
    return _ask("gordon", "Dockerfile review", [detection.settings["docker"], "ai", prompt], timeout=timeout, cwd=repo,
                shown_prompt=f"Review these Dockerfiles … ({len(dockerfiles)} files)")


ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def plain_text(output: str) -> str:
    """A terminal UI's output as text: no colour codes, no padding at line ends, at most one blank line in a row."""
    lines = [line.rstrip() for line in ANSI_ESCAPE.sub("", output).splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def _diagnosis_prompt(namespace: str) -> str:
    return (f"Diagnose the application in namespace {namespace}: list every pod that is not Running and Ready, restarting, "
            f"failing probes, pending or failing to pull its image, with the reason and the most likely fix. {ADVISORY}")


def kubectl_ai_diagnose(detection: Detection, kubeconfig: Path, namespace: str, context: str = "", *,
                        timeout: float = DEFAULT_TIMEOUT) -> Answer:
    """Ask kubectl-ai what is wrong in the namespace, non-interactively (--quiet), with read-only kubectl."""
    prompt = _diagnosis_prompt(namespace)
    settings = detection.settings or {}
    with tempfile.TemporaryDirectory(prefix="deployproof-kubectl-ai-") as tmp:
        # kubectl-ai follows a kubeconfig's current context only: it gets a copy pinned to the run's context.
        config = pinned_kubeconfig(kubeconfig, context, Path(tmp) / "kubeconfig") if context else kubeconfig
        cmd = [detection.binary, "--quiet", "--kubeconfig", str(config), "--max-iterations", "10"]
        if settings.get("provider"):
            cmd += ["--llm-provider", settings["provider"]]
        if settings.get("model"):
            cmd += ["--model", settings["model"]]
        return _ask("kubectl-ai", "cluster diagnosis", [*cmd, prompt], timeout=timeout, shown_prompt=prompt[:80] + " …")


def kubectl_ai_with_stand_in(detection: Detection, kubeconfig: Path, namespace: str, workdir: Path, context: str = "", *,
                             timeout: float = DEFAULT_TIMEOUT) -> tuple[Answer, dict[str, Any]]:
    """The real kubectl-ai, asked the same question, with our local stand-in model (standin.py) as its model.

    It runs in a home of its own under `workdir` (no user config can choose another provider or skip the
    permission check), with the cluster's kubectl first on PATH and a kubeconfig holding only `context`.
    Returns its answer and the stand-in's summary of the conversation (turns, kubectl commands, pods reported).
    """
    for folder in ("home", "config", "tmp"):
        (workdir / folder).mkdir(parents=True, exist_ok=True)
    if context:
        kubeconfig = pinned_kubeconfig(kubeconfig, context, workdir / "kubeconfig")
    prompt = _diagnosis_prompt(namespace)
    cmd = [detection.binary, "--quiet", "--llm-provider", "openai", "--model", standin.MODEL, "--kubeconfig", str(kubeconfig),
           "--max-iterations", "6", "--trace-path", str(workdir / "trace.txt"), prompt]
    environment = {"HOME": str(workdir / "home"), "XDG_CONFIG_HOME": str(workdir / "config"), "TMPDIR": str(workdir / "tmp"),
                   # wide enough that no answer line wraps: a pod's name and its readiness stay on one line
                   "KUBECTL_AI_TERM_WIDTH": "200",
                   "PATH": f"{tools.find('kubectl').parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    with standin.LocalModel(standin.DiagnosisScript(namespace)) as model:
        # stdin: an empty pipe, so kubectl-ai never waits on the caller's terminal for more of the query
        answer = _ask("kubectl-ai", "cluster diagnosis", cmd, timeout=min(timeout, STAND_IN_TIMEOUT),
                      env={**environment, **model.environment()}, input="", shown_prompt=prompt[:80] + " …")
    return _agent_exited(answer, workdir / "tmp" / "kubectl-ai.log"), model.summary()


def _agent_exited(answer: Answer, log: Path) -> Answer:
    """An answer printed before kubectl-ai hung counts only if its own log says its agent had finished.

    kubectl-ai 0.0.25's terminal UI looks at the agent's state only when a message arrives
    (pkg/ui/terminal.go); when the agent sets "exited" after the UI took its last message, nothing wakes the
    UI and the process never ends. Its agent has then finished: the answer is whole."""
    if not answer.stopped_after_answer:
        return answer
    try:
        exited = AGENT_EXITED_LOG_LINE in log.read_text(errors="replace")
    except OSError:
        exited = False
    if exited:
        return replace(answer, error=f"{answer.error}; its agent had exited (its log: {AGENT_EXITED_LOG_LINE!r}), its terminal UI "
                                     "missed it (kubectl-ai 0.0.25 checks the agent's state only when a message arrives)")
    return replace(answer, ok=False, stopped_after_answer=False,
                   error=f"{answer.error}; its log ({log}) does not say its agent finished, so the answer may be partial")


def kagent_optimize(detection: Detection, namespace: str, *, timeout: float = DEFAULT_TIMEOUT) -> Answer:
    """Ask kagent's Kubernetes agent for resource and autoscaling recommendations for the namespace."""
    settings = detection.settings or {}
    task = (f"For every Deployment and StatefulSet in namespace {namespace}, compare the containers' CPU and memory "
            f"requests and limits with their current usage from the metrics API, and recommend requests, limits and "
            f"HorizontalPodAutoscaler CPU targets. {ADVISORY}")
    cmd = [detection.binary, "invoke", "--namespace", settings.get("namespace", "kagent"), "--agent", settings.get("agent", "k8s-agent")]
    if settings.get("url"):
        cmd += ["--kagent-url", settings["url"]]
    return _ask("kagent", "optimization recommendations", [*cmd, "--task", task], timeout=timeout, shown_prompt=task[:80] + " …")
