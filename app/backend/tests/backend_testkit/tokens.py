"""Signing test tokens: HS256 with a shared secret, EdDSA/RS256 with generated keys served as a JWKS."""

from __future__ import annotations

import base64
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa
from jwt.algorithms import OKPAlgorithm, RSAAlgorithm

from .net import free_port

HS_SECRET = "test-secret-0123456789-abcdefghijklmnopqrstuvwxyz"


def claims(sub: str, *, expires_in: int = 600, **extra: Any) -> dict[str, Any]:
    now = int(time.time())
    return {"sub": sub, "iat": now, "exp": now + expires_in, **extra}


def hs256_token(sub: str, secret: str = HS_SECRET, **kwargs: Any) -> str:
    return jwt.encode(claims(sub, **kwargs), secret, algorithm="HS256")


def unsigned_token(sub: str) -> str:
    def b64(data: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    return f"{b64({'alg': 'none', 'typ': 'JWT'})}.{b64(claims(sub))}."


def tampered(token: str, sub: str) -> str:
    """Same header and signature, payload rewritten to claim another subject."""
    header, payload, signature = token.split(".")
    data = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    data["sub"] = sub
    new_payload = base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()
    return f"{header}.{new_payload}.{signature}"


@dataclass
class SigningKey:
    kid: str
    algorithm: str
    private: Any
    publish_alg: bool = True  # Better Auth may publish keys without "alg"; the verifier infers it from kty/crv

    @classmethod
    def ed25519(cls, kid: str) -> "SigningKey":
        return cls(kid, "EdDSA", ed25519.Ed25519PrivateKey.generate())

    @classmethod
    def rsa(cls, kid: str) -> "SigningKey":
        return cls(kid, "RS256", rsa.generate_private_key(public_exponent=65537, key_size=2048))

    def jwk(self) -> dict[str, Any]:
        exporter = OKPAlgorithm if self.algorithm == "EdDSA" else RSAAlgorithm
        data = exporter.to_jwk(self.private.public_key(), as_dict=True)
        jwk = {**data, "kid": self.kid, "use": "sig"}
        if self.publish_alg:
            jwk["alg"] = self.algorithm
        return jwk

    def token(self, sub: str, *, kid: str | None = None, **kwargs: Any) -> str:
        return jwt.encode(claims(sub, **kwargs), self.private, algorithm=self.algorithm, headers={"kid": kid or self.kid})


@dataclass
class JwksServer:
    """Serves {"keys": [...]} at /api/auth/jwks on 127.0.0.1, counting fetches."""

    keys: list[SigningKey] = field(default_factory=list)
    port: int = field(default_factory=free_port)
    fetches: int = 0
    delay_s: float = 0.0  # how long each answer takes (a slow auth server)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/auth/jwks"

    def start(self) -> "JwksServer":
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                owner.fetches += 1
                time.sleep(owner.delay_s)
                body = json.dumps({"keys": [k.jwk() for k in owner.keys]}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
