"""The one settings object of the suite, the CLI and the library: names, defaults, env vars, validation.

Every setting is declared once in FIELDS: its command-line option (the same in pytest and
in `deployproof`), its environment variable, its ini key (`[tool.pytest.ini_options]` in
pyproject.toml, e.g. `deployproof_keep = "never"`), its default, its type and its choices.
Precedence: command line, then environment, then ini, then default. Everything is parsed
and validated before any cluster work starts: a bad value is a UsageError naming the
option, the value and what would be accepted.
"""

from __future__ import annotations

import ipaddress
import os
import re
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Callable, Mapping
from urllib.parse import urlsplit

from . import versions
from .errors import UsageError
from .image_registry import Registry, parse_registry

PROVIDERS = ("auto", "embedded", "minikube", "kind", "existing")
KEEP_CHOICES = ("always", "on-failure", "never")
KIND_NODES = ("1", "3")
IMAGE_BASES = ("local", "official")
APP_IMAGES = ("backend", "frontend", "database")
ALL_CRITERIA = "all"


def _criteria_ids() -> tuple[str, ...]:
    from .criteria import CRITERIA

    return tuple(CRITERIA)


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise ValueError("expected a whole number of seconds") from None
    if value <= 0:
        raise ValueError("expected a number of seconds above 0")
    return value


def _paths(text: str) -> tuple[Path, ...]:
    paths = tuple(Path(os.path.expanduser(p.strip())).resolve() for p in text.split(",") if p.strip())
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        raise ValueError(f"no such file: {', '.join(missing)}")
    return paths


def _images(text: str) -> dict[str, str]:
    images: dict[str, str] = {}
    for pair in filter(None, (p.strip() for p in text.split(","))):
        name, sep, ref = pair.partition("=")
        if not sep or not ref or name not in APP_IMAGES:
            raise ValueError(f"{pair!r} is not NAME=IMAGE with NAME one of {', '.join(APP_IMAGES)}")
        if ":" not in ref.rsplit("/", 1)[-1] and "@" not in ref:
            raise ValueError(f"{ref!r} has no tag: give repository:tag (or repository@sha256:digest)")
        images[name] = ref
    missing = [name for name in APP_IMAGES if name not in images]
    if missing:
        raise ValueError(f"missing {', '.join(missing)}: give backend=IMAGE,frontend=IMAGE,database=IMAGE")
    return images


def _bool(text: str) -> bool:
    """A switch's value: true/1/yes/on or false/0/no/off (the flag itself gives "true")."""
    value = text.strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off", ""):
        return False
    raise ValueError("not a switch value: give true or false")


def _kind_nodes(text: str) -> int:
    if text.strip() not in KIND_NODES:
        raise ValueError(f"not one of {', '.join(KIND_NODES)} (one node, or a control plane and two workers)")
    return int(text)


def _criteria(text: str) -> tuple[str, ...]:
    known = _criteria_ids()
    if text.strip().lower() == ALL_CRITERIA:
        return known
    chosen = tuple(dict.fromkeys(c.strip().upper() for c in text.split(",") if c.strip()))
    unknown = [c for c in chosen if c not in known]
    if unknown or not chosen:
        raise ValueError(f"unknown criteria {', '.join(unknown) or '(none given)'}: choose from all, {', '.join(known)}")
    return chosen


def _app_url(text: str) -> str | None:
    """`http(s)://HOST[:PORT]` of an Ingress or LoadBalancer serving the app, normalized (no trailing slash)."""
    text = text.strip()
    if not text:
        return None
    parts = urlsplit(text)
    try:
        parts.port  # noqa: B018 - raises on a port that is no number
    except ValueError:
        raise ValueError("its port is not a number from 1 to 65535") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("expected http(s)://HOST[:PORT], e.g. https://todo.example.com")
    if parts.username or parts.password:
        raise ValueError("leave credentials out of the URL")
    # The app's pages and Better Auth's callbacks are absolute paths from the root of the origin.
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise ValueError("the app is served at the root of its host: give http(s)://HOST[:PORT] without a path")
    return f"{parts.scheme}://{parts.netloc}"


