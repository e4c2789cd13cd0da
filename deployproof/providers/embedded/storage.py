"""Persistent volumes for the embedded cluster: a default StorageClass backed by local directories.

There is no cloud or CSI driver here. The controller-manager's hostPath provisioner
creates directories as root with mode 0750, which a non-root database cannot write,
so instead we keep a small pool of pre-created PersistentVolumes over world-writable
folders in the state dir (local static provisioning). Released volumes (their claim
was deleted) are wiped and offered again on every `up`.
"""

from __future__ import annotations

import json
import shutil

from ...progress import say
from .context import StepContext

STORAGE_CLASS = "standard"
POOL_SIZE = 6
VOLUME_SIZE = "5Gi"


def _storage_class() -> dict:
    return {
        "apiVersion": "storage.k8s.io/v1",
        "kind": "StorageClass",
        "metadata": {"name": STORAGE_CLASS, "annotations": {"storageclass.kubernetes.io/is-default-class": "true"}},
        "provisioner": "kubernetes.io/no-provisioner",
        # Bind when a pod is scheduled, like a real local volume.
        "volumeBindingMode": "WaitForFirstConsumer",
        "reclaimPolicy": "Retain",
    }


def _volume(ctx: StepContext, index: int) -> dict:
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolume",
        "metadata": {"name": f"deployproof-pv-{index}", "labels": {"deployproof/pool": "local"}},
        "spec": {
            "capacity": {"storage": VOLUME_SIZE},
            "accessModes": ["ReadWriteOnce"],
            "persistentVolumeReclaimPolicy": "Retain",
            "storageClassName": STORAGE_CLASS,
            "local": {"path": str(ctx.layout.volumes / f"pv-{index}")},
            "nodeAffinity": {"required": {"nodeSelectorTerms": [{"matchExpressions": [
                {"key": "kubernetes.io/hostname", "operator": "In", "values": [ctx.net.node_name]}]}]}},
        },
    }


def ensure_volumes(ctx: StepContext) -> None:
    """Create the StorageClass and the volume pool; recycle volumes whose claim is gone."""
    listing = json.loads(ctx.kubectl("get", "pv", "-l", "deployproof/pool=local", "-o", "json").stdout)
    phases = {pv["metadata"]["name"]: pv["status"].get("phase") for pv in listing["items"]}
    manifests = [_storage_class()]
    for index in range(POOL_SIZE):
        name = f"deployproof-pv-{index}"
        folder = ctx.layout.volumes / f"pv-{index}"
        if phases.get(name) in ("Released", "Failed"):
            say(f"recycling {name} (its claim was deleted)")
            ctx.kubectl("delete", "pv", name, "--wait=true")
            shutil.rmtree(folder, ignore_errors=True)
        elif name in phases:
            continue
        folder.mkdir(parents=True, exist_ok=True)
        # World-writable: the pod's non-root user (any uid) creates its own data dir inside.
        folder.chmod(0o777)
        manifests.append(_volume(ctx, index))
    ctx.kubectl("apply", "-f", "-", input=json.dumps({"apiVersion": "v1", "kind": "List", "items": manifests}))
