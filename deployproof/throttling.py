"""CPU throttling of the release's containers, counted by the kernel in each container's own cgroup `cpu.stat`.

A CPU limit is a CFS quota per period (100 ms): a container that used its quota waits for the next period,
and the kernel counts that period as throttled. The metrics API cannot show it — a container held at its
limit just reads "at the limit" — so the counters are read inside the container, through the exec API.

The images have no shell and no `cat`: the frontend's holds only `node`, the backend's only `python`; the
database image (Debian) has `sh`. Each runs a few lines that print the first of these files that exists —
the container's own cgroup, which the runtime mounts there: cgroup v2 `/sys/fs/cgroup/cpu.stat`, cgroup v1
`/sys/fs/cgroup/cpu,cpuacct/cpu.stat` or `/sys/fs/cgroup/cpu/cpu.stat`.

A window is two snapshots (`measure_window` takes them when the caller's conditions first hold); per
component it gives throttled periods / periods and throttled seconds. Containers are told apart by their
container ID, so a restarted container is a new one. One that started during the window is counted from its
start (its cgroup is new, its counters began at zero inside the window); one that was gone by the window's
end is not counted (its last counters died with it) and is named, as is one whose read failed.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any, Callable

from . import chaos
from .errors import DeployProofError
from .progress import say
from .waits import poll_until

CPU_STAT_PATHS = ("/sys/fs/cgroup/cpu.stat", "/sys/fs/cgroup/cpu,cpuacct/cpu.stat", "/sys/fs/cgroup/cpu/cpu.stat")
NOT_FOUND_EXIT = 3
EXEC_TIMEOUT_S = 20  # a loaded 2-core node answers an exec within a few seconds
COMPONENTS = ("frontend", "backend", "database")  # read in this order: the frontend's window is the most exact


def read_commands(paths: tuple[str, ...] = CPU_STAT_PATHS) -> dict[str, list[str]]:
    """Per component, a command its image can run that prints the first of `paths` that exists (the path, then
    the file) or exits NOT_FOUND_EXIT. See dockerfiles/: no shell in the frontend's or the backend's image."""
    listed = json.dumps(list(paths))
    node = ("const fs = require('fs'); process.exitCode = %d;"
            "for (const p of %s) { try { const text = fs.readFileSync(p, 'utf8');"
            " process.stdout.write(p + '\\n' + text); process.exitCode = 0; break; } catch (e) {} }") % (NOT_FOUND_EXIT, listed)
    python = ("import sys\n"
              "for p in %s:\n"
              "    try:\n        text = open(p).read()\n    except OSError:\n        continue\n"
              "    sys.stdout.write(p + '\\n' + text)\n    break\n"
              "else:\n    sys.exit(%d)\n") % (listed, NOT_FOUND_EXIT)
    shell = 'for p in %s; do if [ -r "$p" ]; then echo "$p"; cat "$p"; exit 0; fi; done; exit %d' % (
        " ".join(f"'{p}'" for p in paths), NOT_FOUND_EXIT)
    # -I -S: python's start-up runs inside the measured cgroup, so it is kept small.
    return {"frontend": ["node", "-e", node], "backend": ["python", "-I", "-S", "-c", python], "database": ["sh", "-c", shell]}


READ_COMMANDS = read_commands()


@dataclass(frozen=True)
class CpuStat:
    """A container's CFS counters since its cgroup was made."""

    periods: int  # periods in which it was runnable (none without a CPU limit)
    throttled_periods: int
    throttled_s: float
    source: str  # the file read: says the cgroup version


def parse_cpu_stat(output: str) -> CpuStat:
    """The reading command's output (the path read, then the file) as counters.

    cgroup v1 counts throttled time in ns (`throttled_time`), v2 in µs (`throttled_usec`); v2 without the cpu
    controller has no `nr_periods` at all (no limit, nothing to throttle): zeros.
    """
    source, _, body = output.partition("\n")
    fields: dict[str, int] = {}
    for line in body.splitlines():
        name, _, value = line.strip().partition(" ")
        if value.strip().isdigit():
            fields[name] = int(value)
    if not source.startswith("/") or not fields:
        raise ValueError(f"not a cpu.stat: {output[:200]!r}")
    throttled_s = fields["throttled_usec"] / 1e6 if "throttled_usec" in fields else fields.get("throttled_time", 0) / 1e9
    return CpuStat(fields.get("nr_periods", 0), fields.get("nr_throttled", 0), throttled_s, source)


