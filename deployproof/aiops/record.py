"""The SC-4 record: what each tool (or its fallback) said, the findings, the gate — as aiops-report.json and .md."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import rightsizing
from .acceptance import Acceptance
from .advisors import USED, ToolRecord
from .findings import GRADES, Finding, count_by_severity, sort_findings

GATED_TOOLS = ("checkov", "kube-score")  # findings about our own images and charts


@dataclass
class AiopsReport:
    records: list[ToolRecord]
    recommendations: list[rightsizing.Recommendation] = field(default_factory=list)
    sizing_window: dict[str, Any] = field(default_factory=dict)
    stale_acceptances: list[Acceptance] = field(default_factory=list)
    # the diagnosis held against the API's own reading of the pods: {"api_troubles": {pod: reason}, "unexplained": {…}}
    diagnosis_check: dict[str, Any] = field(default_factory=dict)
    paths: dict[str, Path] = field(default_factory=dict)  # where write() put the report

    @property
    def findings(self) -> list[Finding]:
        return sort_findings([f for r in self.records for f in r.findings])

    @property
    def blocking(self) -> list[Finding]:
        """HIGH/CRITICAL findings in our images and charts that nobody accepted: they fail SC-4."""
        return [f for f in self.findings if f.tool in GATED_TOOLS and f.blocking]

    def as_dict(self) -> dict:
        findings = self.findings
        return {
            "generated_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "tools": [
                {"tool": r.tool, "task": r.task, "status": r.status, "detection": r.detection.as_dict(),
                 "answer": r.answer.as_dict() if r.answer else None, "fallback": r.fallback,
                 "fallback_output": r.fallback_output, "analyzers": [a.as_dict() for a in r.analyzer_runs],
                 "findings": count_by_severity(r.findings), "grade": r.grade, "figures": r.figures}
                for r in self.records
            ],
            "findings_by_severity": count_by_severity(findings),
            "gate": {"blocking": [f.as_dict() for f in self.blocking],
                     "accepted": [f.as_dict() for f in findings if f.accepted],
                     "stale_acceptances": [a.__dict__ for a in self.stale_acceptances]},
            "diagnosis_check": self.diagnosis_check,
            "right_sizing": {**self.sizing_window, "recommendations": [r.as_dict() for r in self.recommendations]},
            "findings": [f.as_dict() for f in findings],
        }

    def write(self, directory: Path) -> dict[str, Path]:
        directory.mkdir(parents=True, exist_ok=True)
        json_path, md_path = directory / "aiops-report.json", directory / "aiops-report.md"
        json_path.write_text(json.dumps(self.as_dict(), indent=2, default=str))
        md_path.write_text(self.markdown())
        self.paths = {"json": json_path, "markdown": md_path}
        return self.paths

    def markdown(self) -> str:
        lines = ["# AI-assisted operations (SC-4)", "",
                 "| tool | task | status | grade | findings | model / why not | answer or fallback output |",
                 "|---|---|---|---|---|---|---|"]
        for r in self.records:
            said = r.answer.output if r.answer and r.answer.answered else r.fallback_output
            why = r.detection.model if r.detection.usable else r.detection.why_not
            failed = f" (the tool did not answer: {(r.answer.error or 'empty answer')[:120]})" if r.answer and not r.answer.answered else ""
            counts = ", ".join(f"{n} {s}" for s, n in r.counts.items()) or "none"
            model = " (local stand-in model)" if r.figures.get("stand_in") and r.status == USED else ""
            lines.append(f"| {r.tool} | {r.task} | **{r.status}**{model}{failed} | {r.grade} | {counts} | {why} | {_cell(said)} |")
        lines += ["", "Grades: " + "; ".join(f"{g} = {text}" for g, text in GRADES.items()) + "."]
        for r in self.records:
            lines += ["", f"### {r.tool}: {r.fallback}", "", "```", r.fallback_output.strip() or "(no output)", "```"]
            for a in r.analyzer_runs:
                counts = ", ".join(f"{n} {s}" for s, n in a.counts.items()) or "no finding"
                lines.append(f"- {a.tool} {a.version}: grade {a.grade}; {a.checks_passed} passed, {len(a.findings)} failed "
                             f"({counts}) on {len(a.subjects)} files/objects, {a.seconds} s")
            if r.answer and r.answer.answered:
                lines += ["", f"{r.tool} said ({r.answer.seconds} s, `{r.answer.command}`):", "", "```", r.answer.output.strip(), "```"]
            conversation = r.figures.get("stand_in")
            if conversation:
                commands = ", ".join(f"`{c}`" for c in conversation["kubectl_commands"]) or "nothing"
                lines += ["", f"The model was a {conversation['model']}. In {conversation['turns']} turns it asked {r.tool} to run "
                              f"{commands}, and wrote its answer only from what those commands returned."]
        lines += ["", "## Gate", ""]
        blocking = self.blocking
        lines.append(f"{len(blocking)} unaccepted HIGH/CRITICAL findings in our images and charts"
                     + (":" if blocking else " — the gate passes."))
        lines += [f"- **{f.severity}** `{f.check_id}` {f.target}: {f.message}" for f in blocking]
        accepted = [f for f in self.findings if f.accepted]
        if accepted:
            lines += ["", "Accepted (aiops-accepted.yaml):", ""]
            lines += [f"- {f.severity} `{f.check_id}` {f.target} — {f.accepted}" for f in accepted]
        if self.stale_acceptances:
            lines += ["", "Stale acceptances (match nothing any more; remove them):", ""]
            lines += [f"- `{a.check}` {a.target}" for a in self.stale_acceptances]
        if self.recommendations:
            window = self.sizing_window
            lines += ["", "## Right-sizing", "",
                      f"Measured {window.get('condition', '')}: {window.get('window_s')} s, {window.get('points')} points "
                      f"from {window.get('pods')} pods (metrics.k8s.io). Ratios are current request ÷ measured (CPU p95, memory peak); "
                      f"flags at >{rightsizing.OVER_REQUESTED}× and <{rightsizing.UNDER_REQUESTED}×.", "",
                      rightsizing.table(self.recommendations)]
            flags = [f"- {r.workload}/{r.container}: {flag}" for r in self.recommendations for flag in r.flags]
            if flags:
                lines += ["", *flags]
        lines += ["", "## Findings", "", "| severity | tool | check | target | message | accepted |", "|---|---|---|---|---|---|"]
        for f in self.findings:
            lines.append(f"| {f.severity} | {f.tool} | `{f.check_id}` | {f.target} | {_cell(f.message)} | {_cell(f.accepted)} |")
        return "\n".join(lines) + "\n"


def _cell(text: str, limit: int = 400) -> str:
    text = " ".join((text or "").split())
    return (text[:limit] + " …" if len(text) > limit else text).replace("|", "\\|")
