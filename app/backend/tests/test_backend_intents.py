"""The offline agent's parser on a table of natural phrasings."""

from __future__ import annotations

import pytest

from todo_backend.chat.intents import TaskRef, parse
from todo_backend.chat.offline_agent import title_matches

PHRASINGS = [
    # add
    ("add buy milk", "add", {"title": "buy milk"}),
    ("Add a task to buy eggs", "add", {"title": "buy eggs"}),
    ("remind me to call mom", "add", {"title": "call mom"}),
    ("new task: walk the dog", "add", {"title": "walk the dog"}),
    ("please add 'water the plants'", "add", {"title": "water the plants"}),
    ("I need to buy bread", "add", {"title": "buy bread"}),
    ("add buy milk to my list", "add", {"title": "buy milk"}),
    ("add pay rent with description before friday", "add", {"title": "pay rent", "description": "before friday"}),
    ("add take notes for class", "add", {"title": "take notes for class"}),
    # list
    ("what's left to do?", "list", {"status": "pending"}),
    ("What do I still need to do?", "list", {"status": "pending"}),
    ("show my tasks", "list", {"status": "all"}),
    ("list all tasks", "list", {"status": "all"}),
    ("what's on my list", "list", {"status": "all"}),
    ("show completed tasks", "list", {"status": "completed"}),
    ("what have I done?", "list", {"status": "completed"}),
    ("tasks", "list", {"status": "all"}),
    # complete
    ("mark the milk one done", "complete", {"ref": TaskRef(text="milk")}),
    ("complete task 2", "complete", {"ref": TaskRef(number=2)}),
    ("mark task 3 as complete", "complete", {"ref": TaskRef(number=3)}),
    ("finish the second one", "complete", {"ref": TaskRef(number=2)}),
    ("check off milk", "complete", {"ref": TaskRef(text="milk")}),
    ("I finished buying milk", "complete", {"ref": TaskRef(text="buying milk")}),
    ("done with #7", "complete", {"ref": TaskRef(number=7, explicit_id=True)}),
    # update
    ("rename buy milk to buy oat milk", "update", {"ref": TaskRef(text="buy milk"), "fields": {"title": "buy oat milk"}}),
    ("change task 2 to call dad", "update", {"ref": TaskRef(number=2), "fields": {"title": "call dad"}}),
    ("set the description of task 1 to two litres", "update", {"ref": TaskRef(number=1), "fields": {"description": "two litres"}}),
    # delete
    ("delete task 3", "delete", {"ref": TaskRef(number=3), "bulk": False}),
    ("remove the milk task", "delete", {"ref": TaskRef(text="milk"), "bulk": False}),
    ("get rid of task #7", "delete", {"ref": TaskRef(number=7, explicit_id=True)}),
    ("cancel call mom", "delete", {"ref": TaskRef(text="call mom")}),
    ("delete everything about milk", "delete", {"ref": TaskRef(text="milk"), "bulk": True}),
    ("delete all milk tasks", "delete", {"ref": TaskRef(text="milk"), "bulk": True}),
    # follow-ups and the rest
    ("yes", "confirm", {}),
    ("Yep!", "confirm", {}),
    ("no", "deny", {}),
    ("never mind", "deny", {}),
    ("hello", "help", {}),
    ("blorp", "unknown", {}),
]


@pytest.mark.parametrize("message, kind, expected", PHRASINGS, ids=[p[0] for p in PHRASINGS])
def test_phrasing(message, kind, expected):
    intent = parse(message)
    assert intent.kind == kind, intent
    for field, value in expected.items():
        assert getattr(intent, field) == value, intent


@pytest.mark.parametrize(
    "fragment, title, matches",
    [("milk", "buy milk", True), ("buying milk", "buy milk", True), ("Milk", "Buy oat milk", True),
     ("eggs", "buy egg", True), ("milk", "call mom", False), ("the milk", "milkshake recipe", False)],
)
def test_title_matching(fragment, title, matches):
    assert title_matches(fragment, title) is matches
