"""The frozen scenario and the live step timeline: what the locustfile records beside Locust's CSV files, read
back by deployproof.load.results — parsed from written files, and from one short real step run on 127.0.0.1."""

from __future__ import annotations

import json
import threading
from http.server import ThreadingHTTPServer
from pathlib import Path

from deployproof.load import LoadPlan, LoadRun
from deployproof.load.results import Plateau, StepEvent, plateau, read_scenario, read_timeline

from test_load_parts import FakeApp  # the locustfile's journey, answered on loopback


def write_timeline(prefix: Path, events: list[dict]) -> None:
    Path(f"{prefix}_timeline.jsonl").write_text("".join(json.dumps(e) + "\n" for e in events))


def test_a_plateau_runs_from_all_users_spawned_to_the_shapes_next_step(tmp_path):
    prefix = tmp_path / "locust"
    write_timeline(prefix, [
        {"at": 100.0, "event": "target", "users": 10, "seconds": 30.0},
        {"at": 102.0, "event": "spawned", "users": 10},
        {"at": 130.2, "event": "target", "users": 20, "seconds": 34.8},
        {"at": 132.3, "event": "spawned", "users": 20},
    ])
    events = read_timeline(prefix)
    assert events[0] == StepEvent(100.0, "target", 10, 30.0) and events[1].seconds is None
    step = plateau(events, 20)
    assert step == Plateau(20, 132.3, 165.0, None)
    assert not step.ending(now=150.0, lead_s=3) and step.ending(now=162.0, lead_s=3)
    assert plateau(events, 30) is None

    with open(f"{prefix}_timeline.jsonl", "a") as out:
        out.write(json.dumps({"at": 165.1, "event": "target", "users": 30, "seconds": 35}) + "\n" + '{"at": 16')  # a line being written
    step = plateau(read_timeline(prefix), 20)
    assert step.left == 165.1 and step.ending(now=0.0, lead_s=0)


def test_no_timeline_yet_is_no_plateau(tmp_path):
    assert read_timeline(tmp_path / "locust") == [] and plateau([], 20) is None


def test_the_scenario_reads_weights_waits_and_steps(tmp_path):
    prefix = tmp_path / "locust"
    Path(f"{prefix}_scenario.json").write_text(json.dumps({
        "user_class": "TodoUser", "task_weights": {"list_tasks": 4, "add_task": 2, "complete_task": 2, "chat": 1},
        "wait_s": {"min": 0.5, "max": 1.5, "kind": "between (uniform)"}, "steps": [{"users": 5, "seconds": 30.0}],
        "spawn_rate": 5.0, "users": None, "token_refresh_s": 600}))
    scenario = read_scenario(prefix)
    assert scenario.steps == ((5, 30.0),) and scenario.spawn_rate == 5.0 and (scenario.wait_min_s, scenario.wait_max_s) == (0.5, 1.5)
    assert scenario.tasks_text == "list_tasks 4, add_task 2, complete_task 2, chat 1"
    assert scenario.steps_text == "5 users for 30 s"


def test_a_real_step_run_records_its_scenario_and_timeline(tmp_path):
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeApp)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    plan = LoadPlan(steps=((2, 3), (3, 3)), spawn_rate=4, wait_s=(0.05, 0.1))
    run = LoadRun(plan, f"http://127.0.0.1:{server.server_address[1]}", tmp_path)
    try:
        with run:
            run.wait()
    finally:
        server.shutdown()
    scenario = read_scenario(run.prefix)
    # Read from the user class Locust ran: the locustfile's task weights and the plan's waits and steps.
    assert scenario.user_class == "TodoUser"
    assert scenario.task_weights == {"list_tasks": 4, "add_task": 2, "complete_task": 2, "chat": 1}
    assert (scenario.wait_min_s, scenario.wait_max_s) == (0.05, 0.1)
    assert scenario.steps == ((2, 3.0), (3, 3.0)) and scenario.spawn_rate == 4.0
    events = read_timeline(run.prefix)
    assert [(e.event, e.users) for e in events] == [("target", 2), ("spawned", 2), ("target", 3), ("spawned", 3), ("target", 0)]
    first, second = plateau(events, 2), plateau(events, 3)
    assert first.left == events[2].at and second.left == events[4].at and first.due is not None
    assert abs(first.due - events[2].at) < 1.5  # the shape moved on about when it planned to
