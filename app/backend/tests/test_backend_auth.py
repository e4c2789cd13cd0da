"""Every way a token can be wrong, in both modes: shared-secret HS256 and Better Auth style JWKS (EdDSA, RS256)."""

from __future__ import annotations

import asyncio
import time

import httpx
import jwt
import pytest

from backend_testkit.tokens import HS_SECRET, SigningKey, hs256_token, tampered, unsigned_token
from conftest import make_settings
from todo_backend.auth import AuthError, TokenVerifier


class Mode:
    """How to sign good and bad tokens for one server."""

    def __init__(self, name, server, good, wrong_key, key=None):  # type: ignore[no-untyped-def]
        self.name, self.server, self.good, self.wrong_key, self.key = name, server, good, wrong_key, key


@pytest.fixture(params=["hs256", "jwks"])
def mode(request, jwks_keys):  # type: ignore[no-untyped-def]
    if request.param == "hs256":
        return Mode(
            "hs256",
            request.getfixturevalue("hs_server"),
            good=lambda sub, **kw: hs256_token(sub, **kw),
            wrong_key=lambda sub: hs256_token(sub, secret="another-secret-that-is-long-enough-0123456789"),
        )
    impostor = SigningKey.ed25519("ed-1")  # same kid, different key
    return Mode(
        "jwks",
        request.getfixturevalue("jwks_app_server"),
        good=lambda sub, **kw: jwks_keys["ed"].token(sub, **kw),
        wrong_key=lambda sub: impostor.token(sub),
        key=jwks_keys["ed"],
    )


def _get(server, user_id, token=None, path="/tasks", raw_header=None):  # type: ignore[no-untyped-def]
    headers = {}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    if raw_header is not None:
        headers["Authorization"] = raw_header
    return httpx.get(f"{server.url}/api/{user_id}{path}", headers=headers, trust_env=False, timeout=10)


def test_valid_token_is_accepted(mode, user):
    response = _get(mode.server, user, mode.good(user))
    assert response.status_code == 200, response.text


@pytest.mark.parametrize(
    "case, expected",
    [
        ("missing", "Missing Authorization header"),
        ("not_bearer", "must be 'Bearer <token>'"),
        ("garbage", "Malformed token"),
        ("expired", "expired"),
        ("tampered", "signature is invalid"),
        ("wrong_key", "signature is invalid"),
        ("alg_none", "alg none"),
        ("no_exp", "'exp'"),
    ],
)
def test_bad_tokens_are_401_with_a_reason(mode, user, other_user, case, expected):
    tokens = {
        "missing": None,
        "garbage": "not.a.jwt",
        "expired": mode.good(user, expires_in=-3600),
        "tampered": tampered(mode.good(other_user), user),
        "wrong_key": mode.wrong_key(user),
        "alg_none": unsigned_token(user),
    }
    if case == "not_bearer":
        response = _get(mode.server, user, raw_header=f"Basic {mode.good(user)}")
    elif case == "no_exp":
        token = (
            jwt.encode({"sub": user}, HS_SECRET, algorithm="HS256")
            if mode.name == "hs256"
            else jwt.encode({"sub": user}, mode.key.private, algorithm="EdDSA", headers={"kid": "ed-1"})
        )
        response = _get(mode.server, user, token)
    else:
        response = _get(mode.server, user, tokens[case])
    assert response.status_code == 401, response.text
    assert expected.lower() in response.json()["detail"].lower()
    assert response.headers["www-authenticate"].startswith("Bearer")


def test_other_users_path_is_403_and_other_users_task_is_404(mode, user, other_user):
    mine = httpx.post(
        f"{mode.server.url}/api/{user}/tasks", json={"title": "private"},
        headers={"Authorization": f"Bearer {mode.good(user)}"}, trust_env=False,
    ).json()
    intruder = mode.good(other_user)
    forbidden = _get(mode.server, user, intruder)
    assert forbidden.status_code == 403 and "different user" in forbidden.json()["detail"]
    assert _get(mode.server, user, intruder, path=f"/tasks/{mine['id']}").status_code == 403
    not_found = _get(mode.server, other_user, intruder, path=f"/tasks/{mine['id']}")
    assert not_found.status_code == 404


def test_hs256_server_rejects_asymmetric_tokens_and_vice_versa(hs_server, jwks_app_server, jwks_keys, user):
    assert _get(hs_server, user, jwks_keys["ed"].token(user)).status_code == 401
    assert _get(jwks_app_server, user, hs256_token(user)).status_code == 401


def test_jwks_accepts_rs256_and_rejects_unknown_kid(jwks_app_server, jwks_keys, user):
    assert _get(jwks_app_server, user, jwks_keys["rsa"].token(user)).status_code == 200
    stranger = SigningKey.ed25519("never-published")
    response = _get(jwks_app_server, user, stranger.token(user))
    assert response.status_code == 401 and "unknown key" in response.json()["detail"]


