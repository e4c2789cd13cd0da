# Local stand-in for the official node:20-bookworm-slim image. Debian 12 only packages Node 18,
# below what the frontend's Next.js needs (>= 20.9), so the Node 20 binary and npm of the machine
# that builds the image are copied in (deployproof/baseimages.py puts them in the build context and
# their content is part of the image tag). The binary needs only libc, libstdc++ and libgcc_s.
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
