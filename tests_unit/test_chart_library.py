"""The library chart charts/common, checked without a cluster: its helpers behave as the app charts rely on.

The helpers are driven through a small probe chart written for each session (it depends on charts/common
by path and shows each helper's output in a ConfigMap), so every rule is set by the test's own values,
not by whatever the app charts' values happen to hold. Also: the app charts really use the library (no
copy of its helpers comes back), and a checkout without any packed chart builds and renders.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from deployproof import charts
from deployproof.errors import CommandError, DeployProofError

PROBE_CHART = {"apiVersion": "v2", "name": "probe", "type": "application", "version": "1.2.3+build", "appVersion": "9.9"}

PROBE_VALUES = {
    "nameOverride": "",
    "fullnameOverride": "",
    "image": {"repository": "probe-image", "tag": "", "digest": "", "pullPolicy": "IfNotPresent"},
    "serviceAccount": {"create": True, "name": ""},
    "existingSecret": "",
    "secret": "",
    "database": {"url": "", "existingSecret": "", "existingSecretKey": "DATABASE_URL"},
    "autoscaling": {"enabled": True, "minReplicas": 1, "maxReplicas": 3},
    "lifecycle": {"preStopSleepSeconds": 5},
    "terminationGracePeriodSeconds": 30,
    "global": {"imagePullPolicy": "", "externalDatabase": {"url": "", "existingSecret": "", "existingSecretKey": ""}},
}

# Each helper's output, in one ConfigMap; the probe's validateValues is built as the app charts build theirs.
PROBE_TEMPLATE = """\
{{- define "probe.validateValues" -}}
{{- $errors := list
  (include "common.validations.autoscaling" .)
  (include "common.validations.preStopSleep" .)
  (include "common.validations.databaseUrl" .)
  (include "common.validations.credentialLength" (dict "value" .Values.secret "key" "secret" "minLength" 32))
}}
{{- include "common.validations.fail" (dict "errors" $errors "context" .) }}
{{- end }}
{{- include "probe.validateValues" . }}
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ include "common.names.fullname" . }}
  labels:
    {{- include "common.labels.standard" (dict "context" . "component" "api") | nindent 4 }}
data:
  name: {{ include "common.names.name" . | quote }}
  serviceAccount: {{ include "common.names.serviceAccount" . | quote }}
  image: {{ include "common.images.image" . | quote }}
  pullPolicy: {{ include "common.images.pullPolicy" . | quote }}
  ownSecret: {{ include "common.secrets.name" (dict "existingSecret" .Values.existingSecret "context" .) | quote }}
  databaseSecret: {{ include "common.database.secretName" . | quote }}
  databaseKey: {{ include "common.database.secretKey" . | quote }}
  external: {{ include "common.database.isExternal" . | quote }}
  random: {{ include "common.secrets.stableRandom" (dict "context" . "name" "probe" "key" "KEY" "length" 24) | quote }}
  selector: |
    {{- include "common.labels.selector" (dict "context" . "component" "api") | nindent 4 }}
  unlabelled: |
    {{- include "common.labels.standard" (dict "context" .) | nindent 4 }}
