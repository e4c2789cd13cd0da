"""Command line: `deployproof deploy|undeploy`, `deployproof cluster up|down|status|logs`, `doctor`, `build-cluster`.

Options come from settings.FIELDS (the same names and env vars as the pytest options; defaults
from `[tool.pytest.ini_options]` in ./pyproject.toml). Exit codes: 0 done, 1 the deployment (or
another operation) failed, 2 a usage error (nothing was started), 3 a missing prerequisite.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .errors import DeployProofError, PrerequisiteError, UsageError

EXIT_FAILED, EXIT_USAGE, EXIT_PREREQUISITE, EXIT_INTERRUPTED = 1, 2, 3, 130
# The registry options too: a kind cluster made for --image-registry pulls from it (containerd hosts config at creation).
CLUSTER_FIELDS = ("cluster_provider", "kubeconfig", "kube_context", "kubernetes_version", "kind_nodes", "image_registry",
                  "image_registry_ca", "minikube_offline", "minikube_app_access")
# Settings the CLI has no use for (they shape a pytest run: its scope, its load tests).
PYTEST_ONLY_FIELDS = ("criteria", "allow_load_to")
# Older spellings of the cluster commands' options, still accepted.
ALIASES = {"cluster_provider": ("--provider",), "kube_context": ("--context",)}


def version_text() -> str:
    from importlib.metadata import PackageNotFoundError, version

    from . import __version__, versions

    try:
        package = version("deployproof")
    except PackageNotFoundError:
        package = __version__
    return (f"deployproof {package} (Kubernetes {versions.KUBERNETES} by default; supported: "
            f"{', '.join(versions.SUPPORTED_KUBERNETES)}; helm {versions.HELM})")


def load_settings(args: argparse.Namespace, pyproject: Path | None = None):
    """The one Settings object from the parsed options, the environment and ./pyproject.toml's ini keys."""
    from .settings import FIELDS, Settings, read_ini

    given = {f.name: getattr(args, f.name) for f in FIELDS if getattr(args, f.name, None) is not None}
    return Settings.load(given, ini=read_ini(pyproject or Path.cwd() / "pyproject.toml"))


def _provider(settings):
    from .providers import get_provider

    return get_provider(settings)


def cmd_deploy(args: argparse.Namespace) -> int:
    from .deploy import cluster, deploy

    settings = load_settings(args)
    if settings.sources.get("keep", "default") == "default":
        # From the command line the point is an app that stays up; `deployproof undeploy` removes it.
        settings = settings.with_values(keep="always")
    provider = _provider(settings)
    record: dict[str, str] = {}
    with cluster(settings, provider) as run, deploy(settings, provider, cluster_run=run, record=record) as deployment:
        print(f"\nrelease {deployment.release} in namespace {deployment.namespace} on {deployment.provider} "
              f"(context {deployment.context}, kubeconfig {deployment.kubeconfig})")
        for name, ref in sorted(deployment.images.items()):
            print(f"  image {name:9} {ref.describe()}")
        print("timings:")
        for line in deployment.timings.lines():
            print(f"  {line}")
        print(f"  warm steps: {record.get('sc6_warm_steps', '-')}")
        if deployment.url is None:
            raise deployment.url_error
        print(f"\napp: {deployment.url}")
    if not settings.keep_after(False):
        print(f"(--keep={settings.keep}: the release was uninstalled again)")
    return 0


def cmd_undeploy(args: argparse.Namespace) -> int:
    from .deploy import undeploy

    settings = load_settings(args)
    undeploy(settings, _provider(settings))
    print(f"release {settings.release_name} and namespace {settings.namespace} removed")
    return 0


def cmd_up(args: argparse.Namespace) -> int:
    provider = _provider(load_settings(args))
    timings = provider.up()
    info = provider.describe()
    print(json.dumps({"provider": info.provider, "kubeconfig": str(info.kubeconfig), "context": info.context, "timings_s": timings}, indent=2))
    print(f"\nkubectl --kubeconfig {info.kubeconfig} --context {info.context} get nodes")
    return 0


def cmd_down(args: argparse.Namespace) -> int:
    problems = _provider(load_settings(args)).down()
    return EXIT_FAILED if problems else 0


def cmd_status(args: argparse.Namespace) -> int:
    status = _provider(load_settings(args)).status()
    print(json.dumps(status, indent=2, default=str))
    return 0 if not status.get("problem") else EXIT_FAILED


