"""deployproof.waits: the wait helper's timeout message."""

from __future__ import annotations

import pytest

from deployproof.errors import WaitTimeout
from deployproof.waits import poll_until


def test_wait_timeout_names_what_was_awaited_and_what_was_seen():
    with pytest.raises(WaitTimeout) as error:
        poll_until(lambda: (False, "phase=Pending"), description="pod web-0 Ready", timeout=0.3)
    assert "pod web-0 Ready" in str(error.value) and "phase=Pending" in str(error.value)
