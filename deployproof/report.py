"""The success-criteria report: which tests prove which criterion, verdicts, evidence and figures.

A criterion with no passing test is "unproven", not passed; any failed test of a
criterion makes it "failed". Rendered as a terminal table, JSON and Markdown.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

CRITERIA = {
    "SC-1": "every application pod starts and stays Running/Ready (no restarts, no CrashLoop/ImagePull errors)",
    "SC-2": "services reachable from the host: the frontend NodePort (and the backend through it)",
    "SC-3": "horizontal scaling: HPA scales out under load and traffic is balanced over replicas",
    "SC-4": "AI-assisted tools (Gordon, kubectl-ai, kagent) used when present, with documented fallbacks",
    "SC-5": "Phase III functionality intact: JWT auth, per-user isolation, MCP chat, task CRUD",
    "SC-6": "deployment completes within 10 minutes (measured)",
    "RES": "resilience: recovery after a pod is killed, health checks and self-healing",
    "CLUSTER": "the cluster itself: a real, conformant Kubernetes under the app",
}


@dataclass
class Evidence:
    test: str
    outcome: str  # passed | failed | skipped
    duration_s: float
    figures: dict[str, object] = field(default_factory=dict)
    message: str = ""


@dataclass
class CriterionResult:
    criterion: str
    description: str
    verdict: str  # passed | failed | unproven
    evidence: list[Evidence] = field(default_factory=list)

    @property
    def figures(self) -> dict[str, object]:
        merged: dict[str, object] = {}
        for item in self.evidence:
            merged.update(item.figures)
        return merged


class Report:
    def __init__(self) -> None:
        self.evidence: dict[str, list[Evidence]] = {}
        self.context: dict[str, str] = {}

    def add(self, criteria: list[str], evidence: Evidence) -> None:
        for criterion in criteria:
            self.evidence.setdefault(criterion, []).append(evidence)

    def results(self, expected: list[str] | None = None) -> list[CriterionResult]:
        names = list(expected or []) + [c for c in self.evidence if c not in (expected or [])]
        out = []
        for name in names:
            items = self.evidence.get(name, [])
            if any(e.outcome == "failed" for e in items):
                verdict = "failed"
            elif any(e.outcome == "passed" for e in items):
                verdict = "passed"
            else:
                verdict = "unproven"
            out.append(CriterionResult(name, CRITERIA.get(name, ""), verdict, items))
        return out

    def write(self, directory: Path, expected: list[str] | None = None) -> dict[str, Path]:
        directory.mkdir(parents=True, exist_ok=True)
        results = self.results(expected)
        data = {
            "generated_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "context": self.context,
            "criteria": [{**asdict(r), "figures": r.figures} for r in results],
        }
        json_path = directory / "success-criteria.json"
        json_path.write_text(json.dumps(data, indent=2, default=str))
        md_path = directory / "success-criteria.md"
        md_path.write_text(render_markdown(results, self.context))
        history = directory / "history"
        history.mkdir(exist_ok=True)
        (history / f"success-criteria-{time.strftime('%Y%m%dT%H%M%S')}.json").write_text(json.dumps(data, default=str))
        return {"json": json_path, "markdown": md_path}


def _figures_text(figures: dict[str, object]) -> str:
    return ", ".join(f"{k}={v}" for k, v in figures.items())


def render_table(results: list[CriterionResult]) -> str:
    rows = [("criterion", "verdict", "evidence", "figures")]
    for r in results:
        passed = sum(e.outcome == "passed" for e in r.evidence)
        failed = sum(e.outcome == "failed" for e in r.evidence)
        evidence = f"{passed} passed, {failed} failed" if r.evidence else "no test ran"
        rows.append((r.criterion, r.verdict.upper(), evidence, _figures_text(r.figures)[:90]))
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    lines = []
    for i, row in enumerate(rows):
        lines.append("  ".join(cell.ljust(widths[j]) if j < 3 else cell for j, cell in enumerate(row)))
        if i == 0:
            lines.append("  ".join("-" * w for w in widths) + "  " + "-" * 20)
    return "\n".join(lines)


def render_markdown(results: list[CriterionResult], context: dict[str, str]) -> str:
    lines = ["# Success criteria", ""]
    if context:
        lines += [f"- {k}: {v}" for k, v in context.items()] + [""]
    lines += ["| criterion | verdict | evidence | figures |", "|---|---|---|---|"]
    for r in results:
        tests = "<br>".join(f"{e.outcome}: `{e.test}`" for e in r.evidence) or "no test ran"
        lines.append(f"| {r.criterion} — {r.description} | **{r.verdict}** | {tests} | {_figures_text(r.figures)} |")
    return "\n".join(lines) + "\n"
