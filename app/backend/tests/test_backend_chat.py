"""Chat through POST /api/{user_id}/chat: the offline agent acting via real MCP calls, follow-ups from history,
isolation between users."""

from __future__ import annotations

import pytest


def turn(api, message, conversation_id=None, status=200):  # type: ignore[no-untyped-def]
    response = api.chat(message, conversation_id)
    assert response.status_code == status, response.text
    return response.json()


def titles(api):  # type: ignore[no-untyped-def]
    return {t["title"]: t["completed"] for t in api.client.get(api.tasks()).json()}


def test_full_conversation(api):
    first = turn(api, "add buy milk")
    cid = first["conversation_id"]
    assert first["tool_calls"][0]["name"] == "add_task"
    assert first["tool_calls"][0]["arguments"] == {"title": "buy milk"}
    assert first["tool_calls"][0]["result"]["status"] == "created"
    assert "buy milk" in first["response"]

    turn(api, "remind me to call mom", cid)
    turn(api, "add buy oat milk", cid)
    listed = turn(api, "what's left to do?", cid)
    assert listed["tool_calls"][0]["arguments"] == {"status": "pending"}
    assert "1. ○ buy milk" in listed["response"] and "2. ○ call mom" in listed["response"]

    # "task 2" is the second task of the list just shown
    done = turn(api, "complete task 2", cid)
    assert done["tool_calls"][-1]["name"] == "complete_task"
    assert titles(api)["call mom"] is True

    renamed = turn(api, "rename buy oat milk to buy almond milk", cid)
    assert renamed["tool_calls"][-1]["result"] == {
        "task_id": renamed["tool_calls"][-1]["arguments"]["task_id"], "status": "updated", "title": "buy almond milk"
    }

    asked = turn(api, "delete everything about milk", cid)
    assert "Delete all of them?" in asked["response"]
    assert all(c["name"] == "list_tasks" for c in asked["tool_calls"])
    assert set(titles(api)) == {"buy milk", "call mom", "buy almond milk"}

    confirmed = turn(api, "yes", cid)
    assert [c["name"] for c in confirmed["tool_calls"]] == ["delete_task", "delete_task"]
    assert set(titles(api)) == {"call mom"}

    nothing = turn(api, "yes", cid)
    assert nothing["tool_calls"] == [] and "nothing waiting" in nothing["response"]


def test_fragment_reference_and_ambiguity(api):
    api.create("buy milk")
    api.create("call mom")
    cid = turn(api, "mark the milk one done")["conversation_id"]
    assert titles(api) == {"buy milk": True, "call mom": False}

    api.create("buy bread")
    api.create("bake bread")
    asked = turn(api, "complete the bread one", cid)
    assert "Which one" in asked["response"]
    chosen = turn(api, "2", cid)
    assert chosen["tool_calls"][-1]["result"]["title"] == "bake bread"
    assert titles(api)["bake bread"] is True and titles(api)["buy bread"] is False

    turn(api, "delete all bread tasks", cid)
    declined = turn(api, "no", cid)
    assert declined["tool_calls"] == [] and "unchanged" in declined["response"]
    assert "buy bread" in titles(api)


def test_ids_and_errors(api):
    task = api.create("water plants")
    reply = turn(api, f"delete task #{task['id']}")
    assert reply["tool_calls"][-1]["result"]["status"] == "deleted"
    missing = turn(api, "complete task 99999")
    assert "couldn't" in missing["response"] and "not found" in missing["response"]
    assert missing["tool_calls"][-1]["result"] == {"error": "Task 99999 not found"}
    unknown = turn(api, "blorp blorp")
    assert unknown["tool_calls"] == [] and "add buy milk" in unknown["response"]
    nomatch = turn(api, "delete the unicorn task")
    assert "couldn't find" in nomatch["response"]


@pytest.mark.parametrize(
    "message, tool, arguments",
    [
        ("add buy milk", "add_task", {"title": "buy milk"}),
        ("remind me to call mom", "add_task", {"title": "call mom"}),
        ("what's left to do?", "list_tasks", {"status": "pending"}),
        ("show my tasks", "list_tasks", {"status": "all"}),
        ("show completed tasks", "list_tasks", {"status": "completed"}),
    ],
)
def test_phrasings_reach_the_right_tool(api, message, tool, arguments):
    reply = turn(api, message)
    assert reply["tool_calls"][0]["name"] == tool
    assert reply["tool_calls"][0]["arguments"] == arguments


def test_chat_is_isolated_between_users(api, other_api):
    api.create("my secret")
    cid = turn(api, "show my tasks")["conversation_id"]

    theirs = turn(other_api, "show my tasks")
    assert "my secret" not in theirs["response"] and theirs["conversation_id"] != cid

    stolen = other_api.chat("show my tasks", cid)
    assert stolen.status_code == 404 and "Conversation" in stolen.json()["detail"]
    hijack = turn(other_api, "delete everything about secret")
    assert "couldn't find" in hijack["response"]
    assert "my secret" in titles(api)


def test_chat_bad_input(api):
    for body, status in [
        ({"message": ""}, 422), ({"message": "   "}, 422), ({}, 422), ({"message": 5}, 422),
        ({"message": "x" * 4001}, 422), ({"message": "hi", "conversation_id": "abc"}, 422),
        ({"message": "hi", "conversation_id": 0}, 422), ({"message": "hi", "conversation_id": 2**40}, 404),
    ]:
        response = api.client.post(f"/api/{api.user_id}/chat", json=body)
        assert response.status_code == status, (body, response.text)
        assert response.json()["detail"]
    assert api.client.post(f"/api/{api.user_id}/chat", content=b"{oops", headers={"Content-Type": "application/json"}).status_code == 400


def test_outgoing_clients_share_one_tls_context_that_still_verifies():
    # Built once per process (a fresh one per MCP session cost ~50 ms of CPU per chat turn), and sharing it must
    # not weaken it: certificates and host names are still checked.
    import ssl

    from todo_backend.tls import client_tls_context

    context = client_tls_context()
    assert context is client_tls_context()
    assert context.verify_mode == ssl.CERT_REQUIRED
    assert context.check_hostname
