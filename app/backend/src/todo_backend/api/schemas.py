"""Request and response bodies of the REST API."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from ..models import DESCRIPTION_MAX, TITLE_MAX

MESSAGE_MAX = 4000

# What PostgreSQL (UTF-8 text) cannot store, or what has no business in a title or a message: C0 control
# characters other than tab, line feed and carriage return (NUL is refused by the database itself), DEL, and
# lone surrogates (valid in JSON escapes, not encodable as UTF-8).
_UNSTORABLE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")


def check_storable(value: str, field: str) -> str:
    """Refuse text the database cannot store, naming the field and the first offending character."""
    found = _UNSTORABLE.search(value)
    if found:
        raise ValueError(
            f"{field} contains a character that is not allowed (U+{ord(found.group()):04X} at position {found.start()}):"
            " control characters other than tab and newline, and unpaired surrogates, cannot be stored"
        )
    return value


def clean_title(value: str) -> str:
    value = check_storable(value, "title").strip()
    if not value:
        raise ValueError("title must not be empty")
    if len(value) > TITLE_MAX:
        raise ValueError(f"title must be at most {TITLE_MAX} characters")
    return value


def clean_description(value: str | None) -> str | None:
    if value is None:
        return None
    value = check_storable(value, "description").strip()
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

    @field_validator("completed")
    @classmethod
    def _completed(cls, value: bool | None) -> bool:
        if value is None:
            raise ValueError("completed must be true or false, not null")
        return value

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
        value = check_storable(value, "message").strip()
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