@dataclass(frozen=True)
class ContainerRef:
    component: str
    pod: str
    container: str
    container_id: str  # a restarted container is a new cgroup, its counters from zero

    @property
    def name(self) -> str:
        return f"{self.pod}/{self.container}"


@dataclass
class Snapshot:
    at: float  # epoch seconds the snapshot began
    components: tuple[str, ...]
    running: set[ContainerRef] = field(default_factory=set)  # every running container listed, read or not
    stats: dict[ContainerRef, CpuStat] = field(default_factory=dict)
    errors: dict[ContainerRef, str] = field(default_factory=dict)
    failure: str = ""  # the pods could not even be listed
    took_s: float = 0.0


Exec = Callable[[str, str, list[str], float], str]  # (pod, container, command, timeout) → stdout


class CpuStatReader:
    """Reads the cpu.stat of every running container of the release's components in one namespace."""

    def __init__(self, k8s: Any, namespace: str, release_name: str, components: tuple[str, ...] = COMPONENTS,
                 exec_in: Exec | None = None, timeout_s: float = EXEC_TIMEOUT_S) -> None:
        self.k8s, self.namespace, self.timeout_s = k8s, namespace, timeout_s
        self.parts = [chaos.component(release_name, name) for name in components]
        self.exec_in = exec_in or self._exec

    def running(self) -> list[ContainerRef]:
        refs = []
        for part in self.parts:
            for pod in self.k8s.core.list_namespaced_pod(self.namespace, label_selector=part.selector).items:
                if pod.metadata.deletion_timestamp is not None or pod.status.phase != "Running":
                    continue
                for status in pod.status.container_statuses or []:
                    if status.state and status.state.running and status.container_id:
                        refs.append(ContainerRef(part.name, pod.metadata.name, status.name, status.container_id))
        return refs

    def read(self, ref: ContainerRef) -> CpuStat:
        return parse_cpu_stat(self.exec_in(ref.pod, ref.container, READ_COMMANDS[ref.component], self.timeout_s))

    def snapshot(self) -> Snapshot:
        """Every running container read once, one after another (in parallel, the readers' own start-up would
        compete with the load for the node's CPU all at once)."""
        begun = time.time()
        snap = Snapshot(begun, tuple(p.name for p in self.parts))
        try:
            refs = self.running()
        except Exception as exc:  # noqa: BLE001 - a blip of the API: the window says so instead of ending the load test
            snap.failure = f"listing pods: {type(exc).__name__}: {str(exc)[:200]}"
            refs = []
        for ref in refs:
            snap.running.add(ref)
            try:
                snap.stats[ref] = self.read(ref)
            except Exception as exc:  # noqa: BLE001 - one unreadable container is named, the others still count
                snap.errors[ref] = f"{type(exc).__name__}: {str(exc)[:200]}"
        snap.took_s = round(time.time() - begun, 2)
        return snap

    def _exec(self, pod: str, container: str, command: list[str], timeout: float) -> str:
        from kubernetes import client
        from kubernetes.stream import stream
        from kubernetes.stream.ws_client import ERROR_CHANNEL

        # Its own ApiClient: `stream` swaps the client's transport for the duration of the call, while the
        # replica and metrics samplers' threads go on using the shared one.
        with client.ApiClient(self.k8s.api_client.configuration) as api_client:
            ws = stream(client.CoreV1Api(api_client).connect_get_namespaced_pod_exec, pod, self.namespace, container=container,
                        command=command, stdout=True, stderr=True, stdin=False, tty=False, _preload_content=False)
            try:
                ws.run_forever(timeout=timeout)
                if ws.is_open():
                    raise DeployProofError(f"reading cpu.stat in {pod}/{container} did not end within {timeout:.0f}s")
                stdout, stderr, status = ws.read_stdout(), ws.read_stderr(), ws.read_channel(ERROR_CHANNEL)
            finally:
                ws.close()
        failure = exec_failure(status)
        if failure:
            raise DeployProofError(f"reading cpu.stat in {pod}/{container}: {failure} {stderr.strip()[:200]}".strip())
        return stdout


def exec_failure(status: str) -> str:
    """Why an exec failed, from the status on its error channel ("" when it succeeded)."""
    if not status:
        return ""
    try:
        parsed = json.loads(status)
    except ValueError:
        return status[:200]
    if parsed.get("status") == "Success":
        return ""
    causes = (parsed.get("details") or {}).get("causes") or []
    if any(c.get("reason") == "ExitCode" and c.get("message") == str(NOT_FOUND_EXIT) for c in causes):
        return f"no cpu.stat at {', '.join(CPU_STAT_PATHS)}"
    return str(parsed.get("message") or status)[:200]


