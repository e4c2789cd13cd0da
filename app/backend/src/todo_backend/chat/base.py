"""What every chat agent gets (one turn: history, message, where the MCP tools are, whose token) and returns."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass(frozen=True)
class HistoryItem:
    role: str  # "user" | "assistant"
    content: str
    tool_calls: list[dict[str, Any]] | None = None
    agent_context: dict[str, Any] | None = None


@dataclass(frozen=True)
class ChatTurn:
    history: list[HistoryItem]
    message: str
    mcp_url: str
    bearer_token: str


@dataclass
class AgentReply:
    response: str
    tool_calls: list[dict[str, Any]] = field(default_factory=list)
    context: dict[str, Any] | None = None


class ChatAgent(Protocol):
    async def reply(self, turn: ChatTurn) -> AgentReply: ...
