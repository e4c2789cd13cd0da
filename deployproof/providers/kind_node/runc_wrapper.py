#!/usr/bin/python3
"""An OCI runtime in front of runc that drops the capabilities this host cannot grant.

`docker run --privileged` asks runc for every capability the engine knows. When the host's
capability bounding set lacks one (CAP_SYS_RESOURCE on some VMs), runc fails with "unable to apply
caps: operation not permitted". Registered in the daemon config of the dockerd deployproof starts,
this wrapper removes from the container's spec (create/run: <bundle>/config.json; exec: --process
file) every capability that is not in its own bounding set — which it inherits from dockerd, i.e.
the host's — and then execs runc with the arguments unchanged. A spec that asks only for what the
host has is left byte-for-byte as it was.

Self-contained on purpose (standard library only, run by the system python): containerd's shim
execs it many times per container with a minimal environment.
"""

import json
import os
import sys

# Linux capability numbers (include/uapi/linux/capability.h).
CAPABILITIES = (
    "CHOWN", "DAC_OVERRIDE", "DAC_READ_SEARCH", "FOWNER", "FSETID", "KILL", "SETGID", "SETUID",
    "SETPCAP", "LINUX_IMMUTABLE", "NET_BIND_SERVICE", "NET_BROADCAST", "NET_ADMIN", "NET_RAW",
    "IPC_LOCK", "IPC_OWNER", "SYS_MODULE", "SYS_RAWIO", "SYS_CHROOT", "SYS_PTRACE", "SYS_PACCT",
    "SYS_ADMIN", "SYS_BOOT", "SYS_NICE", "SYS_RESOURCE", "SYS_TIME", "SYS_TTY_CONFIG", "MKNOD",
    "LEASE", "AUDIT_WRITE", "AUDIT_CONTROL", "SETFCAP", "MAC_OVERRIDE", "MAC_ADMIN", "SYSLOG",
    "WAKE_ALARM", "BLOCK_SUSPEND", "AUDIT_READ", "PERFMON", "BPF", "CHECKPOINT_RESTORE",
)
RUNC_CANDIDATES = ("/usr/sbin/runc", "/usr/bin/runc", "/usr/local/sbin/runc", "/usr/local/bin/runc")


def bounding_set(status_text: str) -> set[str]:
    """Capability names in the CapBnd line of a /proc/<pid>/status text."""
    for line in status_text.splitlines():
        if line.startswith("CapBnd:"):
            mask = int(line.split()[1], 16)
            return {f"CAP_{name}" for bit, name in enumerate(CAPABILITIES) if mask >> bit & 1}
    raise ValueError("no CapBnd line")


def missing_capabilities(bounding: set[str]) -> list[str]:
    """Known capabilities the bounding set lacks (what `--privileged` would ask for in vain)."""
    return [f"CAP_{name}" for name in CAPABILITIES if f"CAP_{name}" not in bounding]


def drop_unavailable(capabilities: dict, bounding: set[str]) -> bool:
    """Remove names outside `bounding` from every set of an OCI `capabilities` object; True if changed."""
    changed = False
    for key, names in capabilities.items():
        if isinstance(names, list):
            kept = [name for name in names if name in bounding]
            if len(kept) != len(names):
                capabilities[key] = kept
                changed = True
    return changed


def spec_file(args: list[str]) -> tuple[str, str] | None:
    """(path, kind) of the JSON file runc will read for this command line: a bundle's config or a process file."""
    commands = ("create", "run", "exec")
    index = next((i for i, arg in enumerate(args) if arg in commands), None)
    if index is None:
        return None
    command, rest = args[index], args[index + 1:]
    flag = "--process" if command == "exec" else "--bundle"
    short = "-p" if command == "exec" else "-b"
    value = None
    for i, arg in enumerate(rest):
        if arg in (flag, short) and i + 1 < len(rest):
            value = rest[i + 1]
        elif arg.startswith(flag + "="):
            value = arg.split("=", 1)[1]
    if command == "exec":
        return (value, "process") if value else None
    return (os.path.join(value or os.getcwd(), "config.json"), "bundle")


def fix_spec(path: str, kind: str, bounding: set[str]) -> bool:
    with open(path) as handle:
        spec = json.load(handle)
    capabilities = (spec.get("process") or {}).get("capabilities") if kind == "bundle" else spec.get("capabilities")
    if not capabilities or not drop_unavailable(capabilities, bounding):
        return False
    partial = path + ".deployproof-partial"
    with open(partial, "w") as handle:
        json.dump(spec, handle)
    os.replace(partial, path)
    return True


def main(argv: list[str]) -> None:
    args = argv[1:]
    runc = os.environ.get("DEPLOYPROOF_RUNC") or next((p for p in RUNC_CANDIDATES if os.access(p, os.X_OK)), "runc")
    target = spec_file(args)
    if target is not None:
        with open("/proc/self/status") as handle:
            bounding = bounding_set(handle.read())
        if missing_capabilities(bounding):
            fix_spec(*target, bounding)
    os.execv(runc, [runc, *args])


if __name__ == "__main__":
    main(sys.argv)
