"""The success-criteria report's verdicts, the wait helper's timeout message, the runner's errors."""

from __future__ import annotations

import sys

import pytest

from deployproof.errors import CommandError, WaitTimeout
from deployproof.report import Evidence, Report, render_table
from deployproof.runner import run
from deployproof.waits import poll_until


def test_a_criterion_without_a_passing_test_is_unproven_not_passed():
    report = Report()
    report.add(["SC-1"], Evidence("t1", "passed", 1.0, {"restarts": 0}))
    report.add(["SC-2"], Evidence("t2", "skipped", 0.0))
    report.add(["SC-5"], Evidence("t3", "passed", 1.0))
    report.add(["SC-5"], Evidence("t4", "failed", 1.0, message="boom"))
    verdicts = {r.criterion: r.verdict for r in report.results(["SC-1", "SC-2", "SC-5", "SC-6"])}
    assert verdicts == {"SC-1": "passed", "SC-2": "unproven", "SC-5": "failed", "SC-6": "unproven"}


def test_report_files_and_table(tmp_path):
    report = Report()
    report.add(["SC-6"], Evidence("t", "passed", 2.0, {"deploy_s": 95.2}))
    paths = report.write(tmp_path, ["SC-6"])
    assert '"deploy_s": 95.2' in paths["json"].read_text()
    assert "**passed**" in paths["markdown"].read_text()
    assert "deploy_s=95.2" in render_table(report.results(["SC-6"]))


def test_wait_timeout_names_what_was_awaited_and_what_was_seen():
    with pytest.raises(WaitTimeout) as error:
        poll_until(lambda: (False, "phase=Pending"), description="pod web-0 Ready", timeout=0.3)
    assert "pod web-0 Ready" in str(error.value) and "phase=Pending" in str(error.value)


def test_runner_raises_with_the_stderr_tail_and_the_fix():
    with pytest.raises(CommandError) as error:
        run([sys.executable, "-c", "import sys; sys.stderr.write('disk full\\n'); sys.exit(3)"], fix="free some space", quiet=True)
    assert error.value.returncode == 3 and "disk full" in str(error.value) and "free some space" in str(error.value)


def test_runner_reports_a_missing_program_clearly():
    with pytest.raises(CommandError) as error:
        run(["definitely-not-installed-xyz"], quiet=True)
    assert error.value.returncode == 127 and "not found" in str(error.value)