"""


@pytest.fixture(scope="session")
def probe_chart(tmp_path_factory: pytest.TempPathFactory) -> Path:
    try:
        charts.helm_binary()
    except DeployProofError as exc:
        pytest.fail(f"helm is required for the chart tests: {exc}", pytrace=False)
    path = tmp_path_factory.mktemp("charts") / "probe"
    (path / "templates").mkdir(parents=True)
    library = {"name": "common", "version": "0.1.0", "repository": f"file://{charts.chart_dir(charts.LIBRARY)}"}
    (path / "Chart.yaml").write_text(yaml.safe_dump({**PROBE_CHART, "dependencies": [library]}))
    (path / "values.yaml").write_text(yaml.safe_dump(PROBE_VALUES))
    (path / "templates" / "helpers.yaml").write_text(PROBE_TEMPLATE)
    charts.dependency_build(path)
    return path


def _render(chart: Path, *set_values: str, release: str = "rel") -> dict[str, Any]:
    """The probe's ConfigMap; `set_values` as "key=value", sent as JSON strings or numbers (--set would read
    "{{ .Release.Name }}" as a list)."""
    args = ["template", release, chart, "--namespace", "ns", "--kube-version", charts.KUBE_VERSION]
    for setting in set_values:
        key, value = setting.split("=", 1)
        literal = value if re.fullmatch(r"\d+|true|false", value) else json.dumps(value)
        args += ["--set-json", f"{key}={literal}"]
    return yaml.safe_load(charts.helm(*args))


def _refusal(chart: Path, *set_values: str) -> str:
    with pytest.raises(CommandError) as refused:
        _render(chart, *set_values)
    return refused.value.stderr_tail


# --- the library itself ------------------------------------------------------------------------


def test_the_library_lints_and_cannot_be_installed_on_its_own(probe_chart: Path) -> None:
    charts.lint(charts.LIBRARY)
    with pytest.raises(CommandError) as refused:
        charts.template(charts.LIBRARY)
    assert "library charts are not installable" in refused.value.stderr_tail


# --- names, labels, image ----------------------------------------------------------------------------------


def test_names_are_release_dash_chart_even_when_the_release_holds_the_chart_name(probe_chart: Path) -> None:
    assert _render(probe_chart, release="probe")["metadata"]["name"] == "probe-probe"
    renamed = _render(probe_chart, "nameOverride=api")
    assert (renamed["metadata"]["name"], renamed["data"]["name"]) == ("rel-api", "api")
    assert _render(probe_chart, "fullnameOverride=just-this")["metadata"]["name"] == "just-this"
    # A Kubernetes name holds at most 63 characters and must not end in "-".
    long_name = _render(probe_chart, f"fullnameOverride={'x' * 62}-tail")["metadata"]["name"]
    assert long_name == "x" * 62


def test_service_account_is_the_fullname_unless_named_or_not_created(probe_chart: Path) -> None:
    assert _render(probe_chart)["data"]["serviceAccount"] == "rel-probe"
    assert _render(probe_chart, "serviceAccount.name=sa")["data"]["serviceAccount"] == "sa"
    assert _render(probe_chart, "serviceAccount.create=false")["data"]["serviceAccount"] == "default"


def test_standard_labels_name_the_chart_release_version_and_component(probe_chart: Path) -> None:
    rendered = _render(probe_chart)
    assert rendered["metadata"]["labels"] == {
        "helm.sh/chart": "probe-1.2.3_build",  # "+" is not allowed in a label value
        "app.kubernetes.io/name": "probe",
        "app.kubernetes.io/instance": "rel",
        "app.kubernetes.io/version": "9.9",
        "app.kubernetes.io/part-of": "todo",
        "app.kubernetes.io/managed-by": "Helm",
        "app.kubernetes.io/component": "api",
    }
    assert "app.kubernetes.io/component" not in yaml.safe_load(rendered["data"]["unlabelled"])
    assert _render(probe_chart, "image.tag=v2")["metadata"]["labels"]["app.kubernetes.io/version"] == "v2"


def test_selector_holds_only_labels_that_never_change(probe_chart: Path) -> None:
    selector = yaml.safe_load(_render(probe_chart, "image.tag=v2")["data"]["selector"])
    assert selector == {"app.kubernetes.io/name": "probe", "app.kubernetes.io/instance": "rel", "app.kubernetes.io/component": "api"}


def test_image_tag_defaults_to_app_version_and_the_global_pull_policy_wins(probe_chart: Path) -> None:
    assert _render(probe_chart)["data"]["image"] == "probe-image:9.9"
    assert _render(probe_chart, "image.tag=abc")["data"]["image"] == "probe-image:abc"
    assert _render(probe_chart)["data"]["pullPolicy"] == "IfNotPresent"
    assert _render(probe_chart, "global.imagePullPolicy=Never")["data"]["pullPolicy"] == "Never"


# --- Secrets and the database wiring --------------------------------------------------------------------


def test_generated_values_are_random_and_as_long_as_asked(probe_chart: Path) -> None:
    first, second = (_render(probe_chart)["data"]["random"] for _ in range(2))
    assert len(first) == len(second) == 24 and first != second


def test_own_secret_is_the_fullname_unless_an_existing_one_is_named_with_tpl(probe_chart: Path) -> None:
    assert _render(probe_chart)["data"]["ownSecret"] == "rel-probe"
    assert _render(probe_chart, "existingSecret={{ .Release.Name }}-creds")["data"]["ownSecret"] == "rel-creds"


@pytest.mark.parametrize(
    ("set_values", "secret", "key", "external"),
    [
        ((), "rel-database", "DATABASE_URL", ""),
        (("global.externalDatabase.url=postgresql://u:p@h/d",), "rel-external-database", "DATABASE_URL", "true"),
        (("global.externalDatabase.existingSecret=neon", "global.externalDatabase.existingSecretKey=URI"), "neon", "URI", "true"),
        (("database.url=postgresql://u:p@h/d",), "rel-probe", "DATABASE_URL", ""),
        (("database.existingSecret={{ .Release.Name }}-db", "database.existingSecretKey=URL",
          "global.externalDatabase.existingSecret=neon"), "rel-db", "URL", "true"),
    ],
    ids=["database-chart", "external-url", "external-secret", "own-url", "existing-secret-wins"],
)
def test_database_url_comes_from_the_first_source_given(probe_chart: Path, set_values: tuple[str, ...], secret: str,
                                                         key: str, external: str) -> None:
    data = _render(probe_chart, *set_values)["data"]
    assert (data["databaseSecret"], data["databaseKey"], data["external"]) == (secret, key, external)


# --- validation -------------------------------------------------------------------------------------------------


def test_valid_values_pass_every_rule(probe_chart: Path) -> None:
    assert _render(probe_chart, f"secret={'s' * 32}", "lifecycle.preStopSleepSeconds=0", "autoscaling.enabled=false",
                   "autoscaling.minReplicas=9")["kind"] == "ConfigMap"


def test_validation_fails_once_naming_the_chart_and_every_broken_rule(probe_chart: Path) -> None:
    message = _refusal(
        probe_chart,
        "autoscaling.minReplicas=5", "autoscaling.maxReplicas=2",
        "terminationGracePeriodSeconds=5",
        "database.url=postgresql://u:p@h/d", "existingSecret=mine",
        "secret=short",
    )
    listed = re.findall(r"^  - (.+)$", message.split("probe: invalid values:", 1)[1], re.M)
    assert listed == [
        "autoscaling.minReplicas must not exceed autoscaling.maxReplicas",
        "terminationGracePeriodSeconds must exceed lifecycle.preStopSleepSeconds",
        "database.url cannot be stored when existingSecret is set: put the URL in a Secret and set database.existingSecret",
        "secret must be at least 32 characters (or empty to generate one)",
    ], message


def test_one_broken_rule_is_listed_alone(probe_chart: Path) -> None:
    message = _refusal(probe_chart, "secret=short")
    assert "probe: invalid values:\n  - secret must be at least 32 characters (or empty to generate one)\n" in message, message
    assert message.count("  - ") == 1, message


# --- the app charts use the library ------------------------------------------------------------------------


@pytest.mark.parametrize("chart", charts.APP_CHARTS)
def test_app_charts_take_the_shared_helpers_from_the_library(chart: str) -> None:
    metadata = yaml.safe_load((charts.chart_dir(chart) / "Chart.yaml").read_text())
    assert {"name": "common", "version": "0.1.0", "repository": "file://../common"} in [
        {k: d.get(k) for k in ("name", "version", "repository")} for d in metadata.get("dependencies", [])
    ]
    templates = "".join(p.read_text() for p in (charts.chart_dir(chart) / "templates").rglob("*") if p.is_file())
    copied = re.findall(rf'define "{chart}\.(fullname|name|chart|image|imagePullPolicy|serviceAccountName|stableRandom|'
                        rf'podCommon|baseLabels|databaseSecretName|databaseSecretKey|externalDatabase)"', templates)
    assert not copied, f"{chart} defines its own copy of library helpers: {copied}; use common.* from charts/common"


def test_a_checkout_without_packed_charts_builds_and_renders(probe_chart: Path, tmp_path: Path) -> None:
    """What a fresh clone holds (no charts/*/charts/*.tgz): one dependency build of the umbrella packs the
    library into each app chart first, then the app charts into the umbrella."""
    checkout = tmp_path / "charts"
    shutil.copytree(charts.CHARTS_DIR, checkout, ignore=shutil.ignore_patterns("*.tgz"))
    charts.dependency_build(checkout / charts.UMBRELLA)
    for chart in (*charts.APP_CHARTS, charts.UMBRELLA):
        for dependency in charts.local_dependencies(checkout / chart):
            metadata = yaml.safe_load((dependency / "Chart.yaml").read_text())
            packed = checkout / chart / "charts" / f"{metadata['name']}-{metadata['version']}.tgz"
            assert packed.is_file(), f"{chart}: {dependency.name} was not packed"
    out = charts.helm("template", "fresh", checkout / charts.UMBRELLA, "--kube-version", charts.KUBE_VERSION)
    names = {doc["metadata"]["name"] for doc in yaml.safe_load_all(out) if doc}
    assert {"fresh-backend", "fresh-frontend", "fresh-database"} <= names


def test_a_digest_pulls_the_image_by_digest_and_the_tag_labels_the_version(probe_chart: Path) -> None:
    digest = "sha256:" + "ab" * 32
    rendered = _render(probe_chart, "image.repository=reg.example:5000/probe", f"image.digest={digest}", "image.tag=c0ffee")
    assert rendered["data"]["image"] == f"reg.example:5000/probe@{digest}"
    assert rendered["metadata"]["labels"]["app.kubernetes.io/version"] == "c0ffee"
    assert _render(probe_chart, f"image.digest={digest}")["metadata"]["labels"]["app.kubernetes.io/version"] == "9.9"
