"""Preflight: what a cluster lets this run prove, found out before anything is built or deployed on it.

It runs for every provider (a few seconds) and is printed as a table before the release is installed, and the
report keeps it (Report.preflight). The checks read the cluster through the API; the Pod Security check also makes
one scratch namespace of its own (deleted again): nothing outside namespaces the run owns is touched. Verdicts:

- ok           the cluster has it;
- missing      it has not: every test that needs it (criteria.NEEDS) is skipped "unproven: <why>", so its claims are
               unproven there — never passed, and never failed for that reason;
- unknown      it could not be found out (e.g. a scratch namespace was refused): nothing is decided, the tests will tell;
- blocked      the deployment itself cannot work (a permission it needs, no StorageClass for the database): the run
               stops before anything is built, naming the verb, the resource and the fix;
- not checked  NetworkPolicy enforcement until the NETPOL tests' own probe (fixtures/netpol.py) has run: it needs the
               app's images, so its row is filled once they are built, still before the install.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

from . import charts, versions
from .criteria import NEEDS, claims_needing
from .errors import PrerequisiteError, WaitTimeout
from .progress import say
from .release import RESTRICTED_LABELS, Release
from .waits import poll_until, watch_until

OK, MISSING, UNKNOWN, BLOCKED, NOT_CHECKED = "ok", "missing", "unknown", "blocked", "not checked"
METRICS_TIMEOUT_S = 90.0  # a metrics API that answers 503 may be starting (a fresh metrics-server): wait that long
SERVICE_ACCOUNT_TIMEOUT_S = 60.0  # a new namespace's "default" ServiceAccount, which pod admission looks up
SCRATCH_PREFIX = "dp-preflight"
SCRATCH_LABELS = {"app.kubernetes.io/part-of": "deployproof-tests"}
NETPOL_CHECK = "NetworkPolicy enforcement"

# Verbs the deployment uses: helm creates, reads, patches (upgrade) and deletes (uninstall); --wait lists.
OBJECT_VERBS = ("get", "list", "create", "patch", "delete")
NAMESPACE_VERBS = ("get", "create", "patch", "delete")  # `kubectl apply` of the release namespace, its deletion
# Beyond the rendered objects: helm keeps each revision in a Secret; helm --wait and the pod watch follow pods.
ALWAYS_NEEDED = (("v1", "Secret", OBJECT_VERBS), ("v1", "Pod", ("get", "list", "watch")))
DEFAULT_CLASS_ANNOTATIONS = ("storageclass.kubernetes.io/is-default-class", "storageclass.beta.kubernetes.io/is-default-class")

# Dry-run pods (never created: nothing is pulled, so the image need not exist).
_DRY_RUN_IMAGE = "registry.invalid/deployproof-preflight:dry-run"
PRIVILEGED_POD = {
    "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "privileged"},
    "spec": {"automountServiceAccountToken": False,
             "containers": [{"name": "c", "image": _DRY_RUN_IMAGE, "securityContext": {"privileged": True}}]},
}
RESTRICTED_POD = {
    "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "restricted"},
    "spec": {"automountServiceAccountToken": False,
             "securityContext": {"runAsNonRoot": True, "runAsUser": 65532, "seccompProfile": {"type": "RuntimeDefault"}},
             "containers": [{"name": "c", "image": _DRY_RUN_IMAGE, "securityContext": {
                 "allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}, "readOnlyRootFilesystem": True}}]},
}


@dataclass(frozen=True)
class Check:
    """One row of the table: what was checked, its verdict, what was seen, and what it decides."""

    name: str
    status: str  # OK, MISSING, UNKNOWN, BLOCKED or NOT_CHECKED
    result: str
    need: str = ""  # the criteria.NEEDS key a MISSING verdict makes unprovable
    fix: str = ""  # for BLOCKED (and MISSING): what to do about it

    @property
    def effect(self) -> str:
        if self.status == BLOCKED:
            return "deployment stopped before anything is built"
        if self.status == MISSING and self.need:
            claims: dict[str, int] = {}
            for criterion, _ in claims_needing(self.need):
                claims[criterion] = claims.get(criterion, 0) + 1
            return "unproven: " + ", ".join(f"{c} ({n} claim{'s' if n > 1 else ''})" for c, n in claims.items())
        return "-"

    def row(self) -> dict[str, str]:
        return {"check": self.name, "status": self.status, "result": self.result, "effect": self.effect}


@dataclass
class Preflight:
    """Every check of one cluster, in order; what they leave unprovable, and whether the deployment can go ahead."""

    context: str
    checks: list[Check] = field(default_factory=list)
    took_s: float = 0.0
    probe_s: float = 0.0  # spent on checks after the images were built (the NetworkPolicy probe): not deploy time

    def put(self, check: Check) -> None:
        """Add `check`, replacing one of the same name (the NetworkPolicy row once the probe has run)."""
        self.checks = [c for c in self.checks if c.name != check.name] + [check]

    def missing(self, need: str) -> str | None:
        """Why this cluster lacks `need` (a criteria.NEEDS key), or None when nothing says it does."""
        for check in self.checks:
            if check.status == MISSING and check.need == need:
                return f"{check.result} (preflight: {check.name})"
        return None

    def unprovable(self, test_key: str) -> str | None:
        """Why test `test_key` cannot prove anything on this cluster, or None."""
        for need, tests in NEEDS.items():
            if test_key in tests and (reason := self.missing(need)):
                return reason
        return None

    def blocked(self) -> list[Check]:
        return [c for c in self.checks if c.status == BLOCKED]

    def rows(self) -> list[dict[str, str]]:
        return [c.row() for c in self.checks]

    def table(self) -> str:
        rows = [("check", "status", "result", "effect")] + [(c.name, c.status, c.result, c.effect) for c in self.checks]
        widths = [max(len(r[i]) for r in rows) for i in range(2)]
        lines = [f"preflight of context {self.context} ({self.took_s:.1f}s):"]
        lines += [f"  {r[0]:<{widths[0]}}  {r[1]:<{widths[1]}}  {r[2]}" + (f"  → {r[3]}" if r[3] not in ("-", "effect") else "")
                  for r in rows]
        return "\n".join(lines)

    def stop_if_blocked(self) -> None:
        """Raise PrerequisiteError naming every blocked check and its fix (after printing the table)."""
        blocked = self.blocked()
        if not blocked:
            return
        say(self.table())
        raise PrerequisiteError(f"the deployment cannot work on context {self.context}:\n  " + "\n  ".join(c.result for c in blocked),
                                "\n  ".join(dict.fromkeys(c.fix for c in blocked if c.fix)))


# --- the checks (each takes the narrow API it reads: unit-tested with fakes) -----------------------------------

def check_version(version_api: Any) -> Check:
    """The server's version, and whether its minor is one the suite supports."""
    info = version_api.get_code()
    git = info.git_version
    major, minor = str(info.major).rstrip("+"), str(info.minor).rstrip("+")  # managed clusters say "37+"
    supported = [r.lstrip("v").rsplit(".", 1)[0] for r in versions.SUPPORTED_KUBERNETES]
    if f"{major}.{minor}" in supported:
        return Check("server version", OK, f"{git} (minor {major}.{minor} is supported)", need="supported-version")
    return Check("server version", MISSING, f"{git}: minor {major}.{minor} is not supported (supported: {', '.join(supported)})",
                 need="supported-version", fix=f"use a cluster of Kubernetes {', '.join(supported)}")


