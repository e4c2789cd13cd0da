"""SC-5 on the live deployment: what a hostile client sends through the NodePort gets a clean JSON 4xx, never a
5xx, on REST, chat and MCP alike, and never touches another user's tasks.

The classes: text PostgreSQL cannot store (422, or a tool error in MCP), JSON nested too deep (400), a body over
the limit (413, with or without Content-Length), a header block over the limit (431), a wrong content type on
/mcp (415), malformed bytes (4xx); races on one task settle by conditional statements; GET /mcp event streams
are capped per user (429 + Retry-After). Then a bounded property-based fuzz (schemathesis, the live backend's
own OpenAPI) through the frontend's proxy: no 5xx, and another user's tasks unchanged.
Run time: ~25 s for the classes (the stream cap waits ~15 s for the streams' first ping), at most FUZZ_BUDGET_S (30 s) per fuzz mode.
"""

from __future__ import annotations

import json
import socket
import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

import httpx
import pytest

from deployproof import autoscaling, chaos
from fixtures.app import User, sign_up
from fixtures.hardening import MCP_HEADERS, live_config

pytestmark = [pytest.mark.deploy, pytest.mark.functional, pytest.mark.criterion("SC-5")]

LEAK_MARKERS = ("SQL", "INSERT", "UPDATE tasks", "psycopg", "Traceback", "sqlalchemy", "node_modules", "at async")
UNSTORABLE = {"nul": "a\u0000b", "surrogate": "\ud800 lone surrogate", "bell": "bell \u0007", "escape": "escape \u001b[31m",
              "del": "del \u007f"}
MAX_BODY_BYTES = 65536  # the chart's default for both frontend and backend (maxBodyBytes)
FUZZ_EXAMPLES = 300  # per generation mode (~35 ms each through the proxy)
FUZZ_BUDGET_S = 30  # per generation mode: cases past it are not sent
RACERS = 12


def assert_clean_4xx(response: httpx.Response, *statuses: int) -> dict:
    """The status is one of `statuses`, the body a JSON object, and nothing internal leaks; returns the body."""
    assert response.status_code in statuses, f"{response.request.method} {response.request.url.path}: " \
                                              f"{response.status_code} (wanted {statuses}): {response.text[:300]}"
    assert response.headers.get("content-type", "").startswith("application/json"), (response.headers, response.text[:200])
    body = response.json()
    assert isinstance(body, dict) and (body.get("detail") or body.get("error")), body
    assert not any(marker in response.text for marker in LEAK_MARKERS), response.text[:300]
    return body


def post_raw(app_url: str, user: User, path: str, body: bytes | object, headers: dict[str, str] | None = None) -> httpx.Response:
    """One request on a new connection, so a refused request cannot hide the next one's answer."""
    with httpx.Client(base_url=app_url, timeout=30, headers=user.headers) as client:
        return client.post(path, content=body, headers={**MCP_HEADERS, **(headers or {})})


