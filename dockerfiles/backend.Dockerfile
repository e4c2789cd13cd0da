# todo-backend: FastAPI app (app/backend) served by uvicorn on port 8000.
# Build context: app/backend (ignore rules: backend.Dockerfile.dockerignore). Built by
# `python -m deployproof.images`; by hand:
#   DOCKER_BUILDKIT=1 docker build -f dockerfiles/backend.Dockerfile app/backend
# Base image is a build arg: the official image where a registry is reachable, else the local
# stand-in from `python -m deployproof.baseimages` (no global pip there; pip lives in the venv).
#
# Layers, from least to most often changed: interpreter root (base only) → dependencies venv
# (requirements.lock) → app source (src/, a few hundred KB, so a code change ships only that).
ARG PYTHON_BASE=python:3.11-slim-bookworm

# ---- deps: a virtualenv with the locked dependencies; pip itself is removed at the end -------
FROM ${PYTHON_BASE} AS deps
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
# requirements.lock is the runtime tree (no test tools) with every file's hash (`./dev lock`): pip refuses
# any wheel whose hash differs, and any package the lock does not name. Wheels only: nothing is compiled here.
COPY requirements.lock ./
# No bytecode yet (--no-compile): runtime-root compiles only what the server loads. What the runtime never
# reads goes: pip and setuptools, test folders, type stubs, Cython/C sources and headers, and the installers'
# RECORD files (no installer is left to read them; METADATA and licenses stay).
RUN /opt/venv/bin/pip install --no-compile --require-hashes --only-binary=:all: -r requirements.lock \
 && /opt/venv/bin/pip uninstall -y setuptools pip \
 && find /opt/venv -depth \( -name tests -o -name test -o -name __pycache__ \) -type d -path '*/site-packages/*' -exec rm -rf {} + \
 && find /opt/venv/lib -type f \( -name '*.pyi' -o -name '*.pyx' -o -name '*.pxd' -o -name '*.c' -o -name '*.h' \
        -o -path '*.dist-info/RECORD' \) -delete
# psycopg-binary's wheel vendors its own OpenSSL and MIT Kerberos (auditwheel renames them libcrypto-<hash>.so.3 …):
# 8.5 MB that duplicate the base's libraries, which the interpreter's ssl module loads anyway and which Debian
# patches. Each vendored library the base also has, under its unmangled soname (libcrypto.so.3, libkrb5.so.3 …), becomes
# a link to the base's copy, by the path ldd names it (/lib/<multiarch>/…), so runtime-root copies each library once.
# The vendored libpq and libldap need only OPENSSL_3.0.0 and gssapi_krb5_2_MIT symbol versions, which Debian 12's
# OpenSSL 3.0 and Kerberos 1.20 provide; runtime-root's import check loads them and fails the build otherwise.
RUN multiarch="$(python3 -c 'import sysconfig; print(sysconfig.get_config_var("MULTIARCH") or "")')"; \
    for vendored in /opt/venv/lib/python3*/site-packages/*.libs/*.so*; do \
        name="$(basename "$vendored" | sed -E 's/-[0-9a-f]{8}(\.so)/\1/; s/(\.so\.[0-9]+).*/\1/')"; \
        for dir in "/lib/$multiarch" "/usr/lib/$multiarch"; do \
            if [ -n "$multiarch" ] && [ -f "$dir/$name" ]; then ln -sf "$dir/$name" "$vendored"; echo "linked $vendored -> $dir/$name"; break; fi; \
        done; \
    done
# SQLAlchemy's dialects for databases the app never talks to (SQLite too: the stdlib's sqlite3 is left out below),
# its test suite and its mypy plugin.
RUN sa="$(echo /opt/venv/lib/python3*/site-packages/sqlalchemy)"; \
    rm -rf "$sa/dialects/mysql" "$sa/dialects/mssql" "$sa/dialects/oracle" "$sa/dialects/sqlite" "$sa/testing" "$sa/ext/mypy"
