"""The success-criteria report: verdicts from the declared map (deployproof/criteria.py) and test outcomes.

Verdicts: `passed` only when every required test ran and passed in setup, call and teardown;
`failed` when any required test failed in any phase; `partial` when none failed, some passed
and some did not run (deselected, skipped, not collected); `unproven` when none ran. Each claim of
a criterion is judged the same way from its own tests. The gate passes only when every criterion in
scope is `passed`. Rendered as a terminal table, JSON, Markdown and one self-contained HTML page
(deployproof/report_html.py), with the settings, the scope and the missing tests.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from . import report_html
from .criteria import CRITERIA, Criterion

VERDICTS = ("passed", "partial", "failed", "unproven")
NOT_REQUIRED = "not required"  # a claim that does not hold on this provider or node count


@dataclass
class TestRecord:
    """What one test (one node id) did, phase by phase."""

    nodeid: str
    key: str  # path::function, the name the criteria map uses
    phases: dict[str, str] = field(default_factory=dict)  # setup/call/teardown → passed|failed|skipped
    duration_s: float = 0.0
    figures: dict[str, object] = field(default_factory=dict)
    message: str = ""

    @property
    def outcome(self) -> str:
        outcomes = self.phases.values()
        if "failed" in outcomes:
            return "failed"
        if "skipped" in outcomes:
            return "skipped"
        if self.phases.get("call") == "passed":
            return "passed"
        return "not run"  # set up, but the call or the teardown never reported


@dataclass
class ClaimResult:
    text: str
    verdict: str  # one of VERDICTS, or NOT_REQUIRED
    tests: list[str]


@dataclass
class CriterionResult:
    criterion: str
    description: str
    verdict: str
    required: list[str]
    missing: list[str]  # required tests that did not run or were skipped, with why
    failed: list[str]
    evidence: list[TestRecord] = field(default_factory=list)
    claims: list[ClaimResult] = field(default_factory=list)

    @property
    def figures(self) -> dict[str, object]:
        merged: dict[str, object] = {}
        for record in self.evidence:
            merged.update(record.figures)
        return merged


def _verdict(outcomes: list[str]) -> str:
    """passed/failed/missing per required test → the verdict of the group (a claim or a criterion)."""
    if "failed" in outcomes:
        return "failed"
    if "missing" not in outcomes:
        return "passed"
    return "partial" if "passed" in outcomes else "unproven"


def judge(criterion: Criterion, records: list[TestRecord], provider: str | None, nodes: int | None = None,
          registry: bool | None = None) -> CriterionResult:
    """The verdict of one criterion (and of each of its claims) from the records of its required tests."""
    required = criterion.required_tests(provider, nodes, registry)
    by_key: dict[str, list[TestRecord]] = {}
    for record in records:
        by_key.setdefault(record.key, []).append(record)
    outcome: dict[str, str] = {}
    failed, missing = [], []
    for test in required:
        runs = by_key.get(test, [])
        outcomes = {r.outcome for r in runs}
        if "failed" in outcomes:
            outcome[test] = "failed"
            failed.append(test)
        elif runs and outcomes == {"passed"}:
            outcome[test] = "passed"
        elif "skipped" in outcomes:
            outcome[test] = "missing"
            reasons = "; ".join(sorted({r.message for r in runs if r.outcome == "skipped" and r.message}))
            missing.append(f"{test} (skipped: {reasons or 'no reason given'})")
        else:
            outcome[test] = "missing"
            missing.append(f"{test} (not run)")
    claims = [ClaimResult(claim.text, _verdict([outcome[t] for t in claim.tests]) if claim.required_on(provider, nodes, registry)
                          else NOT_REQUIRED, list(claim.tests)) for claim in criterion.claims]
    evidence = [r for t in required for r in by_key.get(t, [])]
    return CriterionResult(criterion.id, criterion.description, _verdict(list(outcome.values())), list(required),
                           missing, failed, evidence, claims)


class Report:
    """Collects test records and run context during a session; judges and writes at the end."""

    def __init__(self, scope: tuple[str, ...] = tuple(CRITERIA), settings: list[str] | None = None,
                 registry: bool | None = None) -> None:
        self.registry = registry  # whether the images go through a registry (--image-registry): some claims need one
        self.records: dict[str, TestRecord] = {}
        self.context: dict[str, str] = {}
        self.scope = scope
        self.settings = settings or []
        self.provider: str | None = None  # the resolved provider, once known (some claims are per provider)
        # Rows of a preflight table (check → result), when the run checked a cluster before deploying to it.
        self.preflight: list[dict[str, object]] = []

    @property
    def nodes(self) -> int | None:
        """Nodes of the cluster the run used (some claims need several), once known."""
        text = self.context.get("nodes", "")
        return int(text) if str(text).isdigit() else None

    def record(self, nodeid: str, key: str, phase: str, outcome: str, duration_s: float = 0.0,
               figures: dict | None = None, message: str = "") -> None:
        record = self.records.setdefault(nodeid, TestRecord(nodeid, key))
        record.phases[phase] = outcome
        record.duration_s = round(record.duration_s + duration_s, 2)
        if figures:
            record.figures.update(figures)
        if message and (outcome != "passed"):
            record.message = message

    def failures(self) -> list[str]:
        """One line per failed criterion test: its id and what failed (the exception and the test's own line)."""
        return [f"{r.nodeid}: {r.message or 'failed'}" for r in self.records.values() if r.outcome == "failed"]

    def results(self) -> list[CriterionResult]:
        records = list(self.records.values())
        return [judge(criterion, records, self.provider, self.nodes, self.registry) for criterion in CRITERIA.values()]

    def in_scope(self) -> list[CriterionResult]:
        return [r for r in self.results() if r.criterion in self.scope]

    def gate_passed(self) -> bool:
        return all(r.verdict == "passed" for r in self.in_scope())

    def to_dict(self) -> dict:
        results = self.results()
        return {
            "generated_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "provider": self.provider,
            "scope": list(self.scope),
            "gate": "passed" if self.gate_passed() else "failed",
            "settings": self.settings,
            "context": self.context,
            "preflight": self.preflight,
            "criteria": [{**asdict(r), "in_scope": r.criterion in self.scope, "figures": r.figures} for r in results],
        }

    def write(self, directory: Path) -> dict[str, Path]:
        """success-criteria.{json,md}, this run in history/, then report.html (which reads that history)."""
        directory.mkdir(parents=True, exist_ok=True)
        data = self.to_dict()
        json_path = directory / "success-criteria.json"
        json_path.write_text(json.dumps(data, indent=2, default=str), encoding="utf-8")
        md_path = directory / "success-criteria.md"
        md_path.write_text(render_markdown(self), encoding="utf-8")
        history = directory / "history"
        history.mkdir(exist_ok=True)
        (history / f"success-criteria-{time.strftime('%Y%m%dT%H%M%S')}.json").write_text(json.dumps(data, default=str), encoding="utf-8")
        prune_history(history)
        html_path = report_html.write(json.loads(json.dumps(data, default=str)), directory)
        return {"json": json_path, "markdown": md_path, "html": html_path}


HISTORY_KEEP = 100  # runs kept in history/: the trend shows the last few, and a CI cache must not grow without bound


def prune_history(history: Path, keep: int = HISTORY_KEEP) -> list[Path]:
    """Delete all but the newest `keep` run files (their names sort by time); return what was deleted."""
    runs = sorted(history.glob("success-criteria-*.json"))
    old = runs[:-keep] if len(runs) > keep else []
    for path in old:
        path.unlink(missing_ok=True)
    return old


def _figures_text(figures: dict[str, object]) -> str:
    return ", ".join(f"{k}={v}" for k, v in figures.items())


def _evidence_text(r: CriterionResult) -> str:
    ran = len(r.required) - len(r.missing)
    return f"{ran}/{len(r.required)} required ran, {len(r.failed)} failed"


def render_table(report: Report) -> str:
    rows = [("criterion", "verdict", "evidence", "figures")]
    for r in report.results():
        verdict = r.verdict.upper() + ("" if r.criterion in report.scope else " (out of scope)")
        rows.append((r.criterion, verdict, _evidence_text(r), _figures_text(r.figures)[:90]))
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    lines = []
    for i, row in enumerate(rows):
        lines.append("  ".join(cell.ljust(widths[j]) if j < 3 else cell for j, cell in enumerate(row)))
        if i == 0:
            lines.append("  ".join("-" * w for w in widths) + "  " + "-" * 20)
    for r in report.in_scope():
        for test in r.failed:
            lines.append(f"{r.criterion}: FAILED {test}")
        for test in r.missing:
            lines.append(f"{r.criterion}: missing {test}")
    gate = "PASSED" if report.gate_passed() else "FAILED"
    lines.append(f"gate: {gate} (scope: {', '.join(report.scope)}; passed only when every criterion in scope is passed)")
    return "\n".join(lines)


def render_markdown(report: Report) -> str:
    lines = ["# Success criteria", "", f"- gate: **{'passed' if report.gate_passed() else 'failed'}**",
             f"- scope: {', '.join(report.scope)}", f"- provider: {report.provider}"]
    lines += [f"- {k}: {v}" for k, v in report.context.items()]
    if report.settings:
        lines += ["", "<details><summary>settings</summary>", ""] + [f"- {s}" for s in report.settings] + ["", "</details>"]
    lines += ["", "| criterion | verdict | required tests | figures |", "|---|---|---|---|"]
    for r in report.results():
        status = {t: "failed" for t in r.failed}
        status.update({m.split(" (", 1)[0]: m.split(" (", 1)[1].rstrip(")") for m in r.missing})
        tests = "<br>".join(f"{status.get(t, 'passed')}: `{t}`" for t in r.required) or "none"
        scope = "" if r.criterion in report.scope else " (out of scope)"
        lines.append(f"| {r.criterion} — {r.description} | **{r.verdict}**{scope} | {tests} | {_figures_text(r.figures)} |")
    return "\n".join(lines) + "\n"
