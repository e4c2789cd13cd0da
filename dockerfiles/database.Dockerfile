# todo-database: PostgreSQL 15 with the official postgres image's contract (POSTGRES_USER,
# POSTGRES_PASSWORD, POSTGRES_DB, PGDATA; initdb on an empty data dir; 0.0.0.0:5432).
# Needs no build context. POSTGRES_BASE is the official image where a registry is reachable, else
# the local stand-in from `python -m deployproof.baseimages` (dockerfiles/base/postgres.Dockerfile).
ARG POSTGRES_BASE=postgres:15-bookworm
FROM ${POSTGRES_BASE}
# uid/gid 999 is `postgres` in both bases; numeric so runAsNonRoot can verify it.
USER 999:999
EXPOSE 5432
# The same check as the chart's readiness probe; over TCP so it proves the listener, not just the socket.
HEALTHCHECK --interval=5s --timeout=5s --start-period=30s --retries=5 \
  CMD ["sh", "-c", "pg_isready -q -h 127.0.0.1 -p 5432 -U \"${POSTGRES_USER:-postgres}\" -d \"${POSTGRES_DB:-${POSTGRES_USER:-postgres}}\""]

ARG IMAGE_VERSION=dev
ARG IMAGE_SOURCE=unknown
ARG IMAGE_REVISION=unknown
LABEL org.opencontainers.image.title="todo-database" \
      org.opencontainers.image.description="PostgreSQL 15 for the Todo AI Chatbot" \
      org.opencontainers.image.version="${IMAGE_VERSION}" \
      org.opencontainers.image.source="${IMAGE_SOURCE}" \
      org.opencontainers.image.revision="${IMAGE_REVISION}"