_HOSTNAME = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$")


def _load_targets(text: str) -> tuple[str, ...]:
    """HOST|CIDR[,…] → host names lowercased, addresses and networks normalized (`10.0.0.7` → `10.0.0.7/32`)."""
    targets: list[str] = []
    for item in filter(None, (part.strip().lower().strip("[]") for part in text.split(","))):
        if "/" in item:
            try:
                targets.append(str(ipaddress.ip_network(item, strict=True)))
                continue
            except ValueError:
                try:
                    hint = f": did you mean {ipaddress.ip_network(item, strict=False)}?"
                except ValueError:
                    hint = ""
                raise ValueError(f"{item!r} is not a network (a CIDR such as 10.0.0.0/24){hint}") from None
        try:
            targets.append(str(ipaddress.ip_network(item)))  # one address: a network of one
            continue
        except ValueError:
            pass
        if not _HOSTNAME.match(item.rstrip(".")):
            raise ValueError(f"{item!r} is neither a host name, an IP address nor a CIDR")
        targets.append(item.rstrip("."))
    return tuple(dict.fromkeys(targets))


@dataclass(frozen=True)
class Field:
    """One setting: where it can be given and how its text becomes a value."""

    name: str  # attribute of Settings
    option: str  # command-line option (pytest and the deployproof CLI)
    env: str  # environment variable
    default: str | None  # as text, parsed like any given value
    help: str
    choices: tuple[str, ...] | None = None
    parse: Callable[[str], Any] | None = None
    pytest_owned: bool = False  # registered by another pytest plugin (pytest-helm-charts' --kubeconfig)
    flag: bool = False  # a switch: the option takes no value (given = "true"); env and ini say true/false

    @property
    def ini(self) -> str:
        return "deployproof_" + self.name


