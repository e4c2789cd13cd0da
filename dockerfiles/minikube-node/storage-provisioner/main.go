// The storage-provisioner of our minikube node: minikube's own host-path provisioner (k8s.io/minikube/pkg/storage),
// run without leader election.
//
// Why not minikube's cmd/storage-provisioner: built from its module at v1.38.1, it links client-go 0.35, which no
// longer has the endpoints lock that sig-storage-lib-external-provisioner v6 asks for when it elects a leader; the
// pod then exits with "endpoints lock is removed, migrate to leases" (measured). The addon runs one pod on one
// node, so there is nobody to elect: LeaderElection(false).
package main

import (
	"context"
	"flag"
	"os"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/klog/v2"
	"k8s.io/minikube/pkg/storage"
	"sigs.k8s.io/sig-storage-lib-external-provisioner/v6/controller"
)

// The provisioner minikube's "standard" StorageClass names, and where the addon's pod mounts the node's /tmp.
const (
	provisionerName = "k8s.io/minikube-hostpath"
	volumesDir      = "/tmp/hostpath-provisioner"
)

func main() {
	klog.InitFlags(nil)
	flag.Parse()
	if err := os.MkdirAll("/tmp", 0o755); err != nil {
		klog.Exitf("creating /tmp: %v", err)
	}
	config, err := rest.InClusterConfig()
	if err != nil {
		klog.Exitf("in-cluster config: %v", err)
	}
	client, err := kubernetes.NewForConfig(config)
	if err != nil {
		klog.Exitf("client: %v", err)
	}
	version, err := client.Discovery().ServerVersion()
	if err != nil {
		klog.Exitf("server version: %v", err)
	}
	klog.Infof("host-path provisioner %s for %s, volumes under %s, no leader election", provisionerName, version.GitVersion, volumesDir)
	controller.NewProvisionController(client, provisionerName, storage.NewHostPathProvisioner(volumesDir), version.GitVersion,
		controller.LeaderElection(false)).Run(context.Background())
}
