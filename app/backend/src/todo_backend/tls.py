"""One TLS context per process for the backend's outgoing HTTP clients (MCP tool sessions, the JWKS fetch).

httpx2 builds a fresh context for every client it creates, and loading the CA bundle into it costs about 50 ms of
CPU: measured, 45 chat turns spent 2.19 s in `load_verify_locations`, a third of a turn's server time, and under
the pod's CPU limit that time is throttled too. A context is safe to share across clients once it is built.
"""

from __future__ import annotations

import functools
import ssl

import httpx2


@functools.cache
def client_tls_context() -> ssl.SSLContext:
    # trust_env=False like our clients: SSL_CERT_FILE/SSL_CERT_DIR from the environment never choose the CAs.
    return httpx2.create_ssl_context(trust_env=False)