FIELDS: tuple[Field, ...] = (
    Field("cluster_provider", "--cluster-provider", "DEPLOYPROOF_CLUSTER_PROVIDER", "auto",
          "which cluster: auto = minikube if on PATH, else kind if on PATH, else embedded", PROVIDERS),
    Field("kubeconfig", "--kubeconfig", "KUBECONFIG", None,
          "kubeconfig file of an existing cluster (--cluster-provider=existing)", parse=lambda t: _paths(t)[0],
          pytest_owned=True),
    Field("kube_context", "--kube-context", "DEPLOYPROOF_KUBE_CONTEXT", None,
          "kubeconfig context of an existing cluster (default: the kubeconfig's current context)"),
    Field("app_url", "--app-url", "DEPLOYPROOF_APP_URL", None,
          "where the host reaches the app: http(s)://HOST[:PORT] of an Ingress or LoadBalancer you have "
          "(default: the provider's NodePort URL)", parse=_app_url),
    Field("allow_load_to", "--allow-load-to", "DEPLOYPROOF_ALLOW_LOAD_TO", "",
          "hosts or networks (HOST|CIDR[,…]) the load tests may put load on besides loopback and the nodes of a "
          "cluster deployproof created", parse=_load_targets),
    Field("keep", "--keep", "DEPLOYPROOF_KEEP", "on-failure",
          "keep the release (and a cluster this run created) afterwards", KEEP_CHOICES),
    Field("namespace", "--namespace", "DEPLOYPROOF_NAMESPACE", "todo",
          "namespace of the release (created with Pod Security `restricted`)"),
    Field("release_name", "--release-name", "DEPLOYPROOF_RELEASE", "todo", "Helm release name"),
    Field("values", "--values", "DEPLOYPROOF_VALUES", "",
          "extra values files layered on the provider's values, comma separated", parse=_paths),
    Field("skip_image_build", "--skip-image-build", "DEPLOYPROOF_SKIP_IMAGE_BUILD", "",
          "use these local images instead of building (still loaded into the cluster): "
          "backend=IMAGE,frontend=IMAGE,database=IMAGE", parse=lambda t: _images(t) if t.strip() else None),
    Field("image_base", "--image-base", "DEPLOYPROOF_IMAGE_BASE", "local",
          "base images: local (built from Debian packages, no registry) or official (pulled)", IMAGE_BASES),
    Field("diagnostics_dir", "--diagnostics-dir", "DEPLOYPROOF_DIAGNOSTICS_DIR", "diagnostics",
          "where a failure's diagnostics folder goes", parse=Path),
    Field("report_dir", "--report-dir", "DEPLOYPROOF_REPORT_DIR", "reports",
          "where the success-criteria report goes", parse=Path),
    Field("deploy_timeout", "--deploy-timeout", "DEPLOYPROOF_DEPLOY_TIMEOUT", "600",
          "seconds allowed from helm install to every pod Ready", parse=_positive_int),
    Field("criteria", "--criteria", "DEPLOYPROOF_CRITERIA", ALL_CRITERIA,
          "the gate's scope: all, or criteria such as SC-1,SC-2 (a narrower scope for a quick local run)",
          parse=_criteria),
    Field("kubernetes_version", "--kubernetes-version", "DEPLOYPROOF_KUBERNETES_VERSION", versions.KUBERNETES,
          "Kubernetes release of the embedded cluster and the kind/minikube nodes: "
          f"{', '.join(versions.SUPPORTED_KUBERNETES)}, or a minor such as 1.36", parse=versions.supported_kubernetes),
    Field("image_registry", "--image-registry", "DEPLOYPROOF_IMAGE_REGISTRY", None,
          "push the built images to HOST[:PORT][/PREFIX] (credentials from your docker config) and install them by "
          "digest; the provider then loads nothing", parse=lambda t: parse_registry(t) if t.strip() else None),
    Field("image_registry_ca", "--image-registry-ca", "DEPLOYPROOF_IMAGE_REGISTRY_CA", None,
          "CA certificate (PEM) that signed the registry's certificate: installed for dockerd "
          "(/etc/docker/certs.d/HOST:PORT/ca.crt) and handed to the nodes of a kind cluster deployproof creates",
          parse=lambda t: _paths(t)[0]),
    Field("test_registry", "--test-registry", "DEPLOYPROOF_TEST_REGISTRY", "off",
          "on: start deployproof's own registry for this run (Debian's docker-registry, TLS and basic auth, at the "
          "address kind nodes reach the host at) and push the images there, as --image-registry would; for kind "
          "clusters, and existing ones whose nodes trust its CA (a kind cluster made with it)", ("off", "on")),
    Field("kind_nodes", "--kind-nodes", "DEPLOYPROOF_KIND_NODES", "1",
          "nodes of a kind cluster: 1, or 3 (a control plane and two workers: replicas spread, node loss tested)",
          parse=_kind_nodes),
    Field("minikube_offline", "--minikube-offline", "DEPLOYPROOF_MINIKUBE_OFFLINE", "false",
          "minikube with nothing downloaded: the docker driver, our node image (--base-image) and minikube's cache "
          "filled with our Kubernetes binaries and images (our CI sets it); without it minikube downloads what it needs",
          parse=_bool, flag=True),
    Field("minikube_app_access", "--minikube-app-access", "DEPLOYPROOF_MINIKUBE_APP_ACCESS", "auto",
          "how the host reaches the app on minikube's docker driver: node-ip (the NodePort at `minikube ip`, routable "
          "on Linux only), host-port (the node container publishes the app's NodePorts on 127.0.0.1, as kind does: "
          "macOS and Windows), auto = node-ip on Linux, host-port elsewhere", ("auto", "node-ip", "host-port")),
)
FIELDS_BY_NAME = {f.name: f for f in FIELDS}


