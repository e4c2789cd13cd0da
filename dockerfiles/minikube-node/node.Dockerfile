# A deployproof minikube node (minikube's --base-image): our kind node base (Debian booting systemd, runc
# behind the capability-dropping wrapper, CNI plugins, iptables…) with what minikube's kicbase adds and
# minikube relies on, and without the kind-only units. No Kubernetes and no images: minikube copies
# kubeadm/kubelet/kubectl and the images from its cache (filled by minikube_node/cache.py), so this image
# does not depend on the Kubernetes version.
ARG NODE_BASE
FROM ${NODE_BASE}

# minikube drives the node over SSH as user `docker` with passwordless sudo, copies files with scp,
# backs up with rsync and probes registries with curl (only a warning offline).
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      openssh-server sudo rsync curl openssl \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/*

# containerd 2.x (+ shim, ctr) and crictl of the embedded build.
COPY bin/ /usr/local/bin/
COPY files/ /
# kind-only units out: minikube writes its own kubelet unit (/lib/systemd/system) and its own drop-in and
# CNI conflist; ours would shadow them (and the CNI path unit reads /kind/kubeadm.conf, never written here).
RUN systemctl disable kubelet.service deployproof-cni.path deployproof-preload.service \
 && rm -rf /etc/systemd/system/kubelet.service /etc/systemd/system/kubelet.service.d \
      /etc/systemd/system/deployproof-cni.path /etc/systemd/system/deployproof-cni.service \
 && sed -i 's/^\( *\)sandbox_image = .*/\1sandbox_image = "registry.k8s.io\/pause:3.10.1"/' /etc/containerd/config.toml \
 && mkdir -p /opt/cni && ln -s /usr/lib/cni /opt/cni/bin \
 && groupadd -f docker && useradd -m -s /bin/bash -g docker -G sudo docker \
 && usermod -p '*' docker && passwd -d docker >/dev/null \
 && mkdir -p /home/docker/.ssh /etc/kubernetes/manifests && chmod 0700 /home/docker/.ssh \
 && chown -R docker:docker /home/docker \
 && chmod 0440 /etc/sudoers.d/20-passwordless-sudo && chmod 0755 /usr/local/bin/minikube-entrypoint \
 && chmod 0755 /usr/local/bin/refuse-untranslated-services /usr/local/bin/queue-pod-connections \
 && systemctl enable ssh.service containerd.service deployproof-service-guard.service deployproof-netpol-queue.service \
 && containerd --version && crictl --version && mkdir -p /run/sshd && sshd -t

ENTRYPOINT ["/usr/local/bin/minikube-entrypoint", "/usr/local/bin/entrypoint", "/sbin/init"]
