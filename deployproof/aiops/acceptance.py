"""Accepted findings: aiops-accepted.yaml at the repository root names check id + file/object + reason.

A blocking (HIGH/CRITICAL) finding fails SC-4 until it is fixed or accepted here. Each entry:

    accepted:
      - check: CKV_K8S_43            # the analyzer's check id (shell-style wildcards allowed)
        target: Deployment/todo-*    # the finding's file or object (wildcards allowed; "Kind/name" matches its containers too)
        reason: why this is right for us (required, non-empty)

An entry that matches nothing is reported as stale, so the file does not rot.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from pathlib import Path

import yaml

from ..errors import DeployProofError
from .findings import Finding

DEFAULT_FILE = Path(__file__).resolve().parents[2] / "aiops-accepted.yaml"


@dataclass(frozen=True)
class Acceptance:
    check: str
    target: str
    reason: str

    def matches(self, finding: Finding) -> bool:
        if not fnmatch.fnmatchcase(finding.check_id, self.check):
            return False
        # An object pattern also covers its containers (Deployment/x matches Deployment/x/backend).
        return fnmatch.fnmatchcase(finding.target, self.target) or fnmatch.fnmatchcase(finding.target, self.target + "/*")


def load(path: Path = DEFAULT_FILE) -> list[Acceptance]:
    """Read the acceptance file (missing file: nothing accepted); refuse entries without a reason."""
    if not path.exists():
        return []
    data = yaml.safe_load(path.read_text()) or {}
    entries = data.get("accepted") or []
    problems, accepted = [], []
    for index, entry in enumerate(entries):
        entry = entry or {}
        check, target, reason = (str(entry.get(k) or "").strip() for k in ("check", "target", "reason"))
        missing = [k for k, v in (("check", check), ("target", target), ("reason", reason)) if not v]
        if missing:
            problems.append(f"entry {index + 1}: missing {', '.join(missing)}")
        else:
            accepted.append(Acceptance(check, target, reason))
    if problems:
        raise DeployProofError(f"{path}: " + "; ".join(problems), "give every accepted finding a check, a target and a reason")
    return accepted


def apply(findings: list[Finding], acceptances: list[Acceptance]) -> list[Acceptance]:
    """Mark each finding matched by an acceptance with its reason; return the acceptances that matched nothing."""
    used: set[Acceptance] = set()
    for finding in findings:
        for acceptance in acceptances:
            if acceptance.matches(finding):
                finding.accepted = acceptance.reason
                used.add(acceptance)
                break
    return [a for a in acceptances if a not in used]
