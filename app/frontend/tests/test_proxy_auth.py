"""Auth (Better Auth + JWT plugin), health routes and the backend proxy, without a browser or the real backend.

The backend is a small echo server started here on a port chosen up front; before it starts that port is
closed, which is how the 503 (backend unavailable) cases are tested.
"""

from __future__ import annotations

import base64
import json
import os
import socket
import subprocess
import threading
import time
import uuid
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from frontend_support import free_port, frontend_env, migrate, start_frontend


def b64json(part: str) -> dict:
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


class EchoHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def _answer(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        body = self.rfile.read(length) if length else b""
        if self.headers.get("transfer-encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.rfile.readline().strip() or b"0", 16)
                if size == 0:
                    self.rfile.readline()
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            body = b"".join(chunks)
        if self.path.startswith("/mcp") and "text/event-stream" in (self.headers.get("accept") or ""):
            payload = b'event: message\ndata: {"jsonrpc":"2.0","id":1,"result":{}}\n\n'
            self.send_response(200)
            self.send_header("content-type", "text/event-stream")
            self.send_header("mcp-session-id", "sess-123")
            self.send_header("x-served-by", "echo-backend")
            self.send_header("content-length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
            return
        out = json.dumps({
            "method": self.command,
            "path": self.path,
            "headers": {k.lower(): v for k, v in self.headers.items()},
            "body": body.decode("utf-8", "replace"),
        }).encode()
        status = 201 if self.command == "POST" else 200
        if self.path.startswith("/readyz"):
            status = 503
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("x-served-by", "echo-backend")
        self.send_header("x-internal-secret", "must-not-leak")
        self.send_header("content-length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)

    do_GET = do_POST = do_PATCH = do_DELETE = do_PUT = _answer

    def log_message(self, *args) -> None:  # quiet
        pass


@contextmanager
def echo_backend(port: int):
    server = ThreadingHTTPServer(("127.0.0.1", port), EchoHandler)
    t = threading.Thread(target=server.serve_forever, daemon=True)
    t.start()
    try:
        yield
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def env_db(app_dir, postgres):
    db = postgres.create_database("todo_auth")
    first = migrate(app_dir, db)
    return db, first


@pytest.fixture(scope="module")
def fe(app_dir, env_db, logdir):
    db, _ = env_db
    backend_port = free_port()  # nothing listens here until echo_backend() is started
    env = frontend_env(db, free_port(), f"http://127.0.0.1:{backend_port}")
    with start_frontend(app_dir, env, logdir) as frontend:
        frontend.backend_port = backend_port
        yield frontend


def sign_up(base: str, name: str = "Ada") -> tuple[httpx.Client, dict]:
    client = httpx.Client(base_url=base, timeout=30)
    email = f"{name.lower()}-{uuid.uuid4().hex[:8]}@example.test"
    r = client.post("/api/auth/sign-up/email", json={"name": name, "email": email, "password": "correct-horse-9"})
    assert r.status_code == 200, r.text
    user = r.json()["user"]
    assert user["email"] == email
    return client, user


# --------------------------------------------------------------------------- migrations

def test_migrate_creates_tables_and_is_idempotent(app_dir, env_db, postgres):
    db, first = env_db
    assert "create table user" in first and "create table jwks" in first, first
    again = migrate(app_dir, db)
    assert "up to date" in again, again
    out = subprocess.run(["psql", db, "-Atc", "select tablename from pg_tables where schemaname='public' order by 1"],
                         capture_output=True, text=True, check=True).stdout.split()
    for table in ("user", "session", "account", "verification", "jwks"):
        assert table in out, out


BETTER_AUTH_1_3_DATABASE = Path(__file__).with_name("better_auth_1_3.sql")
BETTER_AUTH_1_3_KID = "R2iwvUudOXPgGd0ji1XWTldBlxAwdbWu"  # the signing key in that file


def test_migrate_upgrades_a_better_auth_1_3_database(app_dir, postgres, logdir):
    """What the chart's pre-upgrade Job does to a release made before issue 16: add 1.7's columns, keep the key."""
    db = postgres.create_database("todo_better_auth_1_3")
    subprocess.run(["psql", db, "-v", "ON_ERROR_STOP=1", "-qf", str(BETTER_AUTH_1_3_DATABASE)],
                   capture_output=True, text=True, check=True)
    out = migrate(app_dir, db)
    assert "create table" not in out and "add columns to jwks" in out, out
    columns = subprocess.run(["psql", db, "-Atc", "select column_name from information_schema.columns where table_name='jwks'"],
                             capture_output=True, text=True, check=True).stdout.split()
    assert {"expiresAt", "alg", "crv"} <= set(columns), columns
    assert "up to date" in migrate(app_dir, db)
    # Tokens issued before the upgrade stay valid: the old key is still published and still signs.
    with start_frontend(app_dir, frontend_env(db, free_port(), "http://127.0.0.1:9"), logdir) as frontend:
        assert BETTER_AUTH_1_3_KID in {k["kid"] for k in httpx.get(f"{frontend.url}/api/auth/jwks").json()["keys"]}
        client, _user = sign_up(frontend.url, "Upgraded")
        token = client.get("/api/auth/token").json()["token"]
        assert b64json(token.split(".")[0])["kid"] == BETTER_AUTH_1_3_KID


def test_migrate_names_missing_database_url(app_dir):
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    r = subprocess.run(["node", "migrate.mjs"], cwd=app_dir, env=env, capture_output=True, text=True, timeout=60)
    assert r.returncode != 0
    assert "DATABASE_URL" in r.stderr


# --------------------------------------------------------------------------- start-up checks

@pytest.mark.parametrize("secret", [None, "too-short"])
def test_server_refuses_to_start_without_a_good_secret(app_dir, env_db, secret):
    env = frontend_env(env_db[0], free_port(), "http://127.0.0.1:9")
    if secret is None:
        env.pop("BETTER_AUTH_SECRET")
    else:
        env["BETTER_AUTH_SECRET"] = secret
    r = subprocess.run(["node", "server.js"], cwd=app_dir, env=env, capture_output=True, text=True, timeout=60)
    assert r.returncode != 0
    assert "BETTER_AUTH_SECRET" in r.stdout + r.stderr


# --------------------------------------------------------------------------- health

def test_health_never_calls_the_backend(fe):
    r = httpx.get(f"{fe.url}/api/health")
    assert r.status_code == 200
    assert r.json() == {"status": "ok"}


def test_backend_health_is_503_with_reason_when_backend_is_down(fe):
    r = httpx.get(f"{fe.url}/api/backend-health")
    assert r.status_code == 503
    assert r.headers["retry-after"] == "5"
    body = r.json()
    assert body["error"] == "backend_unavailable"
    assert "ECONNREFUSED" in body["reason"], body


# --------------------------------------------------------------------------- auth / JWT

def test_sign_up_token_is_a_jwt_signed_by_a_key_in_jwks(fe):
    client, user = sign_up(fe.url)
    r = client.get("/api/auth/token")
    assert r.status_code == 200, r.text
    token = r.json()["token"]
    head, payload, _sig = token.split(".")
    header, claims = b64json(head), b64json(payload)
    assert header["alg"] == "EdDSA"
    assert claims["sub"] == user["id"]
    assert claims["exp"] > claims["iat"]
    jwks = httpx.get(f"{fe.url}/api/auth/jwks").json()
    kids = {k["kid"] for k in jwks["keys"]}
    assert header["kid"] in kids
    key = next(k for k in jwks["keys"] if k["kid"] == header["kid"])
    assert key["kty"] == "OKP" and key["crv"] == "Ed25519"
    assert "d" not in key  # never the private part

    # The signature verifies with the published key (PyJWT, when installed).
    jwt = pytest.importorskip("jwt")
    pub = jwt.PyJWK.from_dict(key)
    decoded = jwt.decode(token, pub.key, algorithms=["EdDSA"], options={"verify_aud": False})
    assert decoded["sub"] == user["id"]


def test_token_needs_a_session(fe):
    assert httpx.get(f"{fe.url}/api/auth/token").status_code == 401


def test_sign_in_and_sign_out(fe):
    client, user = sign_up(fe.url, "Grace")
    fresh = httpx.Client(base_url=fe.url, timeout=30)
    r = fresh.post("/api/auth/sign-in/email", json={"email": user["email"], "password": "correct-horse-9"})
    assert r.status_code == 200, r.text
    assert fresh.get("/api/auth/get-session").json()["user"]["id"] == user["id"]
    bad = httpx.post(f"{fe.url}/api/auth/sign-in/email", json={"email": user["email"], "password": "wrong-pass-1"})
    assert bad.status_code == 401
    r = fresh.post("/api/auth/sign-out", json={}, headers={"origin": fe.url})
    assert r.status_code == 200, r.text
    assert fresh.get("/api/auth/token").status_code == 401


# --------------------------------------------------------------------------- proxy

def test_proxy_is_503_with_retry_after_when_backend_is_down(fe):
    """No backend answering (no Ready pod behind the Service) is temporary: 503 + Retry-After, never a 502."""
    client, user = sign_up(fe.url, "Linus")
    for response in (client.get(f"/api/{user['id']}/tasks"),
                     client.post(f"/api/{user['id']}/tasks", json={"title": "x"}),
                     httpx.post(f"{fe.url}/mcp", json={}),
                     httpx.get(f"{fe.url}/mcp", headers={"accept": "text/event-stream"})):
        assert response.status_code == 503, response.text
        assert response.headers["retry-after"] == "5"
        assert response.headers["content-type"].startswith("application/json")
        body = response.json()
        assert body["error"] == "backend_unavailable" and body["retry_after_seconds"] == 5
        assert "ECONNREFUSED" in body["reason"]


def test_a_refused_connect_is_retried_on_a_new_connection(fe):
    """Nothing was sent when a connect fails, so the proxy tries again (100 ms, then 400 ms later): a backend
    that starts listening 250 ms after the request gets it, even a POST; one that never does is a 503 after both."""
    client, user = sign_up(fe.url, "Grace")
    began = time.monotonic()
    refused = client.post(f"/api/{user['id']}/tasks", json={"title": "refused"})
    assert refused.status_code == 503 and "ECONNREFUSED" in refused.json()["reason"], refused.text
    assert time.monotonic() - began >= 0.45, "the proxy answered before its two retries"

    done = threading.Event()

    def backend_listening_later():
        time.sleep(0.25)
        with echo_backend(fe.backend_port):
            done.wait(10)

    late = threading.Thread(target=backend_listening_later, daemon=True)
    late.start()
    try:
        response = client.post(f"/api/{user['id']}/tasks", json={"title": "late backend"})
    finally:
        done.set()
        late.join(5)
    assert response.status_code == 201, response.text
    assert "late backend" in response.json()["body"], response.text


def fill_accept_queue(port: int) -> list[socket.socket]:
    """Connect until the kernel drops our SYNs (the listener's accept queue is full); return the queued sockets."""
    queued: list[socket.socket] = []
    for _ in range(8):
        try:
            queued.append(socket.create_connection(("127.0.0.1", port), timeout=0.5))
        except TimeoutError:
            return queued
    raise AssertionError(f"port {port} kept accepting connections: its accept queue never filled")


def test_connects_that_time_out_are_retried_and_bounded(fe):
    """A backend address that takes no connection (a full accept queue drops the SYNs: what a stale endpoint or a
    Service with no Ready endpoint looks like) costs the 3 s connect timeout per attempt: three attempts and their
    pauses, then a 503 (with Retry-After) in about 9.5 s, never a hang until the client gives up."""
    client, user = sign_up(fe.url, "Hedy")
    listener = socket.create_server(("127.0.0.1", fe.backend_port), backlog=0)
    queued = fill_accept_queue(fe.backend_port)
    try:
        began = time.monotonic()
        response = client.get(f"/api/{user['id']}/tasks")
        took = time.monotonic() - began
    finally:
        for s in queued:
            s.close()
        listener.close()
    assert response.status_code == 503 and "UND_ERR_CONNECT_TIMEOUT" in response.json()["reason"], response.text
    # undici runs timeouts of 1 s and more on a coarse clock (up to ~0.5 s late each): 9.5 s to about 11 s.
    assert 8.5 <= took < 12.5, f"503 after {took:.1f}s: expected three 3 s connect attempts with 0.5 s of pauses"


def test_proxy_forwards_to_backend(fe):
    client, user = sign_up(fe.url, "Barbara")
    uid = user["id"]
    with echo_backend(fe.backend_port):
        # readyz: status passes through (a 503 gains a Retry-After)
        r = httpx.get(f"{fe.url}/api/backend-health")
        assert r.status_code == 503 and r.json()["path"] == "/readyz"
        assert r.headers["retry-after"] == "5"
        assert r.headers["x-served-by"] == "echo-backend"

        # cookie session -> the user's JWT is attached; method, path, query, body, content-type pass
        r = client.post(f"/api/{uid}/tasks?status=all&x=1", json={"title": "buy milk"},
                        headers={"x-request-id": "req-1"})
        assert r.status_code == 201
        assert r.headers["x-served-by"] == "echo-backend"
        assert r.headers["content-type"].startswith("application/json")
        assert "x-internal-secret" not in r.headers
        seen = r.json()
        assert seen["method"] == "POST"
        assert seen["path"] == f"/api/{uid}/tasks?status=all&x=1"
        assert json.loads(seen["body"]) == {"title": "buy milk"}
        assert seen["headers"]["content-type"].startswith("application/json")
        assert seen["headers"]["x-request-id"] == "req-1"
        assert "cookie" not in seen["headers"]
        auth = seen["headers"]["authorization"]
        assert auth.startswith("Bearer ")
        assert b64json(auth.split()[1].split(".")[1])["sub"] == uid

        for method in ("PATCH", "DELETE"):
            r = client.request(method, f"/api/{uid}/tasks/7/complete")
            assert r.status_code == 200 and r.json()["method"] == method

        # a caller's own Authorization header wins, as sent
        r = httpx.get(f"{fe.url}/api/{uid}/tasks", headers={"authorization": "Bearer caller-token"})
        assert r.json()["headers"]["authorization"] == "Bearer caller-token"

        # no cookie, no header -> nothing attached (the backend answers 401 itself)
        r = httpx.get(f"{fe.url}/api/{uid}/tasks")
        assert "authorization" not in r.json()["headers"]

        # MCP: headers both ways, event stream passed through
        r = client.post("/mcp", json={"jsonrpc": "2.0", "id": 1, "method": "initialize"},
                        headers={"accept": "application/json, text/event-stream", "mcp-protocol-version": "2025-06-18",
                                 "mcp-session-id": "sess-123"})
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/event-stream")
        assert r.headers["mcp-session-id"] == "sess-123"
        assert r.headers["x-served-by"] == "echo-backend"
        assert '"jsonrpc":"2.0"' in r.text
        r = client.get("/mcp?probe=1", headers={"mcp-protocol-version": "2025-06-18"})
        seen = r.json()
        assert seen["path"] == "/mcp?probe=1"
        assert seen["headers"]["mcp-protocol-version"] == "2025-06-18"
        assert seen["headers"]["authorization"].startswith("Bearer ")


def test_reserved_api_paths_are_not_proxied(fe):
    for path in ("/api/auth", "/api/health/x", "/api/backend-health/x"):
        r = httpx.get(f"{fe.url}{path}")
        assert r.status_code == 404, (path, r.status_code, r.text)


class CuttableRelay:
    """A TCP relay to PostgreSQL that can be cut: the database, as the frontend sees it, stops answering."""

    def __init__(self, target_port: int) -> None:
        import socket

        self.target_port = target_port
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.cut = threading.Event()
        self.open: list = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        import socket

        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if self.cut.is_set():
                client.close()
                continue
            upstream = socket.create_connection(("127.0.0.1", self.target_port))
            self.open += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(source, sink) -> None:
        try:
            while chunk := source.recv(65536):
                sink.sendall(chunk)
        except OSError:
            pass
        finally:
            for s in (source, sink):
                try:
                    s.close()
                except OSError:
                    pass

    def sever(self) -> None:
        self.cut.set()
        for s in self.open:
            try:
                s.close()
            except OSError:
                pass


def test_a_session_cookie_during_a_database_outage_is_503_with_retry_after_not_401(app_dir, env_db, logdir):
    """Better Auth reads a failed session lookup as "no session": the proxy must not forward a signed-in browser
    without a token (the backend's 401 would sign it out) but answer 503 + Retry-After, as for no backend."""
    db, _ = env_db
    database_port = int(db.rsplit(":", 1)[1].split("/", 1)[0])
    relay = CuttableRelay(database_port)
    backend_port = free_port()
    env = {**frontend_env(db.replace(f":{database_port}/", f":{relay.port}/"), free_port(), f"http://127.0.0.1:{backend_port}"),
           "AUTH_TOKEN_CACHE_SECONDS": "0"}
    with start_frontend(app_dir, env, logdir) as frontend, echo_backend(backend_port):
        client, user = sign_up(frontend.url, "Edsger")
        assert client.get(f"/api/{user['id']}/tasks").status_code == 200
        relay.sever()
        response = client.get(f"/api/{user['id']}/tasks", timeout=60)
        assert response.status_code == 503, response.text
        assert response.headers["retry-after"] == "5" and response.headers["content-type"].startswith("application/json")
        body = response.json()
        assert body["error"] == "auth_unavailable" and body["reason"] and body["retry_after_seconds"] == 5
        # A cookie that names no session is still no session: proxied without a token (the backend says 401).
        relay.cut.clear()
        stranger = httpx.get(f"{frontend.url}/api/{user['id']}/tasks", cookies={"better-auth.session_token": "forged.value"},
                             timeout=60)
        assert stranger.status_code == 200 and "authorization" not in stranger.json()["headers"], stranger.text
