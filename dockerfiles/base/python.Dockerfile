# Local stand-in for the official python:3.11-slim-bookworm image, built from Debian 12 packages
# (see deployproof/baseimages.py). Same contract for our Dockerfiles: `python`/`python3` on PATH,
# `python3 -m venv` works (ensurepip wheels from python3.11-venv), CA certificates, LANG=C.UTF-8.
# Unlike the official image it has no global pip: app images install into a venv in their build stage.
ARG DEBIAN_BASE
FROM ${DEBIAN_BASE}
ARG DEBIAN_PYTHON=3.11
ENV LANG=C.UTF-8
RUN apt-get update \
 && apt-get install -y --no-install-recommends "python${DEBIAN_PYTHON}" "python${DEBIAN_PYTHON}-venv" ca-certificates \
 && ln -s "/usr/bin/python${DEBIAN_PYTHON}" /usr/local/bin/python \
 && ln -s "/usr/bin/python${DEBIAN_PYTHON}" /usr/local/bin/python3 \
 && rm -rf /var/lib/apt/lists/* /var/log/* \
 && python3 --version
CMD ["python3"]
