"""The maintained analyzers behind the fallbacks: checkov (Dockerfiles and manifests) and kube-score (manifests).

Charts are analyzed as they would be installed: the umbrella chart rendered by helm
(deployproof.charts) with an environment's values file, the release namespace filled in
(as `helm -n` does), one file per object so each finding names its object.
"""

from __future__ import annotations

import json
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from .. import charts, versions
from ..errors import CommandError
from ..runner import run
from . import toolcache
from .findings import Finding, GradedFindings
from .severity import grade

REPO = Path(__file__).resolve().parents[2]
DOCKERFILES = REPO / "dockerfiles"


@dataclass
class AnalyzerRun(GradedFindings):
    tool: str  # checkov-dockerfile, checkov-kubernetes, kube-score
    version: str
    subject: str  # what was analyzed
    command: str
    seconds: float
    checks_passed: int
    findings: list[Finding] = field(default_factory=list)
    reported_failed: int | None = None  # failed checks by the tool's own summary (checkov), to check our parsing against
    subjects: list[str] = field(default_factory=list)  # every file or object the tool reported on (passed or failed)

    @property
    def parsed_all(self) -> bool:
        """Every failed check the tool reported became a finding (True when the tool reports no count of its own)."""
        return self.reported_failed is None or self.reported_failed == len(self.findings)

    def as_dict(self) -> dict:
        return {"tool": self.tool, "version": self.version, "subject": self.subject, "command": self.command,
                "seconds": self.seconds, "checks_passed": self.checks_passed, "findings": len(self.findings),
                "reported_failed": self.reported_failed, "by_severity": self.counts, "grade": self.grade,
                "subjects": len(self.subjects)}


def render_charts(workdir: Path, environment: str = "embedded", *, release: str = "todo", namespace: str = "todo",
                  values_files: list[Path] | None = None, set_values: dict[str, str] | None = None) -> list[Path]:
    """Render the umbrella chart into `workdir`, one `<Kind>-<name>.yaml` per object: with `values_files` and
    `set_values` when given (a live release's own values, so the review judges what was deployed), else with
    `environment`'s values file."""
    charts.dependency_build()
    files = list(values_files) if values_files is not None else [charts.values_file(environment)]
    objects = charts.template(charts.UMBRELLA, files, set_values=set_values, release=release, namespace=namespace)
    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir(parents=True)
    paths = []
    for obj in objects:
        obj.setdefault("metadata", {}).setdefault("namespace", namespace)
        path = workdir / f"{obj['kind']}-{obj['metadata']['name']}.yaml"
        path.write_text(dump_for_go(obj))
        paths.append(path)
    return paths


class _GoSafeDumper(yaml.SafeDumper):
    """PyYAML leaves a string such as `0755583421306815` (an image's content tag, all digits by chance) unquoted,
    since YAML 1.1 reads no number in it; Go's YAML parser (kube-score's) reads a float and rejects the label."""


def _quoted_if_number_like(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    number_like = any(c.isdigit() for c in value) and all(c in "0123456789abcdefABCDEF._+-xXoO" for c in value)
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="'" if number_like else None)


_GoSafeDumper.add_representer(str, _quoted_if_number_like)


def dump_for_go(obj: object) -> str:
    """YAML that Go's parsers read back with the same types (number-like strings quoted; quoting more is harmless)."""
    return yaml.dump(obj, Dumper=_GoSafeDumper, sort_keys=False)


def _object_of(path: str) -> str:
    """`Deployment-todo-backend.yaml` → `Deployment/todo-backend`."""
    kind, _, name = Path(path).stem.partition("-")
    return f"{kind}/{name}"


def checkov(directory: Path, framework: str, *, target_of) -> AnalyzerRun:
    """Run the pinned checkov on `directory` for one framework (dockerfile | kubernetes)."""
    exe = toolcache.checkov()
    # --skip-download: no platform calls (no network here; the checks themselves ship with checkov).
    cmd = [exe, "--directory", directory, "--framework", framework, "--output", "json", "--quiet", "--compact", "--skip-download"]
    begun = time.monotonic()
    proc = run(cmd, check=False, timeout=600, quiet=True)
    if proc.returncode not in (0, 1):
        raise CommandError([str(c) for c in cmd], proc.returncode, (proc.stderr or proc.stdout)[-2000:],
                           f"reinstall checkov: remove {exe.parent.parent} and run again")
    data = json.loads(proc.stdout or "{}")
    reports = data if isinstance(data, list) else [data]
    findings, passed, reported_failed, subjects = [], 0, 0, set()
    for report in reports:
        summary = report.get("summary", report)
        passed += int(summary.get("passed", 0))
        reported_failed += int(summary.get("failed", 0))
        results = report.get("results") or {}
        subjects.update(target_of(c["file_path"]) for c in results.get("passed_checks", []) + results.get("failed_checks", []))
        for failed in results.get("failed_checks", []):
            target = target_of(failed["file_path"])
            kind = target.split("/", 1)[0]
            findings.append(Finding(
                "checkov", failed["check_id"], grade(failed["check_id"], kind), target, failed["check_name"],
                failed.get("guideline") or "",
                details={"lines": failed.get("file_line_range"), "resource": failed.get("resource")}))
    return AnalyzerRun(f"checkov-{framework}", versions.CHECKOV, str(directory), " ".join(str(c) for c in cmd),
                       round(time.monotonic() - begun, 1), passed, findings, reported_failed, sorted(subjects))


