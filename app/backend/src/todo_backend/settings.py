"""The one settings object, read from the environment; refuses unsafe or incomplete configuration."""

from __future__ import annotations

from functools import lru_cache
from typing import Literal

from pydantic import Field, ValidationError, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

MIN_SECRET_LENGTH = 32


class ConfigurationError(SystemExit):
    """Raised at start-up; SystemExit so the server stops with the message instead of a traceback."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=None, extra="ignore", case_sensitive=False)

    # Database
    database_url: str | None = None
    database_sslmode: Literal["disable", "allow", "prefer", "require", "verify-ca", "verify-full"] = "disable"
    database_pool_size: int = Field(5, ge=1, le=100)
    database_max_overflow: int = Field(10, ge=0, le=200)
    database_pool_recycle_seconds: int = Field(1800, ge=-1)
    database_pool_pre_ping: bool = True
    database_connect_timeout_seconds: int = Field(5, ge=1, le=120)
    # /readyz answers within this long, so the kubelet (probe timeout 3 s) hears the reason instead of timing out
    readiness_timeout_seconds: float = Field(2.0, gt=0, le=60)

    # Auth
    auth_mode: Literal["jwks", "hs256"] = "jwks"
    auth_jwks_url: str | None = None
    auth_jwt_secret: str | None = None
    auth_issuer: str | None = None
    auth_audience: str | None = None
    auth_leeway_seconds: int = Field(30, ge=0, le=600)
    # JWKS keys are cached this long, and an unknown `kid` refetches at most once per refresh interval.
    auth_jwks_cache_seconds: int = Field(300, ge=0)
    auth_jwks_min_refresh_seconds: float = Field(30.0, ge=0)

    # Chat
    chat_agent: Literal["offline", "openai"] = "offline"
    openai_api_key: str | None = None
    openai_base_url: str | None = None
    openai_model: str = "gpt-4o-mini"
    mcp_self_url: str = "http://127.0.0.1:8000/mcp"
    chat_history_limit: int = Field(50, ge=1, le=500)

    # HTTP: bounds applied before anything parses the request
    max_body_bytes: int = Field(65536, ge=1024)
    max_header_bytes: int = Field(16384, ge=1024, le=1048576)
    max_json_depth: int = Field(32, ge=4, le=512)
    # GET /mcp event streams: closed after this long without an event; at most this many open per user (per process)
    mcp_stream_idle_seconds: float = Field(30.0, gt=0, le=3600)
    mcp_streams_per_user: int = Field(2, ge=0, le=100)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL", "debug", "info", "warning", "error", "critical"] = "INFO"

    @model_validator(mode="after")
    def _refuse_unsafe(self) -> "Settings":
        problems: list[str] = []
        if not self.database_url:
            problems.append("DATABASE_URL is not set (expected postgresql://user:password@host:5432/dbname)")
        elif not self.database_url.startswith(("postgresql://", "postgresql+psycopg://", "postgres://")):
            problems.append("DATABASE_URL must be a postgresql:// URL")
        if self.auth_mode == "hs256":
            if not self.auth_jwt_secret:
                problems.append("AUTH_JWT_SECRET is not set (required when AUTH_MODE=hs256)")
            elif len(self.auth_jwt_secret) < MIN_SECRET_LENGTH:
                problems.append(f"AUTH_JWT_SECRET is too weak: use at least {MIN_SECRET_LENGTH} characters")
        if self.auth_mode == "jwks" and not self.auth_jwks_url:
            problems.append("AUTH_JWKS_URL is not set (required when AUTH_MODE=jwks, e.g. http://frontend:3000/api/auth/jwks)")
        if self.chat_agent == "openai" and not self.openai_api_key:
            problems.append("OPENAI_API_KEY is not set (required when CHAT_AGENT=openai)")
        if problems:
            raise ValueError("; ".join(problems))
        return self

    @property
    def sqlalchemy_url(self) -> str:
        """The URL with the psycopg 3 driver, whatever scheme the operator wrote."""
        url = self.database_url or ""
        for prefix in ("postgresql+psycopg://", "postgresql://", "postgres://"):
            if url.startswith(prefix):
                return "postgresql+psycopg://" + url[len(prefix):]
        return url


def load_settings(**overrides: object) -> Settings:
    """Build settings from the environment (plus overrides); a bad configuration stops the process with its cause."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        messages = []
        for error in exc.errors():
            field = ".".join(str(part) for part in error["loc"]).upper()
            message = str(error["msg"]).removeprefix("Value error, ")
            messages.append(f"{field}: {message}" if field else message)
        raise ConfigurationError("configuration error: " + "; ".join(messages)) from None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return load_settings()
