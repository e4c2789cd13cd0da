"""Bounds the frontend keeps on its own, against the real server (`node server.js` from the standalone copy):
body size and JSON nesting before the proxy forwards, a clean 431 for oversized headers, rate limiting on
sign-in keyed by the socket address (X-Forwarded-For only from TRUSTED_PROXIES), and a burst of sign-ups held
to bounded memory by the password-hashing limit. No backend runs here: its port is closed, so anything the proxy
did forward would come back as 503."""

from __future__ import annotations

import socket
import subprocess
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from frontend_support import free_port, frontend_env, migrate, start_frontend

MiB = 1024 * 1024


@pytest.fixture(scope="module")
def limits_db(app_dir, postgres):
    db = postgres.create_database("todo_limits")
    migrate(app_dir, db)
    return db


def frontend_with(app_dir, db, logdir, **overrides):
    env = frontend_env(db, free_port(), f"http://127.0.0.1:{free_port()}")
    for name, value in overrides.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return start_frontend(app_dir, env, logdir)


@pytest.fixture(scope="module")
def fe(app_dir, limits_db, logdir):
    with frontend_with(app_dir, limits_db, logdir) as frontend:
        yield frontend


def assert_json_error(response: httpx.Response, status: int, error: str) -> None:
    assert response.status_code == status, f"{response.status_code}: {response.text[:300]}"
    assert response.headers["content-type"].startswith("application/json"), response.headers
    assert response.json()["error"] == error, response.text


# --------------------------------------------------------------------------- body, nesting, headers

@pytest.mark.parametrize("path", ["/api/u1/tasks", "/mcp", "/api/auth/sign-up/email"])
def test_oversized_body_is_413_before_forwarding(fe, path):
    big = b'{"title": "' + b"a" * 70_000 + b'"}'
    assert_json_error(httpx.post(f"{fe.url}{path}", content=big, headers={"content-type": "application/json"}),
                      413, "body_too_large")

    def chunks():  # no Content-Length: counted while it streams
        for _ in range(20):
            yield b" " * 8192

    assert_json_error(httpx.post(f"{fe.url}{path}", content=chunks(), headers={"content-type": "application/json"}),
                      413, "body_too_large")


@pytest.mark.parametrize("path", ["/api/u1/tasks", "/mcp", "/api/auth/sign-in/email"])
def test_deeply_nested_json_is_400_before_forwarding(fe, path):
    body = b'{"title": ' + b"[" * 5000 + b"]" * 5000 + b"}"
    assert_json_error(httpx.post(f"{fe.url}{path}", content=body, headers={"content-type": "application/json"}),
                      400, "json_too_deep")
    inside_a_string = b'{"title": "' + b"[" * 5000 + b'"}'
    assert httpx.post(f"{fe.url}/api/u1/tasks", content=inside_a_string,
                      headers={"content-type": "application/json"}).status_code == 503  # forwarded: backend down


def raw_request(port: int, request: bytes) -> bytes:
    """Send `request` whole, then read the answer until the server closes (a reset raises)."""
    with socket.create_connection(("127.0.0.1", port), timeout=15) as sock:
        sock.sendall(request)
        sock.shutdown(socket.SHUT_WR)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    return answer


@pytest.mark.parametrize("size", [20_000, 300_000])
def test_oversized_header_is_a_clean_431(fe, size):
    answer = raw_request(fe.port, b"GET /api/health HTTP/1.1\r\nHost: x\r\nX-Padding: " + b"a" * size + b"\r\n\r\n")
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 431"), answer[:200]
    assert b"application/json" in head and b'"headers_too_large"' in body
    # and the server is fine afterwards
    assert httpx.get(f"{fe.url}/api/health").status_code == 200


def test_malformed_request_line_is_a_clean_400(fe):
    answer = raw_request(fe.port, b"GARBAGE\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 400"), answer[:200]


# --------------------------------------------------------------------------- rate limiting

def sign_in_burst(url: str, attempts: int, forwarded_for=lambda i: None) -> list[int]:
    """Sign-in attempts one after another; every 429 must be a JSON refusal with Retry-After."""
    statuses = []
    with httpx.Client(base_url=url, timeout=30) as client:
        for i in range(attempts):
            headers = {"x-forwarded-for": forwarded_for(i)} if forwarded_for(i) else {}
            r = client.post("/api/auth/sign-in/email", headers=headers,
                            json={"email": f"nobody-{uuid.uuid4().hex[:6]}@example.test", "password": "wrong-pass-1"})
            statuses.append(r.status_code)
            if r.status_code == 429:
                assert_json_error(r, 429, "rate_limited")
                assert 1 <= int(r.headers["retry-after"]) <= 10
    return statuses


@pytest.fixture
def limited_fe(app_dir, limits_db, logdir):
    """A fresh server with the default allowances (no load-test settings): 5 sign-in attempts per 10 s per client."""
    with frontend_with(app_dir, limits_db, logdir, BETTER_AUTH_RATE_LIMIT_SIGN_IN_MAX=None,
                       BETTER_AUTH_RATE_LIMIT_MAX=None, BETTER_AUTH_RATE_LIMIT="off") as frontend:
        yield frontend


def test_a_burst_of_sign_in_attempts_gets_429(limited_fe):
    statuses = sign_in_burst(limited_fe.url, 8)
    assert statuses[:5] == [401] * 5, statuses
    assert statuses[5:] == [429] * 3, statuses
    log = limited_fe.log.read_text()
    assert "BETTER_AUTH_RATE_LIMIT=off is ignored" in log, log[-2000:]


