"""Each AI tool with its fallback: Gordon → Dockerfile review, kubectl-ai → cluster diagnosis, kagent → optimization.

For each task: when the tool is usable (installed, model configured) it is asked first and its
answer recorded ("used"); when it is missing, has no model, fails or times out, the fallback
answers ("fallback ran"). The analyzers behind the fallbacks run in both cases — their
findings are deterministic, so they, not a model's prose, decide the SC-4 gate.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import analyzers, assistants, rightsizing
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


def cluster_diagnosis(detection: Detection, diagnostics_folder: Path, *, kubeconfig: Path, namespace: str, context: str = "",
                      timeout: float = assistants.DEFAULT_TIMEOUT) -> tuple[ToolRecord, Diagnosis]:
    """kubectl-ai diagnoses the namespace (in `context` of `kubeconfig`); the diagnostics-folder summarizer always reads
    the collected folder."""
    answer = (assistants.kubectl_ai_diagnose(detection, kubeconfig, namespace, context, timeout=timeout)
              if detection.usable else None)
    result = diagnose(diagnostics_folder)
    record = ToolRecord("kubectl-ai", "cluster diagnosis", detection, _status(detection, answer), answer,
                        f"diagnostics-folder summarizer on {diagnostics_folder}", result.summary(), result.findings(),
                        figures={"problems": len(result.problems), "healthy": result.healthy, "namespaces": result.namespaces})
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
