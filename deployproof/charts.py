"""Helm on the charts in charts/: find the binary, lint, render, and check rendered manifests.

Used by the unit tests (no cluster: lint, template, schema validation) and by the release
code (dependency build before `helm upgrade --install`: a chart's file:// dependencies, such as
the umbrella's app charts or the library chart charts/common, are built before it). Every helm
call goes through the one subprocess runner, so a failure carries helm's own message and a fix.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any, Iterable, Mapping

import yaml

from . import versions
from .errors import CommandError, PrerequisiteError
from .runner import run

CHARTS_DIR = Path(__file__).resolve().parent.parent / "charts"
APP_CHARTS = ("backend", "frontend", "database")
LIBRARY = "common"  # helpers shared by the app charts; renders nothing on its own
UMBRELLA = "todo"
ENVIRONMENTS = ("minikube", "kind", "embedded", "production")

# Manifests are checked against the schemas of the Kubernetes minor the suite runs.
KUBE_VERSION = versions.KUBERNETES.lstrip("v")

HELM_FIX = (
    "put helm (>= 3.14) on PATH, or build it with the embedded cluster "
    "(`python -c 'from deployproof.providers.embedded import build; build.ensure_built((\"helm\",))'`)"
)


def chart_dir(name: str) -> Path:
    return CHARTS_DIR / name


def values_file(environment: str) -> Path:
    """The umbrella chart's values file for an environment (minikube, kind, embedded, production)."""
    return chart_dir(UMBRELLA) / f"values-{environment}.yaml"


def helm_binary() -> Path:
    """helm from PATH, else the one the embedded cluster built; raise with the fix when neither exists."""
    found = shutil.which("helm")
    if found:
        return Path(found)
    try:
        from .providers.embedded import build

        built = build.binary("helm")
    except Exception as exc:  # no Go toolchain: the embedded build location cannot even be named
        raise PrerequisiteError(f"helm is not on PATH and the embedded build cannot be located ({exc})", HELM_FIX) from exc
    if (built.parent / ".complete").exists() and built.exists():
        return built
    raise PrerequisiteError(f"helm is not on PATH and not built yet at {built}", HELM_FIX)


def helm(*args: str | Path, timeout: float = 300, fix: str = "", quiet: bool = True) -> str:
    """Run helm with `args`; return stdout, raise CommandError with helm's message on failure."""
    proc = run([helm_binary(), *args], timeout=timeout, fix=fix, quiet=quiet)
    return proc.stdout


def dependency_build(chart: str | Path = UMBRELLA) -> None:
    """Pack a chart's file:// dependencies into its charts/ folder, theirs first (what install, lint and template need).

    `helm dependency build` packs a local dependency as its folder stands, charts/ included, and never builds
    that folder's own dependencies: the umbrella's backend carries the library chart common only if backend's
    charts/ was built before. Every build packs afresh, so edits to a local chart are never served stale.
    """
    path = chart_dir(chart) if isinstance(chart, str) else chart
    for dependency in local_dependencies(path):
        dependency_build(dependency)
    if _declared_dependencies(path):
        helm("dependency", "build", path, fix=f"check the dependencies in {path}/Chart.yaml")


def local_dependencies(path: Path) -> list[Path]:
    """The folders of a chart's `repository: file://…` dependencies, as Chart.yaml lists them."""
    return [
        (path / dependency["repository"].removeprefix("file://")).resolve()
        for dependency in _declared_dependencies(path)
        if str(dependency.get("repository", "")).startswith("file://")
    ]


def _declared_dependencies(path: Path) -> list[dict[str, Any]]:
    return (yaml.safe_load((path / "Chart.yaml").read_text()) or {}).get("dependencies") or []


def lint(chart: str, values_files: Iterable[Path] = (), *, set_values: Mapping[str, str] | None = None) -> str:
    """`helm lint --strict` (warnings fail too) with the schema applied to the given values."""
    return helm(
        "lint", "--strict", "--kube-version", KUBE_VERSION, chart_dir(chart),
        *_values_args(values_files, set_values),
    )


def template(
    chart: str,
    values_files: Iterable[Path] = (),
    *,
    set_values: Mapping[str, str] | None = None,
    release: str = "todo",
    namespace: str = "todo",
) -> list[dict[str, Any]]:
    """Render a chart (hooks and tests included) and return its objects as dicts."""
    out = helm(
        "template", release, chart_dir(chart), "--namespace", namespace, "--kube-version", KUBE_VERSION,
        *_values_args(values_files, set_values),
    )
    return [doc for doc in yaml.safe_load_all(out) if doc]


def schema_errors(objects: Iterable[Mapping[str, Any]], kube_version: str = KUBE_VERSION) -> list[str]:
    """Validate objects against the strict Kubernetes JSON schemas of `kube_version` (offline).

    Strict schemas also reject unknown fields, which the API server would silently drop.
    Returns one readable line per invalid object; empty when all are valid.
    """
    try:
        import kubernetes_validate
        from kubernetes_validate.utils import ValidationError
    except ImportError as exc:
        raise PrerequisiteError("kubernetes-validate is not installed", "pip install kubernetes-validate==1.37.0") from exc
    errors = []
    for obj in objects:
        name = f"{obj.get('kind')}/{obj.get('metadata', {}).get('name')}"
        try:
            kubernetes_validate.validate(dict(obj), kube_version, strict=True)
        except ValidationError as exc:
            path = "/".join(str(p) for p in exc.absolute_path) or "(root)"
            errors.append(f"{name}: {path}: {exc.message}")
        except Exception as exc:  # unknown kind/apiVersion for that Kubernetes version
            errors.append(f"{name}: {exc}")
    return errors


def rejection(chart: str, values_files: Iterable[Path] = (), *, set_values: Mapping[str, str] | None = None) -> str:
    """Render a chart that should be refused; return helm's message (raise if it renders)."""
    try:
        template(chart, values_files, set_values=set_values)
    except CommandError as exc:
        return exc.stderr_tail
    raise AssertionError(f"helm rendered {chart} with {dict(set_values or {})} but should have refused it")


def set_args(set_values: Mapping[str, str] | None) -> list[str]:
    """`--set key=value` for each value; a comma in a value is escaped (helm would split the value there)."""
    args: list[str] = []
    for key, value in (set_values or {}).items():
        args += ["--set", f"{key}={str(value).replace(',', chr(92) + ',')}"]
    return args


def _values_args(values_files: Iterable[Path], set_values: Mapping[str, str] | None) -> list[str]:
    args: list[str] = []
    for path in values_files:
        args += ["--values", str(path)]
    return args + set_args(set_values)


def release_value(values_files: Iterable[Path], path: str, chart: str = UMBRELLA) -> Any:
    """The value at dotted `path` (e.g. frontend.service.nodePort) as a release of `chart` with `values_files` gets it
    before any --set: the subchart's default, the umbrella's, then each file in order (None when nobody sets it)."""
    keys = path.split(".")
    layers: list[Any] = []
    if (chart_dir(keys[0]) / "values.yaml").is_file():
        layers.append({keys[0]: yaml.safe_load((chart_dir(keys[0]) / "values.yaml").read_text()) or {}})
    layers.append(yaml.safe_load((chart_dir(chart) / "values.yaml").read_text()) or {})
    layers += [yaml.safe_load(Path(f).read_text()) or {} for f in values_files]
    found = None
    for layer in layers:
        node: Any = layer
        for key in keys:
            node = node.get(key) if isinstance(node, dict) else None
        if node is not None:
            found = node
    return found
