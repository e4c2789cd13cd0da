# Local stand-in for the official postgres:15-bookworm image, built from Debian 12's postgresql-15.
# It keeps that image's contract, which our charts and compose file rely on:
#   POSTGRES_USER / POSTGRES_PASSWORD / POSTGRES_DB / POSTGRES_INITDB_ARGS / POSTGRES_HOST_AUTH_METHOD,
#   PGDATA=/var/lib/postgresql/data (initdb when empty), scripts in /docker-entrypoint-initdb.d,
#   listens on 0.0.0.0:5432, user postgres = uid/gid 999, ENTRYPOINT docker-entrypoint.sh, CMD postgres.
ARG DEBIAN_BASE
FROM ${DEBIAN_BASE}
ARG DEBIAN_POSTGRES=15

# The same fixed uid/gid as the official image, created before the package would pick a random one.
RUN groupadd --system --gid 999 postgres \
 && useradd --system --uid 999 --gid postgres --home-dir /var/lib/postgresql --shell /bin/bash postgres \
 && mkdir -p /var/lib/postgresql && chown postgres:postgres /var/lib/postgresql

# No Debian "main" cluster: the entrypoint runs initdb on the data directory it is given.
# JIT (llvmjit + libLLVM, ~120 MB) is removed: PostgreSQL then runs with JIT unavailable, which only
# matters for large analytic queries, never for this app.
RUN mkdir -p /etc/postgresql-common/createcluster.d \
 && echo 'create_main_cluster = false' > /etc/postgresql-common/createcluster.d/deployproof.conf \
 && apt-get update \
 && apt-get install -y --no-install-recommends "postgresql-${DEBIAN_POSTGRES}" \
 && rm -f /usr/lib/postgresql/${DEBIAN_POSTGRES}/lib/llvmjit*.so /usr/lib/x86_64-linux-gnu/libLLVM-*.so* \
 && rm -rf /usr/lib/postgresql/${DEBIAN_POSTGRES}/lib/bitcode \
 && sed -ri "s!^#?(listen_addresses)\s*=\s*\S+.*!\1 = '*'!" /usr/share/postgresql/${DEBIAN_POSTGRES}/postgresql.conf.sample \
 && grep -F "listen_addresses = '*'" /usr/share/postgresql/${DEBIAN_POSTGRES}/postgresql.conf.sample \
 && rm -rf /var/lib/apt/lists/* /var/log/*

ENV PG_MAJOR=${DEBIAN_POSTGRES} \
    PATH=/usr/lib/postgresql/${DEBIAN_POSTGRES}/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    PGDATA=/var/lib/postgresql/data \
    LANG=C.UTF-8
RUN mkdir -p /var/run/postgresql /docker-entrypoint-initdb.d "$PGDATA" \
 && chown -R postgres:postgres /var/run/postgresql "$PGDATA" \
 && chmod 3777 /var/run/postgresql \
 && chmod 1777 "$PGDATA"
VOLUME /var/lib/postgresql/data

COPY postgres-entrypoint.sh /usr/local/bin/docker-entrypoint.sh
ENTRYPOINT ["docker-entrypoint.sh"]
STOPSIGNAL SIGINT
EXPOSE 5432
CMD ["postgres"]