def check_metrics_api(custom_api: Any, timeout: float = METRICS_TIMEOUT_S) -> Check:
    """Whether metrics.k8s.io answers (the HPA and the right-sizing advisor read it)."""
    from kubernetes.client.rest import ApiException

    def read() -> tuple[bool, tuple[str, str]]:
        try:
            listing = custom_api.list_cluster_custom_object("metrics.k8s.io", "v1beta1", "nodes")
        except ApiException as exc:
            if exc.status == 404:
                return True, (MISSING, "no metrics API: metrics.k8s.io is not served (no metrics-server)")
            if exc.status in (401, 403):
                return True, (MISSING, f"no metrics API readable with these credentials ({exc.status} {exc.reason})")
            return False, (MISSING, f"the metrics API answers {exc.status} {exc.reason}")  # 503: registered, not serving (yet)
        nodes = len(listing.get("items", []))
        return True, (OK, f"metrics.k8s.io answers ({nodes} node(s) reported)")

    fix = "install metrics-server (e.g. its release manifest, or your platform's add-on)"
    try:
        status, result = poll_until(read, description="the metrics API (metrics.k8s.io) to answer", timeout=timeout, interval=2.0)
    except WaitTimeout as exc:
        status, result = MISSING, f"no metrics API: it did not answer within {timeout:.0f}s ({exc.cause.rsplit('last seen: ', 1)[-1]})"
    return Check("metrics API", status, result, need="metrics", fix=fix if status != OK else "")


