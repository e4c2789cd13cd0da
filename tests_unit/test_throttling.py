"""CPU throttling without a cluster: cpu.stat of both cgroup versions, the reading commands each image can run
(run here for real against files in a temporary folder), snapshots over a fake API, and the window arithmetic
for containers that stay, start, restart, vanish or cannot be read."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from types import SimpleNamespace

import pytest

from deployproof import throttling
from deployproof.errors import DeployProofError
from deployproof.throttling import ContainerRef, CpuStat, Snapshot

V1 = "/sys/fs/cgroup/cpu,cpuacct/cpu.stat\nnr_periods 400\nnr_throttled 37\nthrottled_time 2500000000\nnr_bursts 0\nburst_time 0\n"
V2 = ("/sys/fs/cgroup/cpu.stat\nusage_usec 9000000\nuser_usec 7000000\nsystem_usec 2000000\nnr_periods 350\nnr_throttled 7\n"
      "throttled_usec 420000\nnr_bursts 0\nburst_usec 0\n")


def test_cpu_stat_of_cgroup_v1_counts_nanoseconds_and_v2_microseconds():
    assert throttling.parse_cpu_stat(V1) == CpuStat(400, 37, 2.5, "/sys/fs/cgroup/cpu,cpuacct/cpu.stat")
    assert throttling.parse_cpu_stat(V2) == CpuStat(350, 7, 0.42, "/sys/fs/cgroup/cpu.stat")


def test_cpu_stat_without_a_cpu_limit_has_no_periods():
    # cgroup v2 without the cpu controller: usage only, nothing that could be throttled.
    assert throttling.parse_cpu_stat("/sys/fs/cgroup/cpu.stat\nusage_usec 10\nuser_usec 5\nsystem_usec 5\n") == CpuStat(0, 0, 0.0, "/sys/fs/cgroup/cpu.stat")


@pytest.mark.parametrize("output", ["", "nr_periods 3\n", "/sys/fs/cgroup/cpu.stat\n", "OCI runtime exec failed\n"])
def test_anything_else_is_not_a_cpu_stat(output):
    with pytest.raises(ValueError):
        throttling.parse_cpu_stat(output)


def _interpreter(component: str) -> str | None:
    return {"frontend": shutil.which("node"), "backend": sys.executable, "database": shutil.which("sh")}[component]


@pytest.mark.parametrize("component", ["frontend", "backend", "database"])
def test_each_images_reader_prints_the_first_cpu_stat_that_exists_or_exits_3(component, tmp_path):
    interpreter = _interpreter(component)
    if interpreter is None:
        pytest.skip(f"no interpreter for the {component} reader on this machine")
    missing, present, later = tmp_path / "v2" / "cpu.stat", tmp_path / "cpu,cpuacct" / "cpu.stat", tmp_path / "cpu" / "cpu.stat"
    for path, text in ((present, V1.partition("\n")[2]), (later, "nr_periods 1\n")):
        path.parent.mkdir()
        path.write_text(text)
    command = throttling.read_commands((str(missing), str(present), str(later)))[component]
    out = subprocess.run([interpreter, *command[1:]], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    stat = throttling.parse_cpu_stat(out.stdout)
    assert stat.source == str(present) and (stat.periods, stat.throttled_periods, stat.throttled_s) == (400, 37, 2.5)

    command = throttling.read_commands((str(missing),))[component]
    out = subprocess.run([interpreter, *command[1:]], capture_output=True, text=True, timeout=60)
    assert out.returncode == throttling.NOT_FOUND_EXIT and out.stdout == ""


def test_each_component_runs_what_its_image_has():
    # dockerfiles/: the frontend image holds node and no shell, the backend's python and no shell; the database's is Debian.
    assert {c: cmd[0] for c, cmd in throttling.READ_COMMANDS.items()} == {"frontend": "node", "backend": "python", "database": "sh"}


def test_an_execs_status_says_whether_and_why_it_failed():
    assert throttling.exec_failure("") == "" and throttling.exec_failure('{"metadata":{},"status":"Success"}') == ""
    not_found = {"status": "Failure", "message": "command terminated with non-zero exit code: exit status 3",
                 "reason": "NonZeroExitCode", "details": {"causes": [{"reason": "ExitCode", "message": "3"}]}}
    assert throttling.exec_failure(json.dumps(not_found)).startswith("no cpu.stat at /sys/fs/cgroup/cpu.stat")
    missing_binary = {"status": "Failure", "message": 'exec: "node": executable file not found in $PATH'}
    assert "executable file not found" in throttling.exec_failure(json.dumps(missing_binary))
    assert throttling.exec_failure("not json") == "not json"


# ---- snapshots over a fake API -------------------------------------------------------------------------------

def pod(name, containers, phase="Running", deleting=False):
    statuses = [SimpleNamespace(name=c, container_id=cid, state=SimpleNamespace(running=object() if cid else None))
                for c, cid in containers]
    return SimpleNamespace(metadata=SimpleNamespace(name=name, deletion_timestamp="now" if deleting else None),
                           status=SimpleNamespace(phase=phase, container_statuses=statuses))


class FakeCore:
    def __init__(self, pods_by_component):
        self.pods_by_component = pods_by_component
        self.selectors = []

    def list_namespaced_pod(self, namespace, label_selector):
        self.selectors.append(label_selector)
        component = label_selector.split("app.kubernetes.io/name=")[1].split(",")[0]
        pods = self.pods_by_component[component]
        if isinstance(pods, Exception):
            raise pods
        return SimpleNamespace(items=pods)


def test_a_snapshot_reads_every_running_container_of_each_component_frontend_first():
    core = FakeCore({
        "frontend": [pod("fe-1", [("frontend", "containerd://f1")]), pod("fe-2", [("frontend", "containerd://f2")], deleting=True)],
        "backend": [pod("be-1", [("backend", "containerd://b1")]), pod("be-2", [("backend", "")], phase="Pending")],
        "database": [pod("db-0", [("postgresql", "containerd://d0")])],
    })
    calls = []

    def exec_in(pod_name, container, command, timeout):
        calls.append((pod_name, command[0]))
        if pod_name == "db-0":
            raise RuntimeError("exec refused")
        return V2

    reader = throttling.CpuStatReader(SimpleNamespace(core=core), "todo", "todo", exec_in=exec_in)
    snap = reader.snapshot()
    assert calls == [("fe-1", "node"), ("be-1", "python"), ("db-0", "sh")]
    assert "app.kubernetes.io/component=web" in core.selectors[0]  # the workload's pods, not helm test pods
    assert {r.pod for r in snap.stats} == {"fe-1", "be-1"} and [r.pod for r in snap.errors] == ["db-0"]
    assert "exec refused" in next(iter(snap.errors.values())) and len(snap.running) == 3


def test_a_snapshot_whose_listing_fails_says_so_instead_of_raising():
    core = FakeCore({"frontend": RuntimeError("API unavailable"), "backend": [], "database": []})
    snap = throttling.CpuStatReader(SimpleNamespace(core=core), "todo", "todo", exec_in=lambda *a: V2).snapshot()
    assert "API unavailable" in snap.failure and not snap.running


# ---- the window's arithmetic ---------------------------------------------------------------------------------

def ref(pod_name, cid, component="frontend"):
    return ContainerRef(component, pod_name, component, cid)


def snapshot(at, stats, errors=(), components=("frontend", "backend")):
    snap = Snapshot(at, components)
    for r, (periods, throttled, seconds) in stats.items():
        snap.running.add(r)
        snap.stats[r] = CpuStat(periods, throttled, seconds, "/sys/fs/cgroup/cpu.stat")
    for r in errors:
        snap.running.add(r)
        snap.errors[r] = "RuntimeError: exec refused"
    return snap


def test_a_container_present_at_both_ends_counts_its_difference():
    a = ref("fe-1", "c1")
    result = throttling.throttling_between(snapshot(100, {a: (1000, 50, 3.0)}), snapshot(135, {a: (1350, 57, 3.5)}))
    fe = result["frontend"]
    assert (fe.containers, fe.periods, fe.throttled_periods, fe.throttled_s, fe.pct, fe.seconds) == (1, 350, 7, 0.5, 2.0, 35.0)
    assert fe.describe().startswith("7 of 350 periods throttled (2.0 %), 0.50 s, 1 container(s) over 35.0 s")
    assert result["backend"].containers == 0 and result["backend"].pct is None
    assert result["backend"].describe() == "no container measured"


def test_containers_that_start_during_the_window_count_from_zero_and_gone_ones_are_named():
    stays, new, gone = ref("fe-1", "c1"), ref("fe-2", "c2"), ref("fe-3", "c3")
    restarted_before, restarted_after = ref("fe-4", "c4"), ref("fe-4", "c5")  # the same pod, a new container
    start = snapshot(100, {stays: (100, 0, 0.0), gone: (80, 10, 1.0), restarted_before: (90, 0, 0.0)})
    end = snapshot(130, {stays: (400, 2, 0.1), new: (50, 5, 0.4), restarted_after: (30, 0, 0.0)})
    fe = throttling.throttling_between(start, end)["frontend"]
    assert fe.containers == 3 and fe.periods == 300 + 50 + 30 and fe.throttled_periods == 2 + 5
    assert fe.throttled_s == pytest.approx(0.5)
    assert sorted(fe.appeared) == ["fe-2/frontend", "fe-4/frontend"] and sorted(fe.vanished) == ["fe-3/frontend", "fe-4/frontend"]
    text = fe.describe()
    assert "started during the window, counted from their start: fe-2/frontend, fe-4/frontend" in text
    assert "gone before its end, not counted: fe-3/frontend" in text


def test_unreadable_containers_are_named_and_not_counted():
    a, b, c = ref("fe-1", "c1"), ref("fe-2", "c2"), ref("fe-3", "c3")
    start = snapshot(100, {a: (100, 0, 0.0)}, errors=[b])
    end = snapshot(130, {b: (400, 9, 1.0)}, errors=[a, c])
    fe = throttling.throttling_between(start, end)["frontend"]
    assert fe.containers == 0 and sorted(fe.unmeasured) == ["fe-1/frontend", "fe-2/frontend", "fe-3/frontend"]
    assert fe.appeared == [] and "unreadable, not counted" in fe.describe()


def test_no_cpu_limit_means_no_periods_and_no_throttling():
    a = ref("fe-1", "c1")
    fe = throttling.throttling_between(snapshot(0, {a: (0, 0, 0.0)}), snapshot(30, {a: (0, 0, 0.0)}))["frontend"]
    assert fe.containers == 1 and fe.pct is None and "no CPU limit" in fe.describe()


def test_a_failed_listing_is_noted_on_every_component():
    start = snapshot(0, {ref("fe-1", "c1"): (0, 0, 0.0)})
    end = Snapshot(30, start.components, failure="listing pods: RuntimeError: API unavailable")
    result = throttling.throttling_between(start, end)
    assert all("the end snapshot failed" in item.describe() for item in result.values())


class FakeReader:
    def __init__(self):
        self.taken = []

    def snapshot(self):
        snap = Snapshot(float(len(self.taken)), ("frontend",))
        self.taken.append(snap)
        return snap


def test_the_window_is_taken_when_its_conditions_first_hold():
    reader, ticks = FakeReader(), iter(range(100))
    state = {"now": 0}

    def clock():
        state["now"] = next(ticks)
        return state["now"]

    window = throttling.measure_window(reader, begins=lambda: clock() >= 2, ends=lambda: clock() >= 5, abandoned=lambda: None,
                                       description="a test step", timeout=30)
    assert window.start is reader.taken[0] and window.end is reader.taken[1] and state["now"] >= 5


def test_a_window_that_never_begins_raises_with_the_reason():
    reader = FakeReader()
    with pytest.raises(DeployProofError, match="a test step never began: the Locust run ended"):
        throttling.measure_window(reader, begins=lambda: False, ends=lambda: True, abandoned=lambda: "the Locust run ended",
                                  description="a test step", timeout=30)
    assert reader.taken == []


def test_a_window_ends_early_when_the_load_ends():
    reader = FakeReader()
    window = throttling.measure_window(reader, begins=lambda: True, ends=lambda: False, abandoned=lambda: "the Locust run ended",
                                       description="a test step", timeout=30)
    assert len(reader.taken) == 2 and window.seconds == 1.0


def test_every_reader_tries_cgroup_v2_first_then_both_v1_mount_names():
    assert throttling.CPU_STAT_PATHS[0] == "/sys/fs/cgroup/cpu.stat"
    for command in throttling.READ_COMMANDS.values():
        script = command[-1]
        positions = [script.index(p) for p in throttling.CPU_STAT_PATHS]
        assert positions == sorted(positions)
