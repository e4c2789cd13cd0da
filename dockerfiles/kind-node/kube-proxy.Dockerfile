# kube-proxy in iptables mode shells out to iptables-restore/-save and conntrack: Debian's (the
# nf_tables variant, as on the node).
ARG DEBIAN_BASE
FROM ${DEBIAN_BASE}
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends iptables conntrack kmod \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/*
COPY kube-proxy /usr/local/bin/kube-proxy
