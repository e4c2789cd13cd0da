"""The one place where every pinned version lives.

Everything the embedded cluster builds from source, and every image the
suite builds, reads its version from here, so a bump is a one-line change
and the build cache (keyed by these values) is invalidated by it.
"""

KUBERNETES = "v1.34.4"  # runs on cgroup v1 by default (>=1.35 would need failCgroupV1: false)
CONTAINERD = "v1.7.35"  # Debian's 1.6.20 is below what k8s >= 1.32 wants
ETCD = "v3.5.35"
COREDNS = "v1.14.7"
METRICS_SERVER = "v0.8.0"
HELM = "v3.19.5"
CRICTL = "v1.34.0"

# The oldest Go toolchain that builds every component above (Kubernetes 1.34 needs 1.24).
GO_MINIMUM = "1.24"

# NodePorts the suite exposes on the host (the charts' values and the kind port mappings follow these).
FRONTEND_NODE_PORT = 30080  # the app
ECHO_NODE_PORT = 30081  # the cluster tests' echo service

# Go modules of the upstream projects (fetched through the Go module proxy).
KUBERNETES_MODULE = "k8s.io/kubernetes"
CONTAINERD_MODULE = "github.com/containerd/containerd"
ETCD_SERVER_MODULE = "go.etcd.io/etcd/server/v3"
COREDNS_MODULE = "github.com/coredns/coredns"
METRICS_SERVER_MODULE = "sigs.k8s.io/metrics-server"
HELM_MODULE = "helm.sh/helm/v3"
CRICTL_MODULE = "sigs.k8s.io/cri-tools"

# Kubernetes commands built together in one `go build` so shared packages compile once.
KUBERNETES_COMMANDS = (
    "kube-apiserver",
    "kube-controller-manager",
    "kube-scheduler",
    "kubelet",
    "kube-proxy",
    "kubectl",
)

# Tags of the images built locally for the embedded cluster's add-ons.
PAUSE_IMAGE = "deployproof/pause:3.10-local"
COREDNS_IMAGE = f"deployproof/coredns:{COREDNS}"
METRICS_SERVER_IMAGE = f"deployproof/metrics-server:{METRICS_SERVER}"

# Images (dockerfiles/, deployproof/images.py, deployproof/baseimages.py).
# Official base images, used where a container registry is reachable (`--base official`).
PYTHON_OFFICIAL_BASE = "python:3.11-slim-bookworm"
NODE_OFFICIAL_BASE = "node:20-bookworm-slim"
POSTGRES_OFFICIAL_BASE = "postgres:15-bookworm"
# Their locally built equivalents (`--base local`): Debian packages of this suite via debootstrap.
DEBIAN_SUITE = "bookworm"
DEBIAN_PYTHON = "3.11"  # Debian 12's python3.11, same minor as PYTHON_OFFICIAL_BASE
DEBIAN_POSTGRES = "15"  # Debian 12's postgresql-15, same major as POSTGRES_OFFICIAL_BASE
NODE_MAJOR = "20"  # the host's node binary is copied into the local base; Debian 12 only has 18
DOCKER_SDK = "7.1.0"  # the `docker` PyPI package used by deployproof.images

# Analyzers of the AI-assisted operations' fallbacks (deployproof/aiops), installed on demand into the cache.
# checkov pins packaging<24, which our lock cannot share (packaging 26): it gets a venv of its own.
CHECKOV = "3.3.30"  # Dockerfile and Kubernetes manifest checks (PyPI)
KUBE_SCORE = "v1.20.0"  # Kubernetes object analysis (Go module proxy)
KUBE_SCORE_MODULE = "github.com/zegl/kube-score"

# Debian packages the set-up installs (./dev reads this line; `deployproof doctor` prints it as the fix).
APT_PACKAGES = (
    "docker.io docker-compose containerd runc containernetworking-plugins iptables conntrack socat iproute2 kmod "
    "debootstrap postgresql chromium chromium-driver python3-venv"
)

# --- kind for real, offline (issue 11; deployproof/providers/kind_node) -------------------------
KIND = "v0.33.0"  # built with `go install`; runs our node image, never kindest/node
KIND_MODULE = "sigs.k8s.io/kind"
# kind's NetworkPolicy agent (kindnetd's own module is not served; we run Debian's bridge plugin + this).
KUBE_NETWORK_POLICIES = "v0.8.0"
KUBE_NETWORK_POLICIES_MODULE = "sigs.k8s.io/kube-network-policies"
# The pause image kubeadm of versions.KUBERNETES names (containerd's sandbox_image in the node).
KIND_PAUSE_VERSION = "3.10.1"
# Kubelet settings of the node on cgroup v1: Kubernetes >= 1.35 refuses v1 unless told otherwise;
# the node's kubeadm patch writes failCgroupV1 from here, so a version bump is a one-line change.
KIND_FAIL_CGROUP_V1 = False