@dataclass(frozen=True)
class Settings:
    """Typed, validated settings; build with Settings.load(…) or Settings() for the defaults."""

    cluster_provider: str = "auto"
    kubeconfig: Path | None = None
    kube_context: str | None = None
    app_url: str | None = None  # http(s)://HOST[:PORT], no trailing slash
    allow_load_to: tuple[str, ...] = ()  # host names and networks (CIDR), normalized
    keep: str = "on-failure"
    namespace: str = "todo"
    release_name: str = "todo"
    values: tuple[Path, ...] = ()
    skip_image_build: dict[str, str] | None = None
    image_base: str = "local"
    diagnostics_dir: Path = Path("diagnostics")
    report_dir: Path = Path("reports")
    deploy_timeout: int = 600
    criteria: tuple[str, ...] = field(default_factory=_criteria_ids)
    kubernetes_version: str = versions.KUBERNETES  # one of versions.SUPPORTED_KUBERNETES
    kind_nodes: int = 1
    image_registry: Registry | None = None  # --image-registry HOST[:PORT][/PREFIX]
    image_registry_ca: Path | None = None
    test_registry: str = "off"  # "on": registry_server.start_test_registry() for the session (pytest_plugin's `settings`)
    minikube_offline: bool = False
    minikube_app_access: str = "auto"  # auto, node-ip or host-port (providers/minikube.py)
    # where each value came from (option, env, ini or default): shown in the report header
    sources: Mapping[str, str] = field(default_factory=dict, compare=False)

    @classmethod
    def load(cls, given: Mapping[str, str | None] | None = None, *, ini: Mapping[str, str | None] | None = None,
             env: Mapping[str, str] | None = None) -> Settings:
        """Resolve every field from the command line (`given`, by field name), env, ini, default; validate all."""
        given, ini = given or {}, ini or {}
        env = os.environ if env is None else env
        values: dict[str, Any] = {}
        sources: dict[str, str] = {}
        problems: list[str] = []
        for f in FIELDS:
            for source, text in ((f.option, given.get(f.name)), (f"env {f.env}", env.get(f.env)),
                                 (f"ini {f.ini}", ini.get(f.name)), ("default", f.default)):
                if text is not None and (text != "" or source == "default"):
                    break
            if text is None:
                values[f.name], sources[f.name] = None, "default"
                continue
            try:
                values[f.name] = _parse(f, str(text))
            except ValueError as exc:
                where = f"{f.option}={text}" if source == f.option else f"{f.option} (from {source}) = {text!r}"
                problems.append(f"{where}: {exc}")
                continue
            sources[f.name] = source
        if values.get("test_registry") == "on" and values.get("image_registry") is not None:
            problems.append("--test-registry=on and --image-registry name two registries: the images go to one")
        if problems:
            raise UsageError("invalid settings:\n  " + "\n  ".join(problems), "fix the values above (see --help for each option)")
        return cls(**values, sources=sources)

    def with_values(self, **changes: Any) -> Settings:
        return replace(self, **changes)

    def keep_after(self, failed: bool) -> bool:
        """Whether to keep the release (and a cluster we created) after a run that failed or passed."""
        return self.keep == "always" or (self.keep == "on-failure" and failed)

    def describe(self) -> list[str]:
        """One line per setting with its source: the report header."""
        lines = []
        for f in fields(self):
            if f.name == "sources":
                continue
            value = getattr(self, f.name)
            if isinstance(value, tuple):
                value = ",".join(str(v) for v in value) or "-"
            lines.append(f"{f.name}={value} ({self.sources.get(f.name, 'default')})")
        return lines


def _parse(f: Field, text: str) -> Any:
    if f.choices is not None:
        if text not in f.choices:
            raise ValueError(f"not one of {', '.join(f.choices)}")
        return text
    if f.parse is not None:
        return f.parse(text)
    return text or None


def read_ini(pyproject: Path) -> dict[str, str]:
    """deployproof_* keys of `[tool.pytest.ini_options]` in a pyproject.toml, by field name (the CLI reads these)."""
    import tomllib

    if not pyproject.is_file():
        return {}
    section = tomllib.loads(pyproject.read_text()).get("tool", {}).get("pytest", {}).get("ini_options", {})
    return {f.name: str(section[f.ini]) for f in FIELDS if f.ini in section}
