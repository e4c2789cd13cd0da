"""One chat turn, stateless: load the conversation from the database, run the agent, store both messages."""

from __future__ import annotations

import logging
from typing import Any

from fastapi.concurrency import run_in_threadpool
from sqlalchemy.engine import Engine
from sqlmodel import col, select
from starlette.exceptions import HTTPException

from ..db import session_scope
from ..models import Conversation, Message, utcnow
from ..settings import Settings
from .base import AgentReply, ChatAgent, ChatTurn, HistoryItem
from .offline_agent import OfflineAgent

_MAX_ID = 2**31 - 1
log = logging.getLogger("todo_backend.chat")


def build_agent(settings: Settings) -> ChatAgent:
    if settings.chat_agent == "openai":
        from .openai_agent import OpenAIAgent

        return OpenAIAgent(settings)
    return OfflineAgent()


class ChatService:
    def __init__(self, engine: Engine, settings: Settings, agent: ChatAgent) -> None:
        self.engine = engine
        self.settings = settings
        self.agent = agent

    async def turn(self, user_id: str, bearer_token: str, conversation_id: int | None, message: str) -> dict[str, Any]:
        conversation_id, history = await run_in_threadpool(self._begin, user_id, conversation_id, message)
        turn = ChatTurn(history=history, message=message, mcp_url=self.settings.mcp_self_url, bearer_token=bearer_token)
        try:
            reply: AgentReply = await self.agent.reply(turn)
        except Exception as exc:  # the tool server or the model failed: the client did nothing wrong
            log.exception("chat agent failed", extra={"agent": type(self.agent).__name__, "mcp_url": turn.mcp_url})
            raise HTTPException(
                503, "The assistant is unavailable right now (its tool server or model did not answer); try again"
            ) from exc
        await run_in_threadpool(self._finish, user_id, conversation_id, reply)
        return {"conversation_id": conversation_id, "response": reply.response, "tool_calls": reply.tool_calls}

    def _begin(self, user_id: str, conversation_id: int | None, message: str) -> tuple[int, list[HistoryItem]]:
        with session_scope(self.engine) as session:
            if conversation_id is None:
                conversation = Conversation(user_id=user_id)
                session.add(conversation)
                session.flush()
            else:
                conversation = None
                if conversation_id <= _MAX_ID:
                    conversation = session.exec(
                        select(Conversation).where(Conversation.id == conversation_id, Conversation.user_id == user_id)
                    ).first()
                if conversation is None:
                    raise HTTPException(404, f"Conversation {conversation_id} not found")
            assert conversation.id is not None
            rows = session.exec(
                select(Message)
                .where(Message.conversation_id == conversation.id, Message.user_id == user_id)
                .order_by(col(Message.id).desc())
                .limit(self.settings.chat_history_limit)
            ).all()
            history = [
                HistoryItem(role=m.role, content=m.content, tool_calls=m.tool_calls, agent_context=m.agent_context)
                for m in reversed(rows)
            ]
            session.add(Message(user_id=user_id, conversation_id=conversation.id, role="user", content=message))
            return conversation.id, history

    def _finish(self, user_id: str, conversation_id: int, reply: AgentReply) -> None:
        with session_scope(self.engine) as session:
            session.add(
                Message(
                    user_id=user_id,
                    conversation_id=conversation_id,
                    role="assistant",
                    content=reply.response,
                    tool_calls=reply.tool_calls,
                    agent_context=reply.context,
                )
            )
            conversation = session.get(Conversation, conversation_id)
            if conversation is not None:
                conversation.updated_at = utcnow()
                session.add(conversation)