def test_jwks_refetches_on_new_kid_but_rate_limits_refreshes(jwks_app_server, jwks_server, user):
    rotated = SigningKey.ed25519("ed-rotated")
    jwks_server.keys.append(rotated)
    try:
        time.sleep(0.6)  # past the test server's min refresh interval (0.5 s)
        assert _get(jwks_app_server, user, rotated.token(user)).status_code == 200

        before = jwks_server.fetches
        forged = [SigningKey.ed25519(f"forged-{i}").token(user) for i in range(10)]
        statuses = {_get(jwks_app_server, user, t).status_code for t in forged}
        assert statuses == {401}
        assert jwks_server.fetches - before <= 2, "unknown kids must not trigger a JWKS fetch each"
    finally:
        jwks_server.keys.remove(rotated)


def test_jwks_key_published_without_alg_is_inferred(jwks_app_server, jwks_server, user):
    bare = SigningKey.ed25519("ed-bare")
    bare.publish_alg = False
    jwks_server.keys.append(bare)
    try:
        time.sleep(0.6)
        assert _get(jwks_app_server, user, bare.token(user)).status_code == 200
    finally:
        jwks_server.keys.remove(bare)


def test_issuer_and_audience_are_checked_when_configured(database_url):
    settings = make_settings(database_url, auth_issuer="http://frontend:3000", auth_audience="http://frontend:3000")
    verifier = TokenVerifier(settings)
    good = hs256_token("u1", iss="http://frontend:3000", aud="http://frontend:3000")
    assert asyncio.run(verifier.verify(f"Bearer {good}")).user_id == "u1"
    for token, reason in [
        (hs256_token("u1", iss="http://evil", aud="http://frontend:3000"), "issuer"),
        (hs256_token("u1", iss="http://frontend:3000", aud="http://other"), "audience"),
        (hs256_token("u1", iss="http://frontend:3000"), "aud"),
    ]:
        with pytest.raises(AuthError) as info:
            asyncio.run(verifier.verify(f"Bearer {token}"))
        assert reason in info.value.detail.lower()


def test_a_jwks_endpoint_that_answers_only_after_a_moment_is_tried_again():
    """A new pod's first fetch may meet a frontend that is scaling in: refused connects are tried again."""
    import asyncio
    import json as _json
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from backend_testkit.net import free_port
    from todo_backend.auth import JwksCache

    port = free_port()

    class Keys(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - the handler's name is http.server's
            body = _json.dumps({"keys": []}).encode()
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    servers = []

    def listen_later():
        server = ThreadingHTTPServer(("127.0.0.1", port), Keys)
        servers.append(server)
        server.serve_forever()

    timer = threading.Timer(0.3, listen_later)
    timer.start()
    try:
        document = asyncio.run(JwksCache(f"http://127.0.0.1:{port}/jwks", ttl=300, min_refresh=30)._fetch())
    finally:
        timer.join(5)
        for server in servers:
            server.shutdown()
            server.server_close()
    assert document == {"keys": []}


def test_a_crowd_of_first_requests_makes_one_jwks_fetch(jwks_keys):
    """A new pod's first burst: every request needs the keys at once; one fetch serves them all."""
    from backend_testkit.tokens import JwksServer
    from todo_backend.auth import JwksCache

    server = JwksServer(keys=[jwks_keys["ed"]], delay_s=0.2).start()  # slow, so the crowd waits while it answers
    try:
        cache = JwksCache(server.url, ttl=300, min_refresh=30)

        async def crowd():
            return await asyncio.gather(*(cache.key_for(jwks_keys["ed"].kid) for _ in range(20)))

        keys = asyncio.run(crowd())
    finally:
        server.stop()
    assert len(keys) == 20 and all(key is keys[0] for key in keys)
    assert server.fetches == 1, f"{server.fetches} JWKS fetches for one crowd of 20 requests"


def test_an_unreachable_jwks_endpoint_is_a_503_with_a_reason_on_rest_and_mcp(database_url, jwks_keys, user):
    """No keys yet and the JWKS endpoint away (the frontend or its database is down): a temporary 503 with
    Retry-After and a reason, like a database outage's, never a 500 (seen in the database-outage test)."""
    from backend_testkit.net import free_port
    from conftest import make_settings, start_app_server

    nowhere = f"http://127.0.0.1:{free_port()}/api/auth/jwks"
    server = start_app_server(lambda **kw: make_settings(database_url, auth_mode="jwks", auth_jwt_secret=None,
                                                         auth_jwks_url=nowhere, **kw))
    try:
        token = jwks_keys["ed"].token(user)
        rest = _get(server, user, token)
        mcp = httpx.post(f"{server.url}/mcp", headers={"Authorization": f"Bearer {token}", "content-type": "application/json",
                                                       "accept": "application/json, text/event-stream"},
                         json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"}, trust_env=False, timeout=20)
    finally:
        server.stop()
    for answer in (rest, mcp):
        assert answer.status_code == 503, answer.text
        assert answer.headers.get("retry-after") == "5"
        assert answer.json()["reason"] == "auth: JWKS endpoint unreachable", answer.text