def mcp_call(tool: str, arguments: dict) -> bytes:
    message = {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": tool, "arguments": arguments}}
    return json.dumps(message).encode()  # ensure_ascii: a lone surrogate travels as a \ud800 escape


def mcp_result(response: httpx.Response) -> dict:
    """The JSON-RPC result of a stateless MCP POST, answered as JSON or as one server-sent event."""
    assert response.status_code == 200, f"{response.status_code}: {response.text[:300]}"
    text = response.text
    if response.headers.get("content-type", "").startswith("text/event-stream"):
        text = next(line[5:] for line in text.splitlines() if line.startswith("data:"))
    return json.loads(text)["result"]


def read_head(sock: socket.socket) -> bytes:
    """The status line and headers of an HTTP/1.1 answer (and whatever of the body came with them)."""
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = sock.recv(65536)
        if not chunk:
            break
        head += chunk
    return head


def titles(app_url: str, user: User) -> list[str]:
    return [t["title"] for t in httpx.get(f"{app_url}/api/{user.user_id}/tasks", headers=user.headers, timeout=30).json()]


@pytest.mark.parametrize("text", list(UNSTORABLE.values()), ids=list(UNSTORABLE))
def test_unstorable_text_gets_422_on_rest_and_chat_and_a_tool_error_on_mcp(app_ready, user_a, text):
    before = titles(app_ready, user_a)
    for path, body in [(f"/api/{user_a.user_id}/tasks", {"title": text}),
                       (f"/api/{user_a.user_id}/tasks", {"title": "ok", "description": text}),
                       (f"/api/{user_a.user_id}/chat", {"message": f"add {text}"})]:
        detail = assert_clean_4xx(post_raw(app_ready, user_a, path, json.dumps(body).encode()), 422)
        assert "not allowed" in str(detail), detail
    for tool, arguments in [("add_task", {"title": text}), ("update_task", {"task_id": 1, "title": text})]:
        response = post_raw(app_ready, user_a, "/mcp", mcp_call(tool, arguments))
        assert not any(marker in response.text for marker in LEAK_MARKERS), response.text[:300]
        if "\ud800" in text:
            # mcp 2 parses JSON-RPC strictly: an escaped lone surrogate is a parse error before any tool runs.
            assert response.status_code == 400 and json.loads(response.text)["error"]["code"] == -32700, response.text[:300]
            continue
        result = mcp_result(response)
        assert result["isError"] is True and "not allowed" in result["content"][0]["text"], result
    assert titles(app_ready, user_a) == before, "an unstorable title was stored"


@pytest.mark.parametrize("route", ["rest", "chat", "mcp"])
def test_deep_nesting_oversized_bodies_and_malformed_bytes_get_a_json_4xx(app_ready, user_a, route):
    path = {"rest": f"/api/{user_a.user_id}/tasks", "chat": f"/api/{user_a.user_id}/chat", "mcp": "/mcp"}[route]
    nested = b'{"title": ' + b"[" * 100 + b"]" * 100 + b"}"
    assert_clean_4xx(post_raw(app_ready, user_a, path, nested), 400)
    oversized = json.dumps({"title": "x" * (MAX_BODY_BYTES + 10), "message": "x"}).encode()
    assert_clean_4xx(post_raw(app_ready, user_a, path, oversized), 413)

    def chunks():  # no Content-Length: the limit holds on what actually arrives
        for _ in range(MAX_BODY_BYTES // 4096 + 2):
            yield b" " * 4096

    assert_clean_4xx(post_raw(app_ready, user_a, path, chunks()), 413)
    for malformed in (b'{"title": "\xff\xfe", "message": "\xc3"}', b"\x00" * 64, b"{not json"):
        response = post_raw(app_ready, user_a, path, malformed)
        assert 400 <= response.status_code < 500, f"{route} {malformed[:20]!r}: {response.status_code} {response.text[:300]}"
        assert_clean_4xx(response, response.status_code)


@pytest.mark.parametrize("path", ["/api/{user}/tasks", "/mcp", "/api/auth/sign-in/email"])
def test_an_oversized_header_block_gets_a_json_431(app_ready, user_a, path):
    with httpx.Client(base_url=app_ready, timeout=30) as client:
        response = client.post(path.format(user=user_a.user_id), json={}, headers={**user_a.headers, "x-padding": "a" * 20_000})
    assert_clean_4xx(response, 431)


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"])
def test_a_wrong_content_type_on_mcp_gets_a_json_415(app_ready, user_a, content_type):
    assert_clean_4xx(post_raw(app_ready, user_a, "/mcp", mcp_call("list_tasks", {}), {"Content-Type": content_type}), 415)


def test_racing_changes_to_one_task_settle_by_conditional_updates(app_ready, user_a, figures):
    """Through the proxy and over every backend replica: parallel toggles lose none, of parallel deletes exactly
    one wins, and a change that lost to a delete is a 404, never a 5xx."""
    base = f"{app_ready}/api/{user_a.user_id}/tasks"

    def create() -> int:
        return httpx.post(base, json={"title": "raced"}, headers=user_a.headers, timeout=30).json()["id"]

    def send(method: str, url: str) -> int:
        with httpx.Client(timeout=60, headers=user_a.headers) as client:
            return client.request(method, url).status_code

    def race(*requests: tuple[str, str]) -> list[int]:
        with ThreadPoolExecutor(len(requests)) as pool:
            return list(pool.map(lambda r: send(*r), requests))

    toggled = create()
    toggles = race(*[("PATCH", f"{base}/{toggled}/complete")] * RACERS)
    final = httpx.get(f"{base}/{toggled}", headers=user_a.headers, timeout=30).json()["completed"]
    deleted = create()
    deletes = race(*[("DELETE", f"{base}/{deleted}")] * RACERS)
    contested = create()
    mixed = race(*[("DELETE", f"{base}/{contested}"), *[("PATCH", f"{base}/{contested}/complete")] * (RACERS - 1)])
    figures.update({"race_toggles": dict(sorted((str(s), toggles.count(s)) for s in set(toggles))),
                    "race_deletes": dict(sorted((str(s), deletes.count(s)) for s in set(deletes))),
                    "race_mixed": dict(sorted((str(s), mixed.count(s)) for s in set(mixed)))})
    assert toggles == [200] * RACERS and final is (RACERS % 2 == 1), f"toggles {toggles}, completed {final}: a toggle was lost"
    assert sorted(deletes) == [204] + [404] * (RACERS - 1), f"parallel deletes: {deletes} (exactly one must win)"
    assert mixed[0] == 204 and set(mixed[1:]) <= {200, 404}, f"delete racing toggles: {mixed}"


def test_get_mcp_event_streams_are_capped_per_user(k8s, release, app_ready, user_a, figures):
    """More GET /mcp streams than every backend replica together allows one user: some get a JSON 429 with
    Retry-After (the pigeonhole: the cap is per replica), none a 5xx; the rest are real event streams."""
    backend = chaos.component(release.name, "backend").workload
    per_user = int(live_config(k8s, release.namespace, backend).get("MCP_STREAMS_PER_USER", "2"))
    hpa = autoscaling.hpa_of(k8s, release.namespace, backend)
    replicas = hpa.max_replicas if hpa else k8s.apps.read_namespaced_deployment(backend, release.namespace).spec.replicas
    wanted = per_user * replicas + 1
    address = urlsplit(app_ready)
    held: list[socket.socket] = []
    try:
        # All at once, so every stream is open at the backends together. A refusal comes back at once; an
        # accepted stream's head only with its first byte (the SDK's keep-alive ping, ~15 s: the frontend's
        # server flushes the head with the body), so reading the heads takes that long.
        for _ in range(wanted):
            sock = socket.create_connection((address.hostname, address.port), timeout=60)
            held.append(sock)
            sock.sendall(f"GET /mcp HTTP/1.1\r\nHost: {address.netloc}\r\nAuthorization: Bearer {user_a.jwt}\r\n"
                         "Accept: text/event-stream\r\n\r\n".encode())
        with ThreadPoolExecutor(wanted) as pool:
            heads = list(pool.map(read_head, held))
    finally:
        for sock in held:
            sock.close()
    statuses = [int(head.split(b" ", 2)[1]) for head in heads]
    figures.update({"mcp_streams_opened": wanted, "mcp_streams_per_user": per_user, "mcp_stream_statuses":
                    {str(s): statuses.count(s) for s in sorted(set(statuses))}})
    assert set(statuses) <= {200, 429}, f"GET /mcp x{wanted}: {statuses}\n{heads}"
    assert 429 in statuses, f"{wanted} streams for one user over at most {replicas} replicas x {per_user}: none refused ({statuses})"
    refused = heads[statuses.index(429)].lower()
    assert b"retry-after:" in refused and b"application/json" in refused, refused


# --- property-based fuzz through the frontend's proxy -----------------------------------------------------

@pytest.fixture(scope="module")
def live_openapi(k8s, release) -> dict:
    """The OpenAPI document of the backend that is running (read inside one of its pods: not proxied)."""
    from kubernetes.stream import stream

    pod = chaos.serving_pods(k8s, release.namespace, chaos.component(release.name, "backend"))[0]
    command = ["python", "-c", "import urllib.request; print(urllib.request.urlopen('http://127.0.0.1:8000/openapi.json').read().decode())"]
    out = stream(k8s.core.connect_get_namespaced_pod_exec, pod.metadata.name, release.namespace, command=command,
                 stderr=False, stdin=False, stdout=True, tty=False, _preload_content=True)
    return json.loads(out)


@pytest.fixture(scope="module")
def fuzz_users(app_ready) -> tuple[User, User]:
    """The fuzzing user, and another one whose tasks must come through unchanged."""
    fuzzer, victim = sign_up(app_ready, "fuzzer"), sign_up(app_ready, "victim")
    for title in ("victim one", "victim two"):
        httpx.post(f"{app_ready}/api/{victim.user_id}/tasks", json={"title": title, "description": "must survive"},
                   headers=victim.headers, timeout=30).raise_for_status()
    return fuzzer, victim


@pytest.mark.parametrize("mode", ["positive", "negative"], ids=["valid", "invalid"])
def test_fuzzed_requests_through_the_proxy_never_get_a_5xx_nor_touch_another_user(app_ready, live_openapi, fuzz_users, mode,
                                                                                  tmp_path, figures):
    import schemathesis
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis import strategies as st
    from hypothesis.configuration import set_hypothesis_home_dir
    from schemathesis import GenerationMode

    set_hypothesis_home_dir(tmp_path / "hypothesis")
    fuzzer, victim = fuzz_users
    victim_url = f"{app_ready}/api/{victim.user_id}/tasks"
    before = httpx.get(victim_url, headers=victim.headers, timeout=30).json()
    # What the frontend proxies: /api/... (tasks, chat). The backend's /healthz and /readyz are not exposed there.
    schema = schemathesis.openapi.from_dict(live_openapi).include(path_regex="^/api/")
    cases = schema.as_strategy(GenerationMode(mode), path_parameters={"user_id": fuzzer.user_id})
    own = {"id": httpx.post(f"{app_ready}/api/{fuzzer.user_id}/tasks", json={"title": "fuzz target"}, headers=fuzzer.headers,
                            timeout=30).json()["id"]}
    seen: list[tuple[str, str, int]] = []
    failures: list[str] = []
    started = time.monotonic()

    @settings(max_examples=FUZZ_EXAMPLES, deadline=None, database=None, phases=[Phase.explicit, Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(case=cases, aim_at_own_task=st.booleans(), aim_at_victims_task=st.booleans())
    def fuzz(case, aim_at_own_task: bool, aim_at_victims_task: bool) -> None:
        if time.monotonic() - started > FUZZ_BUDGET_S:
            return  # bounded in time as well as in examples
        if "task_id" in (case.path_parameters or {}):
            if aim_at_victims_task:  # the victim's real task id, under the fuzzer's own path and token
                case.path_parameters["task_id"] = before[0]["id"]
            elif aim_at_own_task:
                case.path_parameters["task_id"] = own["id"]
        case.path_parameters["user_id"] = fuzzer.user_id  # the caller stays the caller
        response = case.call(base_url=app_ready, headers=fuzzer.headers, timeout=60)
        seen.append((case.method, case.operation.path, response.status_code))
        content_type = response.headers.get("content-type") or [""]  # schemathesis: header name -> its values
        json_answer = (content_type if isinstance(content_type, str) else content_type[0]).startswith("application/json")
        if response.status_code >= 500 or (response.status_code >= 400 and not json_answer):
            failures.append(f"{case.method} {case.formatted_path} -> {response.status_code} "
                            f"{content_type}: {response.text[:300]}")
        if response.status_code == 204 and case.method == "DELETE":
            own["id"] = httpx.post(f"{app_ready}/api/{fuzzer.user_id}/tasks", json={"title": "fuzz target"},
                                   headers=fuzzer.headers, timeout=30).json()["id"]

    fuzz()
    elapsed = time.monotonic() - started
    after = httpx.get(victim_url, headers=victim.headers, timeout=30).json()
    operations = {(method, path) for method, path, _ in seen}
    statuses = sorted({status for _, _, status in seen})
    figures.update({f"fuzz_{mode}_requests": len(seen), f"fuzz_{mode}_operations": len(operations),
                    f"fuzz_{mode}_statuses": statuses, f"fuzz_{mode}_s": round(elapsed, 1)})
    assert not failures, f"{len(failures)} fuzzed requests got a 5xx or a non-JSON answer, e.g.:\n" + "\n".join(failures[:5])
    assert after == before, "another user's tasks changed under the fuzzing"
    assert len(operations) >= 6, f"the fuzz reached too few operations: {sorted(operations)}"
