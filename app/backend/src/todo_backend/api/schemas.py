"""Request and response bodies of the REST API."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from ..models import DESCRIPTION_MAX, TITLE_MAX

MESSAGE_MAX = 4000


def clean_title(value: str) -> str:
    value = value.strip()
    if not value:
        raise ValueError("title must not be empty")
    if len(value) > TITLE_MAX:
        raise ValueError(f"title must be at most {TITLE_MAX} characters")
    return value


def clean_description(value: str | None) -> str | None:
    if value is None:
        return None
    value = value.strip()
    if len(value) > DESCRIPTION_MAX:
        raise ValueError(f"description must be at most {DESCRIPTION_MAX} characters")
    return value or None


class TaskCreate(BaseModel):
    model_config = ConfigDict(extra="ignore", strict=True)

    title: str
    description: str | None = None

    _title = field_validator("title")(clean_title)
    _description = field_validator("description")(clean_description)


class TaskUpdate(BaseModel):
    """PUT and PATCH: send the fields to change (at least one)."""

    model_config = ConfigDict(extra="ignore", strict=True)

    title: str | None = None
    description: str | None = None
    completed: bool | None = None

    @field_validator("title")
    @classmethod
    def _title(cls, value: str | None) -> str | None:
        if value is None:
            raise ValueError("title must not be null or empty")
        return clean_title(value)

    _description = field_validator("description")(clean_description)

    @model_validator(mode="after")
    def _something(self) -> "TaskUpdate":
        if not self.model_fields_set & {"title", "description", "completed"}:
            raise ValueError("send at least one of: title, description, completed")
        return self

    def changes(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.model_fields_set if name in {"title", "description", "completed"}}


class TaskRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    user_id: str
    title: str
    description: str | None
    completed: bool
    created_at: datetime
    updated_at: datetime


class ChatRequest(BaseModel):
    model_config = ConfigDict(extra="ignore", strict=True)

    conversation_id: int | None = Field(default=None, ge=1)
    message: str

    @field_validator("message")
    @classmethod
    def _message(cls, value: str) -> str:
        value = value.strip()
        if not value:
            raise ValueError("message must not be empty")
        if len(value) > MESSAGE_MAX:
            raise ValueError(f"message must be at most {MESSAGE_MAX} characters")
        return value


class ToolCall(BaseModel):
    name: str
    arguments: dict[str, Any]
    result: Any = None


class ChatResponse(BaseModel):
    conversation_id: int
    response: str
    tool_calls: list[ToolCall]
