# todo-backend: FastAPI app (app/backend) served by uvicorn on port 8000.
# Build context: app/backend (ignore rules: backend.Dockerfile.dockerignore). Built by
# `python -m deployproof.images`; by hand:
#   DOCKER_BUILDKIT=1 docker build -f dockerfiles/backend.Dockerfile app/backend
# Base image is a build arg: the official image where a registry is reachable, else the local
# stand-in from `python -m deployproof.baseimages` (no global pip there; pip lives in the venv).
ARG PYTHON_BASE=python:3.11-slim-bookworm

# ---- build: a virtualenv with the locked dependencies and the app installed -------------------
FROM ${PYTHON_BASE} AS build
# Extra CAs for pip (PEM text), for build hosts behind a TLS-inspecting proxy; deployproof.images
# passes the host's local CAs. Declared in this stage only, so they never reach the runtime image.
ARG BUILD_CA_CERTS=""
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore \
    PIP_CERT=/opt/build-ca.pem
RUN { cat /etc/ssl/certs/ca-certificates.crt 2>/dev/null || true; printf '%s\n' "$BUILD_CA_CERTS"; } > /opt/build-ca.pem \
 && python3 -m venv /opt/venv
WORKDIR /src
# Dependencies before source: this layer is reused until the dependency files change.
# requirements.lock (the whole tree pinned) is used when present, else pyproject.toml's exact pins.
COPY pyproject.toml requirements.lock* ./
RUN if [ -f requirements.lock ]; then \
        /opt/venv/bin/pip install -r requirements.lock; \
    else \
        /opt/venv/bin/python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" > /tmp/requirements.txt \
        && /opt/venv/bin/pip install -r /tmp/requirements.txt; \
    fi
COPY src/ src/
# --no-deps: everything it needs is installed above, from the pins. The runtime needs no pip.
RUN /opt/venv/bin/pip install --no-deps . \
 && /opt/venv/bin/pip uninstall -y pip \
 && find /opt/venv -name '__pycache__' -path '*/pip/*' -prune -exec rm -rf {} +

# ---- runtime: the interpreter, the venv, nothing else ------------------------------------------
FROM ${PYTHON_BASE} AS runtime
# The official base has a global pip; the app does not install anything at run time.
RUN if python3 -m pip --version >/dev/null 2>&1; then python3 -m pip uninstall -y pip; fi \
 && groupadd --system --gid 10001 app \
 && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin app
COPY --from=build /opt/venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1
WORKDIR /app
USER 10001:10001
EXPOSE 8000
# The same health URL as the chart's liveness probe and compose.yaml.
HEALTHCHECK --interval=10s --timeout=5s --start-period=20s --retries=3 \
  CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4)"]
CMD ["uvicorn", "todo_backend.main:app", "--host", "0.0.0.0", "--port", "8000"]

# Labels last: they change with every build, so no layer above is invalidated by them.
ARG IMAGE_VERSION=dev
ARG IMAGE_SOURCE=unknown
ARG IMAGE_REVISION=unknown
LABEL org.opencontainers.image.title="todo-backend" \
      org.opencontainers.image.description="Todo AI Chatbot backend (FastAPI, MCP, chat agent)" \
      org.opencontainers.image.version="${IMAGE_VERSION}" \
      org.opencontainers.image.source="${IMAGE_SOURCE}" \
      org.opencontainers.image.revision="${IMAGE_REVISION}"
