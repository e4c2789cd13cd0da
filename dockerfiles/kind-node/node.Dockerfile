# A deployproof kind node: the node base plus our builds of containerd, crictl and Kubernetes, and
# every image the node runs as tarballs that deployproof-preload.service imports into containerd.
ARG NODE_BASE
FROM ${NODE_BASE}
ARG PAUSE_VERSION

# containerd 1.7 (+ shim, ctr) and crictl, built from source.
COPY bin/ /usr/local/bin/
# kubeadm, kubelet, kubectl at versions.KUBERNETES, built from source.
COPY kube/ /usr/bin/
# /kind/version, /kind/manifests/*, /kind/images/*.tar (largest, so last).
COPY kind/ /kind/
RUN sed -i "s/PAUSE_VERSION/${PAUSE_VERSION}/" /etc/containerd/config.toml \
 && kubeadm version -o short && kubelet --version && containerd --version