# Some wheels ship extension modules with debug info and symbol tables (uvloop alone: 13 MB → 2 MB). Drop
# what dynamic linking does not need, except in modules auditwheel patched (an $ORIGIN run path), which
# strip can corrupt. binutils stays in this stage only.
RUN apt-get update \
 && apt-get install -y --no-install-recommends binutils \
 && find /opt/venv -name '*.so' -type f ! -path '*.libs/*' | while read -r so; do \
        if ! readelf -d "$so" 2>/dev/null | grep -q 'ORIGIN'; then strip --strip-unneeded "$so"; fi; \
    done \
 && apt-get purge -y --auto-remove binutils \
 && rm -rf /var/lib/apt/lists/*

# ---- startup modules: the source files the server loads (todo_backend.startup_modules) -----------
# Runs on every code change, but its output only changes when the set of loaded modules does: the COPY
# --from below compares content, so runtime-root (and the venv layer) stay cached for a code change.
FROM deps AS startup-modules
COPY src/ /app/src/
WORKDIR /app/src
# (not a pipe: a failing listing must fail the build, not leave a short list)
RUN PYTHONDONTWRITEBYTECODE=1 /opt/venv/bin/python -m todo_backend.startup_modules > /tmp/loaded.txt \
 && grep -v '^/app/' /tmp/loaded.txt > /startup-modules.txt

# ---- runtime root: the interpreter, its standard library, the shared libraries they link ------
# Collected from the base image into /rootfs: no shell, no apt, no pip in the runtime image, and none of the
# standard library's parts a server never loads (tests, IDLE, tk, distutils, unittest, sqlite3, dbm, curses…).
# Bytecode only for the modules the server loads (about a third of the standard library and
# site-packages): the server starts as fast as with everything compiled, and the rest is compiled in
# memory if a rare path imports it (the app runs as a user that cannot write __pycache__). Listed files
# the root leaves out (Debian's sitecustomize.py links to /etc) are skipped.
FROM ${PYTHON_BASE} AS runtime-root
COPY --from=deps /opt/venv /opt/venv
COPY --from=startup-modules /startup-modules.txt /startup-modules.txt
RUN set -eu; \
    stdlib="$(python3 -c 'import sysconfig; print(sysconfig.get_paths()["stdlib"])')"; \
    mkdir -p /rootfs/etc /rootfs/tmp /rootfs/app; \
    for exe in /usr/local/bin/python* /usr/bin/python3*; do \
        if [ -e "$exe" ]; then cp -a --parents "$exe" /rootfs/; fi; \
    done; \
    tar -C / -cf - --exclude="${stdlib#/}/test" --exclude="${stdlib#/}/idlelib" --exclude="${stdlib#/}/tkinter" \
        --exclude="${stdlib#/}/turtledemo" --exclude="${stdlib#/}/ensurepip" --exclude="${stdlib#/}/lib2to3" \
        --exclude="${stdlib#/}/config-*" --exclude='__phello__' --exclude=__pycache__ --exclude="${stdlib#/}/pydoc_data" \
        --exclude="${stdlib#/}/distutils" --exclude="${stdlib#/}/unittest" --exclude="${stdlib#/}/xmlrpc" \
        --exclude="${stdlib#/}/wsgiref" --exclude="${stdlib#/}/sqlite3" --exclude="${stdlib#/}/turtle.py" \
        --exclude='_test*.so' --exclude='_ctypes_test*.so' --exclude='xxlimited*.so' --exclude='_xxtestfuzz*.so' \
        --exclude='_dbm*.so' --exclude='_gdbm*.so' --exclude='readline*.so' --exclude='_curses*.so' --exclude='_sqlite3*.so' \
        --exclude="${stdlib#/}/_pydecimal.py" --exclude="${stdlib#/}/pydoc.py" --exclude="${stdlib#/}/doctest.py" \
        "${stdlib#/}" | tar -C /rootfs -xf -; \
    { ldd "$(readlink -f "$(command -v python3)")"; find "/rootfs$stdlib" /opt/venv -name '*.so*' -type f -exec ldd {} \; ; } 2>/dev/null \
      | awk '$2 == "=>" && $3 ~ /^\// {print $3} $1 ~ /^\// {print $1}' | sort -u \
      | while read -r lib; do case "$lib" in /opt/venv/*) ;; *) cp -L --parents "$lib" /rootfs/ ;; esac; done; \
    find /opt/venv -path '*/site-packages/*.libs/*' -type l -lname '/*' -exec readlink {} \; | while read -r lib; do cp -L --parents "$lib" /rootfs/; done; \
    cp -a --parents /etc/ld.so.conf /etc/ld.so.conf.d /rootfs/; \
    ldconfig -r /rootfs; \
    if [ -f /etc/ssl/certs/ca-certificates.crt ]; then cp --parents /etc/ssl/certs/ca-certificates.crt /rootfs/; fi; \
    printf 'root:x:0:0:root:/root:/sbin/nologin\napp:x:10001:10001:app:/app:/sbin/nologin\n' > /rootfs/etc/passwd; \
    printf 'root:x:0:\napp:x:10001:\n' > /rootfs/etc/group; \
    printf 'passwd: files\ngroup: files\nhosts: files dns\n' > /rootfs/etc/nsswitch.conf; \
    chmod 1777 /rootfs/tmp; \
    cp -a --parents /opt/venv /rootfs/; \
    cp /startup-modules.txt /rootfs/startup-modules.txt; \
    chroot /rootfs /opt/venv/bin/python -B -c 'import os, py_compile; [py_compile.compile(f, doraise=True) for f in open("/startup-modules.txt").read().split() if os.path.exists(f)]'; \
    rm /rootfs/startup-modules.txt; \
    chroot /rootfs /opt/venv/bin/python -B -c 'import ssl, ctypes, zoneinfo, uvloop, psycopg, sqlalchemy, cryptography.hazmat.bindings._rust, pydantic_core, httptools, fastapi, mcp, agents; assert psycopg.pq.__impl__ == "binary", psycopg.pq.__impl__; print("libpq", psycopg.pq.version())'; \
    rm -rf /opt/venv; mv /rootfs/opt/venv /opt/venv; rmdir /rootfs/opt

# ---- runtime ----------------------------------------------------------------------------------
FROM scratch AS runtime
COPY --from=runtime-root /rootfs/ /
COPY --from=runtime-root /opt/venv /opt/venv
WORKDIR /app
# The app is imported from its source folder (no install step), so a code change is one small layer.
COPY src/ /app/src/
ENV PATH=/opt/venv/bin:/usr/local/bin:/usr/bin \
    PYTHONPATH=/app/src \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    LANG=C.UTF-8
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