def test_a_spoofed_forwarded_for_does_not_escape_the_limit(limited_fe):
    statuses = sign_in_burst(limited_fe.url, 8, forwarded_for=lambda i: f"203.0.113.{i + 1}, 198.51.100.{i + 7}")
    assert statuses.count(429) == 3, statuses


def test_forwarded_for_counts_only_from_a_trusted_proxy(app_dir, limits_db, logdir):
    """With TRUSTED_PROXIES=127.0.0.1 the test client *is* the proxy: each forwarded address gets its own allowance."""
    with frontend_with(app_dir, limits_db, logdir, BETTER_AUTH_RATE_LIMIT_SIGN_IN_MAX=None,
                       TRUSTED_PROXIES="10.0.0.0/8, 127.0.0.1") as frontend:
        distinct = sign_in_burst(frontend.url, 8, forwarded_for=lambda i: f"203.0.113.{i + 1}")
        assert 429 not in distinct, distinct
        # The right-most untrusted hop is the client: a prefix the client wrote itself changes nothing.
        same_client = sign_in_burst(frontend.url, 8, forwarded_for=lambda i: f"198.51.100.{i}, 192.0.2.9, 10.1.2.3")
        assert same_client.count(429) == 3, same_client


# --------------------------------------------------------------------------- password hashing under a burst

def peak_rss(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmHWM")


@pytest.mark.parametrize("concurrency", ["5"], ids=["limit-for-512Mi"])
def test_fifty_simultaneous_sign_ups_all_succeed_within_the_memory_limit(app_dir, limits_db, logdir, concurrency):
    """PASSWORD_HASH_CONCURRENCY=5 is what the default derives from the chart's 512 MiB limit
    (floor((512 - 192) / 64)); 50 sign-ups at once must all succeed and the process's peak RSS stay under 512 MiB
    (unbounded, each scrypt hash in flight holds 32 MiB: 50 at once is 1.6 GiB)."""
    with frontend_with(app_dir, limits_db, logdir, PASSWORD_HASH_CONCURRENCY=concurrency) as frontend:
        assert f"password hashing: at most {concurrency} at once (PASSWORD_HASH_CONCURRENCY)" in frontend.log.read_text()
        httpx.get(f"{frontend.url}/api/auth/get-session")  # warm the auth instance and its pool
        before = peak_rss(frontend.proc.pid)
        barrier = threading.Barrier(50)

        def sign_up(i: int) -> int:
            with httpx.Client(base_url=frontend.url, timeout=120) as client:
                barrier.wait()
                r = client.post("/api/auth/sign-up/email", json={
                    "name": f"burst {i}", "email": f"burst-{i}-{uuid.uuid4().hex[:6]}@example.test",
                    "password": "correct-horse-9"})
                return r.status_code

        started = time.monotonic()
        with ThreadPoolExecutor(max_workers=50) as pool:
            statuses = list(pool.map(sign_up, range(50)))
        elapsed = time.monotonic() - started
        peak = peak_rss(frontend.proc.pid)
        assert frontend.proc.poll() is None, "the frontend died during the burst"
        print(f"\n50 sign-ups: {statuses.count(200)} ok in {elapsed:.1f}s; peak RSS {before / MiB:.0f} -> {peak / MiB:.0f} MiB")
        assert statuses == [200] * 50, statuses
        assert peak < 512 * MiB, f"peak RSS {peak / MiB:.0f} MiB"


@pytest.mark.parametrize("cgroup_file, expected", [
    ("536870912", "5 cgroup memory limit 512 MiB"),      # the chart's 512Mi limit
    ("268435456", "1 cgroup memory limit 256 MiB"),      # tiny pod: still one at a time, never zero
    ("2147483648", "16 cgroup memory limit 2048 MiB"),   # capped
    ("max", "4 default (no cgroup memory limit)"),        # cgroup v2 without a limit
    ("9223372036854771712", "4 default (no cgroup memory limit)"),  # cgroup v1's "unlimited"
])
def test_hash_concurrency_default_comes_from_the_cgroup_memory_limit(app_dir, tmp_path, cgroup_file, expected):
    limit_file = tmp_path / "memory.max"
    limit_file.write_text(cgroup_file + "\n")
    script = (
        "import { cgroupMemoryLimit, hashConcurrency } from './lib/password-hashing.mjs';"
        f"const r = hashConcurrency({{}}, cgroupMemoryLimit([{str(limit_file)!r}]));"
        "console.log(r.limit + ' ' + r.source);"
    )
    out = subprocess.run(["node", "--input-type=module", "-e", script], cwd=app_dir, capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == expected


# --------------------------------------------------------------------------- shutdown

def test_on_sigterm_a_kept_alive_connection_is_still_served_and_told_to_close_then_the_server_exits(app_dir, limits_db, logdir):
    """A rollout's SIGTERM: a client on an open keep-alive connection gets its next answer (with Connection: close),
    not a closed socket; once the drain ends the process exits with 143."""
    import os
    import signal

    with frontend_with(app_dir, limits_db, logdir, TODO_DRAIN_ON_TERM_MS="2000") as frontend:
        with httpx.Client(base_url=frontend.url, timeout=5) as client:
            first = client.get("/api/health")
            assert first.status_code == 200 and first.headers.get("connection", "keep-alive") != "close"
            os.killpg(frontend.proc.pid, signal.SIGTERM)
            time.sleep(0.5)
            during = client.get("/api/health")  # the same pooled connection
            assert during.status_code == 200 and during.headers.get("connection") == "close", during.headers
        begun = time.monotonic()
        assert frontend.proc.wait(15) == 143
        assert time.monotonic() - begun < 10