def volume_claims(objects: Iterable[dict]) -> list[str | None]:
    """The storageClassName of each volume claim the rendered chart makes (None: the cluster's default class)."""
    claims: list[dict] = []
    for obj in objects:
        if obj.get("kind") == "PersistentVolumeClaim":
            claims.append(obj.get("spec") or {})
        elif obj.get("kind") == "StatefulSet":
            claims += [t.get("spec") or {} for t in (obj.get("spec") or {}).get("volumeClaimTemplates") or []]
    return [spec.get("storageClassName") for spec in claims]


def check_storage(storage_api: Any, claims: list[str | None]) -> Check:
    """A StorageClass for every volume claim of the chart: the default one, or the one the values name."""
    from kubernetes.client.rest import ApiException

    name = "default StorageClass"
    if not claims:
        return Check(name, OK, "the chart makes no volume claim")
    try:
        classes = storage_api.list_storage_class().items
    except ApiException as exc:
        return Check(name, UNKNOWN, f"StorageClasses are not readable with these credentials ({exc.status} {exc.reason}); "
                                    "the database's volume claim will tell")
    names = {c.metadata.name for c in classes}
    defaults = [c.metadata.name for c in classes
                if any((c.metadata.annotations or {}).get(a) == "true" for a in DEFAULT_CLASS_ANNOTATIONS)]
    problems = []
    if any(claim is None for claim in claims) and not defaults:
        problems.append(f"no default StorageClass for the database's volume claim (classes here: {', '.join(sorted(names)) or 'none'})")
    problems += [f"StorageClass {claim!r}, named by the values, does not exist" for claim in sorted({c for c in claims if c})
                 if claim not in names]
    if problems:
        return Check(name, BLOCKED, "; ".join(problems),
                     fix="mark a class default (kubectl annotate storageclass NAME storageclass.kubernetes.io/is-default-class=true) "
                         "or name one in a --values file (database.persistence.storageClass)")
    used = [f"{defaults[0]} (default)"] if any(claim is None for claim in claims) else []
    used += sorted({claim for claim in claims if claim})
    used += ['static volumes (storageClassName "")'] if "" in claims else []
    return Check(name, OK, "for the volume claims: " + ", ".join(used))


def judge_pod_security(privileged: tuple[int, str] | None, conforming: tuple[int, str] | None) -> Check:
    """The verdict from two server-side dry runs in a namespace labelled enforce=restricted: (status, message) of the
    refusal of a privileged pod and of a pod meeting `restricted` (None: admitted). The conforming pod is the control:
    when it is refused too, something other than Pod Security decides and nothing can be judged."""
    name = "Pod Security admission"
    if conforming is not None:
        return Check(name, UNKNOWN, f"a pod meeting `restricted` was refused too ({conforming[0]}: {conforming[1][:160]}): "
                                    "something else admits pods here, Pod Security cannot be judged", need="pod-security")
    if privileged is None:
        return Check(name, MISSING, "a privileged pod is admitted in a namespace labelled enforce=restricted: Pod Security "
                                    "admission does not enforce namespace labels", need="pod-security",
                     fix="enable the PodSecurity admission plugin (on by default since Kubernetes 1.25)")
    status, message = privileged
    if status == 403 and "violates PodSecurity" in message:
        return Check(name, OK, "a privileged pod is refused in a namespace labelled enforce=restricted (server-side dry run)",
                     need="pod-security")
    return Check(name, UNKNOWN, f"a privileged pod was refused, but not by Pod Security ({status}: {message[:160]})", need="pod-security")


def _dry_run(core_api: Any, namespace: str, pod: dict) -> tuple[int, str] | None:
    from kubernetes.client.rest import ApiException

    try:
        core_api.create_namespaced_pod(namespace, pod, dry_run="All")
    except ApiException as exc:
        return exc.status, _message(exc)
    return None


