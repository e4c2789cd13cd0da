"""minikube for real, offline (issue 14): the minikube binary built from the Go module proxy (minikubebin),
our own node image for its docker driver's --base-image (nodeimage), and its cache filled with our builds
(offline: Kubernetes binaries and the images under kubeadm's names), so `minikube start` needs no network.

    python -m deployproof.providers.minikube_node [--force] [--kubernetes-version 1.36]
"""
