"""Property-based fuzzing of the REST API from its own OpenAPI document (schemathesis + Hypothesis), against a
real server on real PostgreSQL: valid and invalid requests alike never get a 5xx, and another user's tasks are
never touched. Bounded: FUZZ_EXAMPLES cases per generation mode (default 400, ~10 s each), no shrinking, no example database."""

from __future__ import annotations

import os
import time

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.configuration import set_hypothesis_home_dir
from schemathesis import GenerationMode

from backend_testkit.tokens import hs256_token

FUZZ_EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "400"))


@pytest.fixture(autouse=True)
def hypothesis_home(tmp_path_factory):
    """Hypothesis's caches go to a temp folder, not `.hypothesis/` in whatever directory pytest ran from."""
    set_hypothesis_home_dir(tmp_path_factory.mktemp("hypothesis"))


@pytest.fixture
def victim_tasks(other_api) -> list[dict]:
    other_api.create("victim one", "must survive the fuzzing")
    other_api.create("victim two")
    return other_api.client.get(other_api.tasks()).json()


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=["valid", "invalid"])
def test_fuzzed_requests_never_get_a_5xx_nor_touch_another_user(hs_server, api, other_api, victim_tasks, mode):
    raw_schema = httpx.get(f"{hs_server.url}/openapi.json", trust_env=False).json()
    schema = schemathesis.openapi.from_dict(raw_schema)
    headers = {"Authorization": f"Bearer {hs256_token(api.user_id)}"}
    own = {"id": api.create("fuzz target")["id"]}
    cases = schema.as_strategy(mode, path_parameters={"user_id": api.user_id})
    seen: list[tuple[str, str, int]] = []
    started = time.monotonic()

    @settings(max_examples=FUZZ_EXAMPLES, deadline=None, database=None, phases=[Phase.explicit, Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(case=cases, aim_at_own_task=st.booleans())
    def fuzz(case, aim_at_own_task: bool) -> None:
        if "task_id" in (case.path_parameters or {}) and aim_at_own_task:
            if api.client.get(api.tasks(f"/{own['id']}")).status_code == 404:  # deleted by an earlier case
                own["id"] = api.create("fuzz target")["id"]
            case.path_parameters["task_id"] = own["id"]
        case.path_parameters["user_id"] = api.user_id  # negative mode may mutate it; the caller stays the caller
        response = case.call(base_url=hs_server.url, headers=headers, timeout=30)
        seen.append((case.method, case.operation.path, response.status_code))
        assert response.status_code < 500, f"{case.method} {case.formatted_path} -> {response.status_code}: {response.text[:500]}"
        assert response.headers.get("x-request-id") and response.headers.get("x-served-by")

    fuzz()
    elapsed = time.monotonic() - started
    assert other_api.client.get(other_api.tasks()).json() == victim_tasks, "another user's tasks changed"
    operations = {(method, path) for method, path, _ in seen}
    statuses = sorted({status for _, _, status in seen})
    print(f"\nfuzz[{mode.value}]: {len(seen)} requests over {len(operations)} operations in {elapsed:.1f}s, statuses {statuses}")
    assert len(operations) >= 6, operations  # every task route and chat got exercised
