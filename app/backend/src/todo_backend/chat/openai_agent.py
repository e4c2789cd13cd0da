"""The online chat agent (CHAT_AGENT=openai): OpenAI Agents SDK, tools from our MCP server over HTTP.

Same contract as the offline agent: one turn in, a reply plus the tool calls it made out. Imported lazily
so the offline default never needs the SDK at start-up.
"""

from __future__ import annotations

import json
from typing import Any

from ..settings import Settings
from .base import AgentReply, ChatTurn

INSTRUCTIONS = (
    "You are a helpful todo-list assistant. Manage the user's tasks only through the tools: add_task, "
    "list_tasks, complete_task, delete_task, update_task. When the user refers to a task by name, call "
    "list_tasks first to find its id. Ask before deleting several tasks at once. Confirm every change briefly."
)


class OpenAIAgent:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def _model(self) -> Any:
        from agents import OpenAIChatCompletionsModel
        from openai import AsyncOpenAI

        client = AsyncOpenAI(api_key=self.settings.openai_api_key, base_url=self.settings.openai_base_url or None)
        return OpenAIChatCompletionsModel(model=self.settings.openai_model, openai_client=client)

    async def reply(self, turn: ChatTurn) -> AgentReply:
        from agents import Agent, RunConfig, Runner
        from agents.items import ToolCallItem, ToolCallOutputItem
        from agents.mcp import MCPServerStreamableHttp

        history: list[Any] = [{"role": item.role, "content": item.content} for item in turn.history]
        history.append({"role": "user", "content": turn.message})
        server = MCPServerStreamableHttp(
            params={"url": turn.mcp_url, "headers": {"Authorization": f"Bearer {turn.bearer_token}"}, "timeout": 30},
            name="todo",
            cache_tools_list=True,
            client_session_timeout_seconds=30,
        )
        async with server:
            agent = Agent(name="Todo assistant", instructions=INSTRUCTIONS, mcp_servers=[server], model=self._model())
            result = await Runner.run(agent, input=history, run_config=RunConfig(tracing_disabled=True))

        calls: dict[str, dict[str, Any]] = {}
        order: list[str] = []
        for item in result.new_items:
            if isinstance(item, ToolCallItem):
                raw = item.raw_item
                call_id = _get(raw, "call_id") or _get(raw, "id") or str(len(order))
                arguments = _get(raw, "arguments") or "{}"
                try:
                    parsed = json.loads(arguments) if isinstance(arguments, str) else dict(arguments)
                except (json.JSONDecodeError, TypeError, ValueError):
                    parsed = {"raw": arguments}
                calls[call_id] = {"name": _get(raw, "name") or "tool", "arguments": parsed, "result": None}
                order.append(call_id)
            elif isinstance(item, ToolCallOutputItem):
                call_id = _get(item.raw_item, "call_id")
                if call_id in calls:
                    calls[call_id]["result"] = _decode(item.output)
        return AgentReply(response=str(result.final_output or ""), tool_calls=[calls[c] for c in order])


def _get(raw: Any, name: str) -> Any:
    return raw.get(name) if isinstance(raw, dict) else getattr(raw, name, None)


def _decode(output: Any) -> Any:
    if isinstance(output, str):
        try:
            decoded = json.loads(output)
        except json.JSONDecodeError:
            return output
        return _unwrap_text(decoded)
    return _unwrap_text(output)


def _unwrap_text(value: Any) -> Any:
    """The SDK hands MCP text content over as {"type": "text", "text": "..."} (or a list of them)."""
    def is_text(block: Any) -> bool:
        return isinstance(block, dict) and block.get("type") == "text" and isinstance(block.get("text"), str)

    if isinstance(value, list) and len(value) == 1 and is_text(value[0]):
        value = value[0]
    if is_text(value):
        return _decode(value["text"])
    return value
