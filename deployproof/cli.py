"""Command line: `deployproof cluster up|down|status|logs`, `deployproof doctor`, `deployproof build-cluster`."""

from __future__ import annotations

import argparse
import json
import os
import sys

from .errors import DeployProofError


def _provider(args: argparse.Namespace):
    from .providers import get_provider

    return get_provider(args.provider, kubeconfig=args.kubeconfig, context=args.context)


def cmd_up(args: argparse.Namespace) -> int:
    provider = _provider(args)
    timings = provider.up()
    info = provider.describe()
    print(json.dumps({"provider": info.provider, "kubeconfig": str(info.kubeconfig), "context": info.context, "timings_s": timings}, indent=2))
    print(f"\nexport KUBECONFIG={info.kubeconfig}")
    return 0


def cmd_down(args: argparse.Namespace) -> int:
    problems = _provider(args).down()
    return 1 if problems else 0


def cmd_status(args: argparse.Namespace) -> int:
    status = _provider(args).status()
    print(json.dumps(status, indent=2, default=str))
    return 0 if not status.get("problem") else 1


def cmd_logs(args: argparse.Namespace) -> int:
    from .providers.embedded.layout import Layout

    layout = Layout.default()
    files = sorted(layout.logs.glob("*.log")) if layout.logs.exists() else []
    if args.component:
        files = [f for f in files if f.stem == args.component]
    if not files:
        print(f"no logs found in {layout.logs}", file=sys.stderr)
        return 1
    for path in files:
        print(f"==> {path} <==")
        print("\n".join(path.read_text(errors="replace").splitlines()[-args.lines:]))
    return 0


def cmd_doctor(args: argparse.Namespace) -> int:
    from .doctor import checks, print_report

    print("deployproof doctor: prerequisites of the embedded cluster and the suite")
    return 0 if print_report(checks()) else 1


def cmd_build(args: argparse.Namespace) -> int:
    from .providers.embedded.build import ensure_built

    timings = ensure_built()
    print(json.dumps(timings, indent=2))
    return 0


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="deployproof", description="Bring up a cluster, deploy the Todo AI Chatbot, prove it.")
    sub = top.add_subparsers(dest="command", required=True)

    cluster = sub.add_parser("cluster", help="manage the cluster")
    cluster_sub = cluster.add_subparsers(dest="action", required=True)
    for name, func, text in (
        ("up", cmd_up, "bring the cluster up (or reuse a healthy one)"),
        ("down", cmd_down, "tear the cluster down, leaving nothing behind"),
        ("status", cmd_status, "show the cluster's health"),
        ("logs", cmd_logs, "print the embedded cluster's component logs"),
    ):
        p = cluster_sub.add_parser(name, help=text)
        p.add_argument("--provider", default=os.environ.get("DEPLOYPROOF_CLUSTER_PROVIDER", "embedded"),
                       help="auto|embedded|minikube|kind|existing (env DEPLOYPROOF_CLUSTER_PROVIDER; default embedded)")
        p.add_argument("--kubeconfig", default=os.environ.get("DEPLOYPROOF_KUBECONFIG"), help="for --provider existing")
        p.add_argument("--context", default=os.environ.get("DEPLOYPROOF_KUBE_CONTEXT"), help="for --provider existing")
        if name == "logs":
            p.add_argument("component", nargs="?", help="e.g. kubelet, kube-apiserver")
            p.add_argument("-n", "--lines", type=int, default=60)
        p.set_defaults(func=func)

    doctor = sub.add_parser("doctor", help="check prerequisites and print how to install what is missing")
    doctor.set_defaults(func=cmd_doctor)
    build = sub.add_parser("build-cluster", help="build the embedded cluster's components from source (cached)")
    build.set_defaults(func=cmd_build)
    return top


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return args.func(args)
    except DeployProofError as exc:
        print(f"error: {exc.cause}", file=sys.stderr)
        if exc.fix:
            print(f"  fix: {exc.fix}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
