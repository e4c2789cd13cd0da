"""Helpers for the backend tests and benchmark: a throw-away PostgreSQL, real uvicorn servers, tokens, a JWKS server."""
