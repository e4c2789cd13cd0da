"""deployproof.runner: the subprocess runner's errors."""

from __future__ import annotations

import sys

import pytest

from deployproof.errors import CommandError
from deployproof.runner import run


def test_runner_raises_with_the_stderr_tail_and_the_fix():
    with pytest.raises(CommandError) as error:
        run([sys.executable, "-c", "import sys; sys.stderr.write('disk full\\n'); sys.exit(3)"], fix="free some space", quiet=True)
    assert error.value.returncode == 3 and "disk full" in str(error.value) and "free some space" in str(error.value)


def test_runner_reports_a_missing_program_clearly():
    with pytest.raises(CommandError) as error:
        run(["definitely-not-installed-xyz"], quiet=True)
    assert error.value.returncode == 127 and "not found" in str(error.value)
