"""What an analyzer says about one file or object: a Finding, with one severity scale for every tool."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

SEVERITIES = ("CRITICAL", "HIGH", "MEDIUM", "LOW", "INFO")
BLOCKING = ("CRITICAL", "HIGH")  # these fail SC-4 unless accepted in aiops-accepted.yaml


@dataclass
class Finding:
    tool: str  # the analyzer that said it: checkov, kube-score, diagnosis, right-sizing
    check_id: str  # the analyzer's own id (CKV_DOCKER_3, container-resources, CrashLoopBackOff …)
    severity: str  # one of SEVERITIES
    target: str  # a repository file (dockerfiles/backend.Dockerfile) or an object (Deployment/todo-backend[/container])
    message: str
    fix: str = ""
    accepted: str = ""  # the reason from aiops-accepted.yaml when accepted
    details: dict = field(default_factory=dict)

    @property
    def blocking(self) -> bool:
        return self.severity in BLOCKING and not self.accepted

    def as_dict(self) -> dict:
        return asdict(self)


def severity_rank(severity: str) -> int:
    return SEVERITIES.index(severity) if severity in SEVERITIES else len(SEVERITIES)


def count_by_severity(findings: list[Finding]) -> dict[str, int]:
    counts = {s: 0 for s in SEVERITIES}
    for finding in findings:
        counts[finding.severity] = counts.get(finding.severity, 0) + 1
    return {s: n for s, n in counts.items() if n}


GRADES = {
    "A": "nothing above LOW",
    "B": "MEDIUM findings, or HIGH ones accepted with a reason",
    "F": "an unaccepted HIGH/CRITICAL finding (fails SC-4 where it gates)",
}


def letter_grade(findings: list[Finding]) -> str:
    """One grade for a tool run's findings (see GRADES); accepted findings count as what they are, minus the gate."""
    if any(f.blocking for f in findings):
        return "F"
    if any(severity_rank(f.severity) <= severity_rank("MEDIUM") for f in findings):
        return "B"
    return "A"


def sort_findings(findings: list[Finding]) -> list[Finding]:
    return sorted(findings, key=lambda f: (severity_rank(f.severity), f.target, f.check_id))


class GradedFindings:
    """Counts per severity and a letter grade over `self.findings`, for the records that hold findings."""

    findings: list[Finding]

    @property
    def counts(self) -> dict[str, int]:
        return count_by_severity(self.findings)

    @property
    def grade(self) -> str:
        return letter_grade(self.findings)
