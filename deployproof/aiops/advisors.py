"""Each AI tool with its fallback: Gordon → Dockerfile review, kubectl-ai → cluster diagnosis, kagent → optimization.

For each task: when the tool is usable (installed, model configured) it is asked first and its
answer recorded ("used"); when it is missing, has no model, fails or times out, the fallback
answers ("fallback ran"). The analyzers behind the fallbacks run in both cases — their
findings are deterministic, so they, not a model's prose, decide the SC-4 gate.
kubectl-ai without a model of the user's is the pinned build talking to our local stand-in model
(`kubectl_ai_detection`); the record says so.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable

from .. import versions
from ..errors import DeployProofError
from . import analyzers, assistants, rightsizing, standin, toolcache
from .assistants import Answer
from .detect import Detection
from .diagnose import Diagnosis, diagnose
from .findings import Finding, GradedFindings

USED = "used"
FALLBACK = "fallback ran"


@dataclass
class ToolRecord(GradedFindings):
    tool: str
    task: str
    detection: Detection
    status: str  # USED | FALLBACK
    answer: Answer | None
    fallback: str  # what the fallback is
    fallback_output: str  # its summary, as a person reads it
    findings: list[Finding] = field(default_factory=list)
    analyzer_runs: list[analyzers.AnalyzerRun] = field(default_factory=list)
    figures: dict[str, Any] = field(default_factory=dict)

    @property
    def recorded(self) -> bool:
        """Something was said and kept: the tool's answer, or the fallback's output."""
        return bool((self.answer and self.answer.answered) or self.fallback_output)


def _status(detection: Detection, answer: Answer | None) -> str:
    """"used" only when the tool really answered (exit 0, a non-empty answer, within its timeout)."""
    return USED if detection.usable and answer is not None and answer.answered else FALLBACK


def dockerfile_review(detection: Detection, *, dockerfiles_dir: Path = analyzers.DOCKERFILES, timeout: float = assistants.DEFAULT_TIMEOUT) -> ToolRecord:
    """Gordon reviews the Dockerfiles; checkov's Dockerfile checks always run (and answer when Gordon cannot)."""
    answer = None
    if detection.usable:
        files = sorted(dockerfiles_dir.rglob("*.Dockerfile"))
        answer = assistants.gordon_review_dockerfiles(detection, files, analyzers.REPO, timeout=timeout)
    checkov_run = analyzers.review_dockerfiles(dockerfiles_dir)
    output = f"checkov {checkov_run.version}: {checkov_run.checks_passed} checks passed, {len(checkov_run.findings)} failed"
    return ToolRecord("gordon", "Dockerfile review", detection, _status(detection, answer), answer,
                      f"checkov {checkov_run.version} Dockerfile checks on {checkov_run.subject}", output,
                      checkov_run.findings, [checkov_run])


def kubectl_ai_detection(found: Detection, *, build: Callable[[], Path] = toolcache.kubectl_ai) -> Detection:
    """The user's kubectl-ai when it has a model; else the pinned build with the local stand-in model; else why neither
    (the fallback then answers, and the record carries the build error)."""
    if found.usable:
        return found
    try:
        binary = build()
    except DeployProofError as exc:
        return replace(found, why_not=f"{found.why_not}; and the pinned kubectl-ai {versions.KUBECTL_AI} could not be built "
                                      f"to run with the local stand-in model: {exc}")
    return Detection("kubectl-ai", True, str(binary), model=f"{standin.DESCRIPTION} (kubectl-ai {versions.KUBECTL_AI}, built here)",
                     usable=True, settings={"stand_in": True, "provider": "openai", "model": standin.MODEL})


def uses_stand_in(detection: Detection) -> bool:
    return bool(detection.usable and (detection.settings or {}).get("stand_in"))


def cluster_diagnosis(detection: Detection, diagnostics_folder: Path, *, kubeconfig: Path, namespace: str, context: str = "",
                      workdir: Path | None = None, timeout: float = assistants.DEFAULT_TIMEOUT) -> tuple[ToolRecord, Diagnosis]:
    """kubectl-ai diagnoses the namespace (with the user's model, or the local stand-in); the diagnostics-folder
    summarizer always reads the collected folder."""
    answer, conversation = None, None
    if uses_stand_in(detection):
        answer, conversation = assistants.kubectl_ai_with_stand_in(
            detection, kubeconfig, namespace, workdir or diagnostics_folder.parent / "kubectl-ai", context, timeout=timeout)
    elif detection.usable:
        answer = assistants.kubectl_ai_diagnose(detection, kubeconfig, namespace, context, timeout=timeout)
    result = diagnose(diagnostics_folder)
    figures: dict[str, Any] = {"problems": len(result.problems), "healthy": result.healthy, "namespaces": result.namespaces}
    if conversation is not None:
        figures["stand_in"] = conversation
    record = ToolRecord("kubectl-ai", "cluster diagnosis", detection, _status(detection, answer), answer,
                        f"diagnostics-folder summarizer on {diagnostics_folder}", result.summary(), result.findings(), figures=figures)
    return record, result


def optimization(detection: Detection, *, namespace: str, chart_workdir: Path, environment: str,
                 recommendations: list[rightsizing.Recommendation], condition: str,
                 timeout: float = assistants.DEFAULT_TIMEOUT, release: str = "todo",
                 values_files: list[Path] | None = None, set_values: dict[str, str] | None = None) -> ToolRecord:
    """kagent recommends resources and autoscaling; the right-sizing advisor and the chart analyzers always run
    (on the chart rendered as the release was installed, when its values are given)."""
    answer = assistants.kagent_optimize(detection, namespace, timeout=timeout) if detection.usable else None
    runs = analyzers.review_charts(chart_workdir, environment, namespace=namespace, release=release,
                                   values_files=values_files, set_values=set_values)
    chart_findings = analyzers.merge_duplicates([f for r in runs for f in r.findings])
    sizing = rightsizing.findings(recommendations, condition)
    lines = [f"right-sizing ({condition}): {len(recommendations)} containers measured, {len(sizing)} flags"]
    lines += [f"{r.tool} {r.version} on {r.subject}: {r.checks_passed} checks passed, {len(r.findings)} failed" for r in runs]
    return ToolRecord("kagent", "optimization recommendations", detection, _status(detection, answer), answer,
                      "right-sizing advisor (metrics API) + checkov Kubernetes checks + kube-score on the rendered chart",
                      "\n".join(lines), chart_findings + sizing, runs)
