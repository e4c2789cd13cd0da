# The kind node's operating system: Debian (our debootstrapped base) booting systemd, with what
# kubelet, kubeadm and containerd call on a node. No Kubernetes yet: node.Dockerfile adds it, so a
# Kubernetes bump rebuilds only the thin top layers.
ARG DEBIAN_BASE
FROM ${DEBIAN_BASE}

# Packages first (the slow step, cached by the daemon while the lines below change).
# systemd/dbus: PID 1; iptables/nftables/conntrack/ethtool/socat: kube-proxy, kubelet, port-forward;
# runc + containernetworking-plugins: containerd's runtime and the pod network; python3: the
# capability-dropping runtime wrapper (it needs json: python3-minimal lacks it).
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      systemd systemd-sysv dbus iptables nftables conntrack ethtool socat iproute2 util-linux mount kmod \
      ca-certificates procps runc containernetworking-plugins python3 \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/*

# A container boots no consoles, device manager or hardware units.
RUN systemctl mask getty.target console-getty.service systemd-udevd.service systemd-udev-trigger.service \
      systemd-modules-load.service sys-kernel-config.mount sys-kernel-debug.mount sys-kernel-tracing.mount \
      systemd-journald-audit.socket \
 && printf '[Journal]\nReadKMsg=no\n' > /etc/systemd/journald.conf.d-deployproof \
 && mkdir -p /etc/systemd/journald.conf.d && mv /etc/systemd/journald.conf.d-deployproof /etc/systemd/journald.conf.d/10-node.conf

COPY files/ /
COPY runc-without-missing-caps /usr/local/libexec/deployproof/runc-without-missing-caps
RUN chmod 0755 /usr/local/bin/entrypoint /kind/bin/* /usr/local/libexec/deployproof/runc-without-missing-caps \
 && /usr/local/libexec/deployproof/runc-without-missing-caps --version >/dev/null \
 && systemctl enable containerd.service deployproof-preload.service kubelet.service deployproof-cni.path deployproof-netpol-guard.service

# systemd's way to be stopped in a container (docker stop).
STOPSIGNAL SIGRTMIN+3
ENTRYPOINT ["/usr/local/bin/entrypoint", "/sbin/init"]