def _message(exc: Any) -> str:
    try:
        return str(json.loads(exc.body).get("message", exc.body))
    except (TypeError, ValueError, AttributeError):
        return str(exc.body or exc.reason)


def check_pod_security(core_api: Any, timeout: float = SERVICE_ACCOUNT_TIMEOUT_S) -> Check:
    """Dry-run a privileged pod and a conforming one in a scratch namespace labelled enforce=restricted, then delete it."""
    from kubernetes.client.rest import ApiException

    namespace = f"{SCRATCH_PREFIX}-{uuid.uuid4().hex[:6]}"
    try:
        core_api.create_namespace({"apiVersion": "v1", "kind": "Namespace",
                                   "metadata": {"name": namespace, "labels": {**RESTRICTED_LABELS, **SCRATCH_LABELS}}})
    except ApiException as exc:
        return Check("Pod Security admission", UNKNOWN, f"no scratch namespace to try it in ({exc.status} {exc.reason})",
                     need="pod-security")
    try:
        # Pod admission looks up the namespace's "default" ServiceAccount, which a controller adds just after creation.
        watch_until(core_api.list_namespaced_service_account, lambda items: (any(a.metadata.name == "default" for a in items),
                                                                              [a.metadata.name for a in items]),
                    description=f"ServiceAccount default in {namespace}", timeout=timeout, namespace=namespace)
        return judge_pod_security(_dry_run(core_api, namespace, PRIVILEGED_POD), _dry_run(core_api, namespace, RESTRICTED_POD))
    except WaitTimeout as exc:
        return Check("Pod Security admission", UNKNOWN, f"the scratch namespace got no default ServiceAccount ({exc.cause})",
                     need="pod-security")
    finally:
        try:
            core_api.delete_namespace(namespace)
        except ApiException as exc:
            say(f"  preflight: could not delete scratch namespace {namespace} ({exc.status} {exc.reason}); delete it by hand")


def chart_kinds(objects: Iterable[dict]) -> list[tuple[str, str]]:
    """(apiVersion, kind) of every object the chart renders (hooks and tests included), sorted."""
    return sorted({(obj["apiVersion"], obj["kind"]) for obj in objects if obj.get("apiVersion") and obj.get("kind")})


def check_permissions(allowed: Callable[[dict[str, str]], bool], resources_of: Callable[[str], list[dict]],
                      kinds: Iterable[tuple[str, str]], namespace: str) -> list[Check]:
    """SelfSubjectAccessReviews for what the deployment does: the namespace itself, then each kind the chart renders
    (and helm's own Secrets, the pods it waits for) in the release namespace. One `ok` row, or a row per resource
    that lacks a verb or an API."""
    wanted: dict[tuple[str, str], tuple[str, ...]] = {("v1", "Namespace"): NAMESPACE_VERBS}
    for api_version, kind, verbs in ALWAYS_NEEDED:
        wanted[(api_version, kind)] = verbs
    for key in kinds:
        wanted[key] = tuple(dict.fromkeys(wanted.get(key, ()) + OBJECT_VERBS))
    problems: list[Check] = []
    granted: list[str] = []
    for (api_version, kind), verbs in wanted.items():
        try:
            served = next((r for r in resources_of(api_version) if r.get("kind") == kind and "/" not in r.get("name", "")), None)
        except Exception as exc:  # noqa: BLE001 - an API group the server does not serve answers 404
            served, why = None, f" ({type(exc).__name__}: {str(exc)[:80]})"
        else:
            why = ""
        if served is None:
            problems.append(Check(f"API {api_version} {kind}", BLOCKED, f"the API server does not serve {api_version} {kind}{why}",
                                  fix="use a cluster of a supported Kubernetes minor "
                                      f"({', '.join(r.rsplit('.', 1)[0] for r in versions.SUPPORTED_KUBERNETES)})"))
            continue
        group = api_version.rpartition("/")[0]
        resource = served["name"] + (f".{group}" if group else "")
        scope = namespace if served.get("namespaced", True) else ""
        missing = [verb for verb in verbs if not allowed({"verb": verb, "group": group, "resource": served["name"], "namespace": scope})]
        if missing:
            where = f" in namespace {namespace}" if scope else " (cluster-wide)"
            grant = (f"a ClusterRole allowing {', '.join(verbs)} on namespaces" if kind == "Namespace" else
                     f"a RoleBinding in namespace {namespace} to the `admin` ClusterRole")
            problems.append(Check(f"permission: {resource}", BLOCKED, f"may not {', '.join(missing)} {resource}{where}",
                                  fix=f"grant it to this context's user ({grant}), or use a context that has it (--kube-context)"))
        else:
            granted.append(resource)
    if problems:
        return problems
    scoped = sorted(r for r in granted if r != "namespaces")
    return [Check("permissions (SelfSubjectAccessReview)", OK,
                  f"namespaces ({', '.join(NAMESPACE_VERBS)}); in namespace {namespace}: {', '.join(scoped)}")]