@dataclass
class Throttling:
    """One component over a window: its containers' CFS counters added up."""

    component: str
    seconds: float
    containers: int = 0  # counted over the window
    periods: int = 0
    throttled_periods: int = 0
    throttled_s: float = 0.0
    appeared: list[str] = field(default_factory=list)  # started during the window: counted from their start
    vanished: list[str] = field(default_factory=list)  # gone before its end: not counted
    unmeasured: list[str] = field(default_factory=list)  # running at its end, but a read failed: not counted
    notes: list[str] = field(default_factory=list)

    @property
    def pct(self) -> float | None:
        """Throttled periods in percent of the periods it was runnable (None: no period at all)."""
        return round(100 * self.throttled_periods / self.periods, 2) if self.periods else None

    def describe(self) -> str:
        if not self.containers:
            text = "no container measured"
        elif not self.periods:
            text = f"no CFS period in {self.containers} container(s): no CPU limit, nothing to throttle"
        else:
            text = (f"{self.throttled_periods} of {self.periods} periods throttled ({self.pct} %), {self.throttled_s:.2f} s, "
                    f"{self.containers} container(s) over {self.seconds:.1f} s")
        for label, names in (("started during the window, counted from their start", self.appeared),
                             ("gone before its end, not counted", self.vanished), ("unreadable, not counted", self.unmeasured)):
            if names:
                text += f"; {label}: {', '.join(sorted(names))}"
        return "; ".join([text, *self.notes])


def throttling_between(start: Snapshot, end: Snapshot) -> dict[str, Throttling]:
    """Per component, what the kernel counted between two snapshots (see the module's note on new and gone containers)."""
    seconds = round(end.at - start.at, 1)
    out = {name: Throttling(name, seconds) for name in start.components}
    for label, snap in (("start", start), ("end", end)):
        if snap.failure:
            for item in out.values():
                item.notes.append(f"the {label} snapshot failed ({snap.failure})")
    for ref in sorted(end.running | start.running, key=lambda r: (r.component, r.name, r.container_id)):
        item = out.setdefault(ref.component, Throttling(ref.component, seconds))
        if ref not in end.running:
            item.vanished.append(ref.name)
            continue
        new = ref not in start.running
        before = CpuStat(0, 0, 0.0, "") if new else start.stats.get(ref)
        after = end.stats.get(ref)
        if after is None or before is None or after.periods < before.periods or after.throttled_periods < before.throttled_periods:
            item.unmeasured.append(ref.name)
            continue
        if new:
            item.appeared.append(ref.name)
        item.containers += 1
        item.periods += after.periods - before.periods
        item.throttled_periods += after.throttled_periods - before.throttled_periods
        item.throttled_s = round(item.throttled_s + after.throttled_s - before.throttled_s, 3)
    return out


@dataclass
class Window:
    start: Snapshot
    end: Snapshot

    @property
    def seconds(self) -> float:
        return round(self.end.at - self.start.at, 1)

    def throttling(self) -> dict[str, Throttling]:
        return throttling_between(self.start, self.end)

    @property
    def sources(self) -> list[str]:
        return sorted({s.source for snap in (self.start, self.end) for s in snap.stats.values()})


def measure_window(reader: CpuStatReader, *, begins: Callable[[], bool], ends: Callable[[], bool],
                   abandoned: Callable[[], str | None], description: str, timeout: float) -> Window:
    """A snapshot when `begins()` first holds, another when `ends()` first holds.

    `abandoned()` names why waiting is pointless (the load ended before the window began); then this raises.
    """
    def first(condition: Callable[[], bool], what: str) -> Callable[[], tuple[bool, Any]]:
        def check() -> tuple[bool, Any]:
            if condition():
                return True, None
            reason = abandoned()
            return reason is not None, reason or f"waiting for {what}"
        return check

    why = poll_until(first(begins, "the start"), description=f"the start of {description}", timeout=timeout,
                     interval=0.25, max_interval=0.5, progress_every=30)
    if why:
        raise DeployProofError(f"{description} never began: {why}", "see the load run's log")
    start = reader.snapshot()
    say(f"throttling: {description} began; cpu.stat of {len(start.stats)} container(s) read in {start.took_s}s")
    poll_until(first(ends, "the end"), description=f"the end of {description}", timeout=timeout,
               interval=0.25, max_interval=0.5, progress_every=30)
    end = reader.snapshot()
    say(f"throttling: {description} ended after {end.at - start.at:.0f}s; cpu.stat read in {end.took_s}s")
    return Window(start, end)
