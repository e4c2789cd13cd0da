"""deployproof.progress: progress lines through the `deployproof` logger, with elapsed time and step durations."""

from __future__ import annotations

import io
import logging
import re

import pytest

from deployproof import progress


@pytest.fixture
def progress_logger():
    """The `deployproof` logger with no handler (the session's live one is put back afterwards, with level and propagation)."""
    logger = logging.getLogger(progress.LOGGER_NAME)
    saved = (list(logger.handlers), logger.level, logger.propagate, list(progress._attached))
    logger.handlers[:] = []
    progress._attached.clear()
    yield logger
    logger.handlers[:] = saved[0]
    logger.setLevel(saved[1])
    logger.propagate = saved[2]
    progress._attached[:] = saved[3]


def _shown(verbosity: int) -> tuple[io.StringIO, logging.Handler]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    progress.attach(handler, level=logging.WARNING if verbosity < 0 else logging.INFO)
    return stream, handler


def test_a_step_is_announced_then_reported_with_its_duration_and_elapsed_time(progress_logger):
    stream, _ = _shown(0)
    timings: dict[str, float] = {}
    with progress.step("start etcd", timings):
        progress.say("etcd is listening")
    lines = stream.getvalue().splitlines()
    assert [re.sub(r"^\[\s*\d+\.\ds\] ", "", line) for line in lines][:2] == ["▶ start etcd …", "etcd is listening"]
    assert re.fullmatch(r"\[\s*\d+\.\ds\] ✓ start etcd \(\d+\.\ds\)", lines[2])
    assert set(timings) == {"start etcd"}


def test_a_failed_step_says_so_at_error_level_and_the_error_goes_on(progress_logger):
    stream, _ = _shown(-1)
    with pytest.raises(RuntimeError), progress.step("start kubelet"):
        raise RuntimeError("boom")
    assert "▶" not in stream.getvalue()  # quiet: only warnings and errors
    assert re.search(r"error: ✗ start kubelet failed after \d+\.\ds", stream.getvalue())


def test_lines_come_from_the_calling_modules_logger(progress_logger):
    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = records.append  # type: ignore[method-assign]
    progress.attach(handler)
    from deployproof.runner import run

    run(["true"])
    progress.say("from a test module")
    assert [r.name for r in records] == ["deployproof.runner", "deployproof"]


def test_cli_logging_goes_to_stderr_and_quiet_shows_warnings_only(progress_logger, capsys):
    progress.configure_cli_logging(-1)
    progress.say("building")
    progress.say("disk almost full", logging.WARNING)
    progress.configure_cli_logging(0)  # replaces the handler: no line twice
    progress.say("built")
    err = capsys.readouterr().err
    assert "building" not in err and "warning: disk almost full" in err
    assert err.count("built") == 1 and progress_logger.propagate is False
