"""Bearer-token verification: Better Auth JWTs via JWKS (EdDSA/RS256/ES256...) or a shared HS256 secret.

The verified subject (`sub`) is the user id. Routes compare it with `{user_id}` in the path (403 when they
differ); the MCP endpoint binds it to the request so tools never take a user id from their arguments.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from dataclasses import dataclass
from typing import Any

import httpx2  # the HTTP client mcp 2 and openai already use: one client library in the image
import jwt
from fastapi import Request
from starlette.exceptions import HTTPException

from .errors import JwksUnavailable
from .settings import Settings
from .tls import client_tls_context

log = logging.getLogger("todo_backend.auth")
JWKS_RETRY_PAUSES_S = (0.2, 0.5)  # between fetch attempts after a transport error (_fetch)

ASYMMETRIC_ALGORITHMS = ["EdDSA", "RS256", "RS384", "RS512", "ES256", "ES384", "ES512", "PS256", "PS384", "PS512"]


class AuthError(HTTPException):
    """401 with a message that says what was wrong with the token."""

    def __init__(self, detail: str) -> None:
        super().__init__(401, detail, headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})


@dataclass(frozen=True)
class Principal:
    user_id: str
    claims: dict[str, Any]
    token: str


class JwksCache:
    """Keys by `kid`, fetched from AUTH_JWKS_URL; refreshed when stale, or on an unknown `kid` at most once
    per `min_refresh` seconds (so a flood of forged kids cannot hammer the auth server)."""

    def __init__(self, url: str, ttl: float, min_refresh: float) -> None:
        self.url = url
        self.ttl = ttl
        self.min_refresh = min_refresh
        self._keys: dict[str, jwt.PyJWK] = {}
        self._fetched_at = 0.0
        self._attempted_at = float("-inf")
        self._finished_at = float("-inf")  # when the last fetch attempt ended, well or not
        self._lock = asyncio.Lock()

    async def key_for(self, kid: str | None) -> jwt.PyJWK:
        now = time.monotonic()
        if not self._keys or now - self._fetched_at > self.ttl:
            await self._refresh(force=not self._keys)
        key = self._lookup(kid)
        if key is None:
            await self._refresh(force=False)
            key = self._lookup(kid)
        if key is None:
            raise AuthError("Token signed with an unknown key (kid not in JWKS)")
        return key

    def _lookup(self, kid: str | None) -> jwt.PyJWK | None:
        if kid is None:
            return next(iter(self._keys.values())) if len(self._keys) == 1 else None
        return self._keys.get(kid)

    async def _fetch(self) -> Any:
        """The JWKS document. A transport error (refused, reset, timed out) is tried again on a new connection after
        0.2 s and 0.5 s: the frontend serving it may be scaling in, and a new pod with no keys yet would otherwise
        answer 503 (seen once in a fuzz run while the frontend's HPA went from 3 pods to 1)."""
        for pause in (*JWKS_RETRY_PAUSES_S, None):
            try:
                async with httpx2.AsyncClient(timeout=5.0, trust_env=False, verify=client_tls_context()) as client:
                    response = await client.get(self.url)
                    response.raise_for_status()
                    return response.json()
            except httpx2.TransportError:
                if pause is None:
                    raise
                await asyncio.sleep(pause)

    async def _refresh(self, force: bool) -> None:
        asked_at = time.monotonic()
        async with self._lock:
            # One fetch for a crowd: requests that waited while another fetched take its result instead of fetching
            # again (a new pod's first burst made one fetch per request, each queued behind the last).
            if self._finished_at >= asked_at:
                if not self._keys:
                    raise JwksUnavailable()
                return
            now = time.monotonic()
            if not force and now - self._attempted_at < self.min_refresh:
                return
            self._attempted_at = now
            try:
                document = await self._fetch()
            except (httpx2.HTTPError, json.JSONDecodeError) as exc:
                self._finished_at = time.monotonic()
                log.warning("JWKS fetch failed", extra={"url": self.url, "error": str(exc)})
                if not self._keys:
                    raise JwksUnavailable() from exc
                return
            keys: dict[str, jwt.PyJWK] = {}
            for entry in document.get("keys", []) if isinstance(document, dict) else []:
                try:
                    key = jwt.PyJWK(entry)
                except (jwt.PyJWKError, jwt.InvalidKeyError, ValueError, TypeError) as exc:
                    log.warning("skipping unusable JWK", extra={"kid": entry.get("kid"), "error": str(exc)})
                    continue
                keys[str(entry.get("kid", ""))] = key
            self._keys = keys
            self._fetched_at = now
            self._finished_at = time.monotonic()
            log.info("JWKS refreshed", extra={"keys": len(keys)})


class TokenVerifier:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.jwks = (
            JwksCache(settings.auth_jwks_url or "", settings.auth_jwks_cache_seconds, settings.auth_jwks_min_refresh_seconds)
            if settings.auth_mode == "jwks"
            else None
        )

    async def verify(self, authorization: str | None) -> Principal:
        token = _bearer(authorization)
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise AuthError("Malformed token: not a JWT") from None
        alg = header.get("alg")
        if not isinstance(alg, str) or alg.lower() == "none":
            raise AuthError("Unsigned tokens (alg none) are not accepted")

        if self.jwks is None:
            if alg != "HS256":
                raise AuthError(f"Token algorithm {alg} not accepted: expected HS256")
            key: Any = self.settings.auth_jwt_secret
            algorithms = ["HS256"]
        else:
            if alg not in ASYMMETRIC_ALGORITHMS:
                raise AuthError(f"Token algorithm {alg} not accepted")
            jwk = await self.jwks.key_for(header.get("kid"))
            if jwk.algorithm_name and jwk.algorithm_name != alg:
                raise AuthError("Token algorithm does not match its signing key")
            key = jwk.key
            algorithms = [alg]

        options = {"require": ["exp", "sub"], "verify_aud": bool(self.settings.auth_audience)}
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=algorithms,
                audience=self.settings.auth_audience,
                issuer=self.settings.auth_issuer,
                leeway=self.settings.auth_leeway_seconds,
                options=options,
            )
        except jwt.ExpiredSignatureError:
            raise AuthError("Token has expired") from None
        except jwt.InvalidSignatureError:
            raise AuthError("Token signature is invalid") from None
        except jwt.InvalidAudienceError:
            raise AuthError("Token audience is not accepted") from None
        except jwt.InvalidIssuerError:
            raise AuthError("Token issuer is not accepted") from None
        except jwt.MissingRequiredClaimError as exc:
            raise AuthError(f"Token is missing the '{exc.claim}' claim") from None
        except jwt.PyJWTError as exc:
            raise AuthError(f"Invalid token: {exc}") from None
        subject = claims.get("sub")
        if not isinstance(subject, str) or not subject:
            raise AuthError("Token subject (sub) is empty")
        return Principal(user_id=subject, claims=claims, token=token)


def _bearer(authorization: str | None) -> str:
    if not authorization:
        raise AuthError("Missing Authorization header: send 'Authorization: Bearer <token>'")
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise AuthError("Authorization header must be 'Bearer <token>'")
    return token.strip()


async def current_principal(request: Request) -> Principal:
    """FastAPI dependency: the verified caller."""
    verifier: TokenVerifier = request.app.state.verifier
    return await verifier.verify(request.headers.get("authorization"))


async def path_user(request: Request, user_id: str) -> Principal:
    """FastAPI dependency for `/api/{user_id}/...`: the caller must be that user."""
    principal = await current_principal(request)
    if principal.user_id != user_id:
        raise HTTPException(403, "This token belongs to a different user than the one in the path")
    return principal
