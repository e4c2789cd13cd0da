"""The default, offline chat agent: rules over `intents.parse`, acting only through MCP tool calls.

Follow-ups are stateless on the server: the numbered list last shown and any pending confirmation are kept
in the assistant message's `agent_context` and read back from the conversation history on the next turn.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from .base import AgentReply, ChatTurn, HistoryItem
from .intents import Intent, TaskRef, parse, parse_ref

if TYPE_CHECKING:
    from .mcp_tools import McpToolSession

HELP = (
    "I can manage your tasks. Try: “add buy milk”, “remind me to call mom”, “what's left to do?”, "
    "“show my tasks”, “mark the milk one done”, “complete task 2”, “rename buy milk to buy oat milk”, "
    "“delete task 3” or “delete everything about milk”."
)
_STOPWORDS = {"the", "a", "an", "my", "one", "task", "item", "todo", "to", "about", "with", "of", "for"}
_VERB = {"complete": "completed", "delete": "deleted", "update": "updated"}
_TOOL = {"complete": "complete_task", "delete": "delete_task", "update": "update_task"}


def _stem(word: str) -> str:
    for suffix in ("ing", "es", "s"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)]
    return word


def _words(text: str) -> list[str]:
    return [_stem(w) for w in re.findall(r"[a-z0-9']+", text.lower())]


def title_matches(fragment: str, title: str) -> bool:
    if fragment.lower() in title.lower():
        return True
    wanted = [w for w in _words(fragment) if w not in _STOPWORDS]
    have = set(_words(title))
    return bool(wanted) and all(w in have for w in wanted)


def _numbered(tasks: list[dict[str, Any]], marks: bool = True) -> str:
    lines = []
    for position, task in enumerate(tasks, start=1):
        mark = ("✓ " if task.get("completed") else "○ ") if marks else ""
        lines.append(f"{position}. {mark}{task['title']} (id {task['id']})")
    return "\n".join(lines)


def _last_shown(history: list[HistoryItem]) -> list[int]:
    for item in reversed(history):
        if item.role == "assistant" and item.agent_context and item.agent_context.get("shown"):
            return [int(i) for i in item.agent_context["shown"]]
    return []


def _pending(history: list[HistoryItem]) -> dict[str, Any] | None:
    if history and history[-1].role == "assistant" and history[-1].agent_context:
        return history[-1].agent_context.get("pending")
    return None


class OfflineAgent:
    async def reply(self, turn: ChatTurn) -> AgentReply:
        from .mcp_tools import ToolCallError, mcp_tool_session  # the MCP SDK: imported after start (main.py)

        async with mcp_tool_session(turn.mcp_url, turn.bearer_token) as tools:
            try:
                reply = await self._handle(turn, tools)
            except ToolCallError as exc:
                reply = AgentReply(f"Sorry, I couldn't do that: {exc}")
            reply.tool_calls = tools.calls
            return reply

    async def _handle(self, turn: ChatTurn, tools: McpToolSession) -> AgentReply:
        intent = parse(turn.message)
        pending = _pending(turn.history)

        if pending and intent.kind in ("confirm", "unknown", "deny"):
            return await self._answer_pending(intent, turn.message, pending, tools)
        if intent.kind in ("confirm", "deny"):
            return AgentReply("There's nothing waiting for your confirmation. " + HELP if intent.kind == "confirm" else "OK.")
        if intent.kind == "help":
            return AgentReply(HELP)
        if intent.kind == "unknown":
            return AgentReply("Sorry, I didn't understand that. " + HELP)
        if intent.kind == "add":
            arguments: dict[str, Any] = {"title": intent.title}
            if intent.description:
                arguments["description"] = intent.description
            result = await tools.call("add_task", arguments)
            return AgentReply(f"Added “{result['title']}” to your list (id {result['task_id']}).")
        if intent.kind == "list":
            return await self._list(intent.status, tools)
        return await self._act_on_ref(intent, turn.history, tools)

    async def _list(self, status: str, tools: McpToolSession) -> AgentReply:
        tasks = await tools.call("list_tasks", {"status": status})
        if not tasks:
            empty = {"pending": "Nothing left to do: no pending tasks.", "completed": "You haven't completed any tasks yet."}
            return AgentReply(empty.get(status, "Your task list is empty."), context={"shown": []})
        heading = {"pending": "Here's what's left to do:", "completed": "Here's what you've completed:"}.get(
            status, "Here are your tasks:"
        )
        return AgentReply(f"{heading}\n{_numbered(tasks)}", context={"shown": [t["id"] for t in tasks]})

    async def _act_on_ref(self, intent: Intent, history: list[HistoryItem], tools: McpToolSession) -> AgentReply:
        assert intent.ref is not None
        candidates = await self._resolve(intent.ref, history, tools, prefer_pending=intent.kind == "complete")
        if candidates is None:
            return AgentReply(f"I couldn't find a task matching “{intent.ref.text}”. Say “show my tasks” to see them.")
        if len(candidates) == 1:
            return await self._apply(intent.kind, [candidates[0]["id"]], intent.fields, tools)

        ids = [c["id"] for c in candidates]
        pending = {"action": intent.kind, "task_ids": ids, "fields": intent.fields}
        listing = _numbered(candidates, marks=False)
        if intent.kind == "delete" and intent.bulk:
            question = f"I found {len(ids)} tasks about “{intent.ref.text}”:\n{listing}\nDelete all of them? (yes/no)"
        else:
            question = (
                f"More than one task matches “{intent.ref.text}”:\n{listing}\n"
                "Which one do you mean? Reply with its number, or “yes” for all of them."
            )
        return AgentReply(question, context={"shown": ids, "pending": pending})

    async def _resolve(
        self, ref: TaskRef, history: list[HistoryItem], tools: McpToolSession, prefer_pending: bool
    ) -> list[dict[str, Any]] | None:
        """Candidate tasks for a reference; None when nothing matches."""
        if ref.number is not None:
            shown = _last_shown(history)
            task_id = ref.number
            if not ref.explicit_id and shown:
                if ref.number == -1:
                    task_id = shown[-1]
                elif 1 <= ref.number <= len(shown):
                    task_id = shown[ref.number - 1]
            return [{"id": task_id}]
        tasks = await tools.call("list_tasks", {"status": "all"})
        fragment = ref.text or ""
        exact = [t for t in tasks if t["title"].strip().lower() == fragment.lower()]
        if len(exact) == 1:
            return exact
        matches = [t for t in tasks if title_matches(fragment, t["title"])]
        if prefer_pending and any(not t["completed"] for t in matches):
            matches = [t for t in matches if not t["completed"]]
        return matches or None

    async def _apply(self, action: str, task_ids: list[int], fields: dict[str, str], tools: McpToolSession) -> AgentReply:
        done: list[dict[str, Any]] = []
        for task_id in task_ids:
            arguments: dict[str, Any] = {"task_id": task_id, **(fields if action == "update" else {})}
            done.append(await tools.call(_TOOL[action], arguments))
        if len(done) == 1:
            result = done[0]
            if action == "complete":
                return AgentReply(f"Marked “{result['title']}” as done. ✓")
            if action == "delete":
                return AgentReply(f"Deleted “{result['title']}”.")
            if "title" in fields:
                return AgentReply(f"Renamed task {result['task_id']} to “{result['title']}”.")
            return AgentReply(f"Updated “{result['title']}”.")
        titles = ", ".join(f"“{r['title']}”" for r in done)
        return AgentReply(f"{_VERB[action].capitalize()} {len(done)} tasks: {titles}.")

    async def _answer_pending(
        self, intent: Intent, message: str, pending: dict[str, Any], tools: McpToolSession
    ) -> AgentReply:
        ids = [int(i) for i in pending["task_ids"]]
        if intent.kind == "deny":
            return AgentReply("OK, I left your tasks unchanged.")
        if intent.kind == "confirm":
            return await self._apply(pending["action"], ids, pending.get("fields") or {}, tools)
        ref = parse_ref(message)
        if ref.number is not None and (ref.number == -1 or 1 <= ref.number <= len(ids)):
            chosen = ids[-1] if ref.number == -1 else ids[ref.number - 1]
            return await self._apply(pending["action"], [chosen], pending.get("fields") or {}, tools)
        return AgentReply(
            "Please answer “yes” or “no”" + (", or give the task's number." if len(ids) > 1 else "."),
            context={"shown": ids, "pending": pending},
        )