def cmd_logs(args: argparse.Namespace) -> int:
    from .providers.embedded.layout import Layout

    layout = Layout.default()
    files = sorted(layout.logs.glob("*.log")) if layout.logs.exists() else []
    if args.component:
        files = [f for f in files if f.stem == args.component]
    if not files:
        print(f"no logs found in {layout.logs}", file=sys.stderr)
        return EXIT_FAILED
    for path in files:
        print(f"==> {path} <==")
        print("\n".join(path.read_text(errors="replace").splitlines()[-args.lines:]))
    return 0


def cmd_doctor(args: argparse.Namespace) -> int:
    from .doctor import checks, print_report

    print("deployproof doctor: prerequisites of the embedded cluster and the suite")
    return 0 if print_report(checks()) else EXIT_PREREQUISITE


def cmd_build(args: argparse.Namespace) -> int:
    from .providers.embedded.build import ensure_built

    timings = ensure_built(kubernetes_version=load_settings(args).kubernetes_version)
    print(json.dumps(timings, indent=2))
    return 0


def add_settings_options(parser: argparse.ArgumentParser, names: tuple[str, ...] | None = None) -> None:
    """One option per setting (all, or `names`); defaults stay None so env, ini and defaults apply in order."""
    from .settings import FIELDS

    group = parser.add_argument_group("settings (each also an environment variable; defaults from ./pyproject.toml)")
    for f in FIELDS:
        if (names is not None and f.name not in names) or f.name in PYTEST_ONLY_FIELDS:
            continue
        metavar = "|".join(f.choices) if f.choices else f.name.upper()
        extra = {"action": "store_const", "const": "true"} if f.flag else {"metavar": metavar}
        group.add_argument(f.option, *ALIASES.get(f.name, ()), dest=f.name, default=None, **extra,
                           help=f"{f.help} [env {f.env}; default {f.default if f.default not in (None, '') else 'none'}]")


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="deployproof", description="Bring up a cluster, deploy the Todo AI Chatbot, prove it.",
                                  epilog="exit codes: 0 done, 1 failed (deployment or operation), 2 usage error, 3 missing prerequisite")
    top.add_argument("--version", action="version", version=version_text())
    top.add_argument("-v", "--verbose", action="count", default=0, help="also show every command run")
    top.add_argument("-q", "--quiet", action="count", default=0, help="only warnings and errors on stderr")
    sub = top.add_subparsers(dest="command", required=True)

    deploy = sub.add_parser("deploy", help="build, load and install the app, wait until it is Ready, print its URL")
    add_settings_options(deploy)
    deploy.set_defaults(func=cmd_deploy)
    undeploy = sub.add_parser("undeploy", help="uninstall the release and delete its namespace")
    add_settings_options(undeploy, CLUSTER_FIELDS + ("namespace", "release_name", "values"))
    undeploy.set_defaults(func=cmd_undeploy)

    cluster = sub.add_parser("cluster", help="manage the cluster")
    cluster_sub = cluster.add_subparsers(dest="action", required=True)
    for name, func, text in (
        ("up", cmd_up, "bring the cluster up (or reuse a healthy one)"),
        ("down", cmd_down, "tear the cluster down, leaving nothing behind"),
        ("status", cmd_status, "show the cluster's health"),
        ("logs", cmd_logs, "print the embedded cluster's component logs"),
    ):
        p = cluster_sub.add_parser(name, help=text)
        add_settings_options(p, CLUSTER_FIELDS)
        if name == "logs":
            p.add_argument("component", nargs="?", help="e.g. kubelet, kube-apiserver")
            p.add_argument("-n", "--lines", type=int, default=60)
        p.set_defaults(func=func)

    doctor = sub.add_parser("doctor", help="check prerequisites and print how to install what is missing")
    doctor.set_defaults(func=cmd_doctor)
    build = sub.add_parser("build-cluster", help="build the embedded cluster's components from source (cached)")
    add_settings_options(build, ("kubernetes_version",))
    build.set_defaults(func=cmd_build)
    return top


def exit_code(exc: DeployProofError) -> int:
    if isinstance(exc, UsageError):
        return EXIT_USAGE
    if isinstance(exc, PrerequisiteError):
        return EXIT_PREREQUISITE
    return EXIT_FAILED


def main(argv: list[str] | None = None) -> int:
    from .progress import configure_cli_logging

    args = parser().parse_args(argv)  # argparse's own usage errors exit with 2
    configure_cli_logging(args.verbose - args.quiet)
    try:
        return args.func(args)
    except DeployProofError as exc:
        print(f"error: {exc.cause}", file=sys.stderr)
        if exc.fix:
            print(f"  fix: {exc.fix}", file=sys.stderr)
        return exit_code(exc)
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