def review_dockerfiles(directory: Path = DOCKERFILES) -> AnalyzerRun:
    """checkov's Dockerfile checks on every Dockerfile under dockerfiles/ (app and base images)."""
    prefix = directory.relative_to(REPO) if directory.is_relative_to(REPO) else directory
    return checkov(directory, "dockerfile", target_of=lambda p: f"{prefix}/{p.lstrip('/')}")


def kube_score(files: list[Path]) -> AnalyzerRun:
    """kube-score on the rendered objects (all at once: it matches Services, HPAs, PDBs, NetworkPolicies to pods)."""
    exe = toolcache.kube_score()
    kube_minor = ".".join(versions.KUBERNETES.split(".")[:2])
    cmd = [exe, "score", "--output-format", "json", "--kubernetes-version", kube_minor, *files]
    begun = time.monotonic()
    proc = run(cmd, check=False, timeout=300, quiet=True)
    if proc.returncode not in (0, 1):
        raise CommandError([str(c) for c in cmd[:5]], proc.returncode, (proc.stderr or proc.stdout)[-2000:],
                           f"rebuild kube-score: remove {exe.parent} and run again")
    findings, passed, subjects = [], 0, []
    for obj in json.loads(proc.stdout or "[]"):
        kind = obj["type_meta"]["kind"]
        name = obj["object_meta"]["name"]
        subjects.append(f"{kind}/{name}")
        for check in obj.get("checks") or []:
            if check.get("skipped"):
                continue
            if check["grade"] >= 7:  # 10 all OK, 7 almost OK
                passed += 1
                continue
            tool_grade = "CRITICAL" if check["grade"] <= 1 else "WARNING"
            check_id = check["check"]["id"]
            for comment in check.get("comments") or [{"summary": check["check"]["name"], "path": "", "description": ""}]:
                target = f"{kind}/{name}" + (f"/{comment['path']}" if comment.get("path") else "")
                findings.append(Finding("kube-score", check_id, grade(check_id, kind, tool_grade), target,
                                        comment.get("summary") or check["check"]["name"], comment.get("description") or "",
                                        details={"kube_score_grade": tool_grade}))
    shown = " ".join(str(c) for c in cmd[: -len(files)]) + f" <{len(files)} files>"
    return AnalyzerRun("kube-score", versions.KUBE_SCORE, f"{len(files)} rendered objects", shown,
                       round(time.monotonic() - begun, 1), passed, findings, None, sorted(subjects))


def review_charts(workdir: Path, environment: str = "embedded", *, namespace: str = "todo", release: str = "todo",
                  values_files: list[Path] | None = None, set_values: dict[str, str] | None = None) -> list[AnalyzerRun]:
    """checkov's Kubernetes checks and kube-score on the umbrella chart rendered as `release` was installed
    (its values files and --set values), or with `environment`'s values file when no release is given."""
    files = render_charts(workdir, environment, release=release, namespace=namespace, values_files=values_files, set_values=set_values)
    shown = " + ".join(Path(p).name for p in values_files) if values_files is not None else f"values-{environment}.yaml"
    subject = f"charts/{charts.UMBRELLA} + {shown} ({len(files)} objects)"
    runs = [checkov(workdir, "kubernetes", target_of=_object_of), kube_score(files)]
    for analyzer_run in runs:
        analyzer_run.subject = subject
    return runs


def merge_duplicates(findings: list[Finding]) -> list[Finding]:
    """One finding per (tool, check, target): kube-score repeats a check per comment line."""
    seen: dict[tuple[str, str, str], Finding] = {}
    for finding in findings:
        key = (finding.tool, finding.check_id, finding.target)
        if key in seen:
            if finding.message not in seen[key].message:
                seen[key].message += "; " + finding.message
        else:
            seen[key] = finding
    return list(seen.values())


