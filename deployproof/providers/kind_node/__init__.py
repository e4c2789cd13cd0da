"""kind for real, offline: everything kind needs, built on this machine.

- `kindbin`     — the kind binary, `go install`ed from the Go module proxy at versions.KIND, cached;
- `components`  — the extra binaries the node needs that the embedded build does not make
                  (kubeadm, a CoreDNS with kubeadm's Corefile plugins, kube-network-policies);
- `images`      — the images the node runs (control plane, etcd, CoreDNS, pause, CNI/NetworkPolicy
                  agent, metrics-server), FROM scratch or our Debian base, around our binaries;
- `nodeimage`   — the node image: a systemd Debian with containerd, runc, CNI plugins, crictl, the
                  Kubernetes binaries and every image above preloaded, tagged by content;
- `runtime`     — an OCI runtime of ours for the dockerd we start, so `--privileged` node containers
                  run on hosts whose capability bounding set lacks a capability (see runc_wrapper).
"""
