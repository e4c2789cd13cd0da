"""POST /api/{user_id}/chat: one stateless chat turn."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request

from ..auth import Principal, path_user
from .schemas import ChatRequest, ChatResponse

router = APIRouter(prefix="/api/{user_id}", tags=["chat"])


@router.post("/chat", response_model=ChatResponse)
async def chat(caller: Annotated[Principal, Depends(path_user)], request: Request, body: ChatRequest) -> dict:
    return await request.app.state.chat.turn(caller.user_id, caller.token, body.conversation_id, body.message)
