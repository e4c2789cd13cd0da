# todo-frontend: Next.js standalone server (app/frontend) on port 3000; `node migrate.mjs` migrates
# the auth tables. Build context: app/frontend (ignore rules: frontend.Dockerfile.dockerignore).
# Built by `python -m deployproof.images`; by hand:
#   DOCKER_BUILDKIT=1 docker build -f dockerfiles/frontend.Dockerfile app/frontend
# Base image is a build arg: the official image where a registry is reachable, else the local
# stand-in from `python -m deployproof.baseimages`.
ARG NODE_BASE=node:24-bookworm-slim

# ---- deps: node_modules from the lockfile only (cached until package*.json change) -------------
FROM ${NODE_BASE} AS deps
# Extra CAs for npm (PEM text), for build hosts behind a TLS-inspecting proxy; deployproof.images
# passes the host's local CAs. Declared in the build stages only, never in the runtime image.
ARG BUILD_CA_CERTS=""
ENV NEXT_TELEMETRY_DISABLED=1 \
    NODE_EXTRA_CA_CERTS=/opt/build-ca.pem \
    npm_config_update_notifier=false \
    npm_config_fund=false \
    npm_config_audit=false
RUN printf '%s\n' "$BUILD_CA_CERTS" > /opt/build-ca.pem
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund && npm cache clean --force

# ---- build: `next build` + scripts/postbuild.mjs make .next/standalone self-contained ----------
FROM deps AS build
COPY . .
RUN npm run build

# ---- runtime root: node, the shared libraries it links, CA certificates, user 10001 ------------
# The runtime image is this folder and the app, nothing else: no shell, no npm, no apt.
FROM ${NODE_BASE} AS runtime-root
RUN set -eu; \
    node="$(command -v node)"; \
    mkdir -p /rootfs/usr/local/bin /rootfs/etc /rootfs/tmp /rootfs/app; \
    cp "$node" /rootfs/usr/local/bin/node; \
    for lib in $(ldd "$node" | awk '$2 == "=>" && $3 ~ /^\// {print $3} $1 ~ /^\// {print $1}'); do \
        cp --parents -L "$lib" /rootfs/; \
    done; \
    if [ -f /etc/ssl/certs/ca-certificates.crt ]; then cp --parents /etc/ssl/certs/ca-certificates.crt /rootfs/; fi; \
    printf 'root:x:0:0:root:/root:/sbin/nologin\napp:x:10001:10001:app:/app:/sbin/nologin\n' > /rootfs/etc/passwd; \
    printf 'root:x:0:\napp:x:10001:\n' > /rootfs/etc/group; \
    printf 'passwd: files\ngroup: files\nhosts: files dns\n' > /rootfs/etc/nsswitch.conf; \
    chmod 1777 /rootfs/tmp; \
    chroot /rootfs /usr/local/bin/node --version

# ---- runtime ----------------------------------------------------------------------------------
FROM scratch AS runtime
COPY --from=runtime-root /rootfs/ /
WORKDIR /app
COPY --from=build --chown=10001:10001 /src/.next/standalone/ ./
ENV PATH=/usr/local/bin \
    NODE_ENV=production \
    NEXT_TELEMETRY_DISABLED=1 \
    HOSTNAME=0.0.0.0 \
    PORT=3000
USER 10001:10001
EXPOSE 3000
# The same health URL as the chart's liveness probe and compose.yaml (never calls the backend).
HEALTHCHECK --interval=10s --timeout=5s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:3000/api/health').then(r => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
CMD ["node", "server.js"]

# Labels last: they change with every build, so no layer above is invalidated by them.
ARG IMAGE_VERSION=dev
ARG IMAGE_SOURCE=unknown
ARG IMAGE_REVISION=unknown
LABEL org.opencontainers.image.title="todo-frontend" \
      org.opencontainers.image.description="Todo AI Chatbot frontend (Next.js, Better Auth)" \
      org.opencontainers.image.version="${IMAGE_VERSION}" \
      org.opencontainers.image.source="${IMAGE_SOURCE}" \
      org.opencontainers.image.revision="${IMAGE_REVISION}"