def netpol_check(enforced: bool | None, reason: str) -> Check:
    """The NetworkPolicy row from the NETPOL probe's verdict (None: the probe could not judge)."""
    status = UNKNOWN if enforced is None else OK if enforced else MISSING
    return Check(NETPOL_CHECK, status, reason.removeprefix("unproven: "), need="netpol",
                 fix="" if enforced else "install a NetworkPolicy agent (a CNI that enforces them, or kube-network-policies)")


NETPOL_NOT_PROBED = Check(NETPOL_CHECK, NOT_CHECKED, "not probed before the install: the NETPOL tests probe it (a deny-all "
                                                     "policy must cut a connection that worked)", need="netpol")


# --- against a live cluster -------------------------------------------------------------------------------------

def access_reviewer(api_client: Any) -> Callable[[dict[str, str]], bool]:
    """allowed(attributes) through a SelfSubjectAccessReview of this context's user."""
    from kubernetes import client

    authorization = client.AuthorizationV1Api(api_client)

    def allowed(attributes: dict[str, str]) -> bool:
        spec = client.V1SelfSubjectAccessReviewSpec(resource_attributes=client.V1ResourceAttributes(
            **{k: v for k, v in attributes.items() if v}))
        review = client.V1SelfSubjectAccessReview(api_version="authorization.k8s.io/v1", kind="SelfSubjectAccessReview", spec=spec)
        return bool(authorization.create_self_subject_access_review(review).status.allowed)

    return allowed


def api_resources(api_client: Any) -> Callable[[str], list[dict]]:
    """resources_of(apiVersion): the server's discovery document of that group version (kind, name, namespaced)."""
    cache: dict[str, list[dict]] = {}

    def resources_of(api_version: str) -> list[dict]:
        if api_version not in cache:
            path = "/api/v1" if api_version == "v1" else f"/apis/{api_version}"
            method, url, headers, body, _ = api_client.param_serialize("GET", path, auth_settings=["BearerToken"],
                                                                       header_params={"Accept": "application/json"})
            response = api_client.call_api(method, url, headers, body)
            response.read()
            if response.status != 200:
                raise LookupError(f"{path} answered {response.status}")
            cache[api_version] = json.loads(response.data).get("resources", [])
        return cache[api_version]

    return resources_of


def rendered(release: Release) -> list[dict]:
    """The objects the release would create (hooks and tests included), rendered offline by helm."""
    charts.dependency_build()
    return charts.template(charts.UMBRELLA, release.values_files, set_values=release.set_values, release=release.name,
                           namespace=release.namespace)


def run(clients: Any, release: Release, *, metrics_timeout: float = METRICS_TIMEOUT_S) -> Preflight:
    """Every check, in order, against the cluster of `clients` for `release` (which is not installed yet)."""
    from kubernetes import client

    begun = time.monotonic()
    checked = Preflight(release.context)
    checked.put(check_version(clients.version))
    objects = rendered(release)
    for check in check_permissions(access_reviewer(clients.api_client), api_resources(clients.api_client), chart_kinds(objects),
                                   release.namespace):
        checked.put(check)
    checked.put(check_storage(client.StorageV1Api(clients.api_client), volume_claims(objects)))
    checked.put(check_metrics_api(clients.custom, metrics_timeout))
    checked.put(check_pod_security(clients.core))
    checked.put(NETPOL_NOT_PROBED)
    checked.took_s = round(time.monotonic() - begun, 1)
    return checked
