"""Task operations for one user, shared by the REST routes and the MCP tools.

Every query filters on user_id: a task id that belongs to someone else is simply "not found".
"""

from __future__ import annotations

from typing import Literal

from sqlalchemy.engine import Engine
from sqlmodel import col, select

from .db import session_scope
from .models import Task, utcnow

StatusFilter = Literal["all", "pending", "completed"]
_MAX_ID = 2**31 - 1  # PostgreSQL integer; a larger id can only be "not found"


class TaskNotFound(LookupError):
    def __init__(self, task_id: int) -> None:
        super().__init__(f"Task {task_id} not found")
        self.task_id = task_id


class TaskStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def list(self, user_id: str, status: StatusFilter = "all") -> list[Task]:
        query = select(Task).where(Task.user_id == user_id)
        if status == "pending":
            query = query.where(col(Task.completed).is_(False))
        elif status == "completed":
            query = query.where(col(Task.completed).is_(True))
        with session_scope(self.engine) as session:
            return list(session.exec(query.order_by(col(Task.id))))

    def create(self, user_id: str, title: str, description: str | None = None) -> Task:
        task = Task(user_id=user_id, title=title, description=description)
        with session_scope(self.engine) as session:
            session.add(task)
            session.flush()
            session.refresh(task)
            return task

    def get(self, user_id: str, task_id: int) -> Task:
        with session_scope(self.engine) as session:
            return self._owned(session, user_id, task_id)

    def update(self, user_id: str, task_id: int, **changes: object) -> Task:
        with session_scope(self.engine) as session:
            task = self._owned(session, user_id, task_id)
            for field, value in changes.items():
                setattr(task, field, value)
            task.updated_at = utcnow()
            session.add(task)
            session.flush()
            session.refresh(task)
            return task

    def set_completed(self, user_id: str, task_id: int, completed: bool | None = None) -> Task:
        """Mark completed (or pending); None toggles."""
        with session_scope(self.engine) as session:
            task = self._owned(session, user_id, task_id)
            task.completed = (not task.completed) if completed is None else completed
            task.updated_at = utcnow()
            session.add(task)
            session.flush()
            session.refresh(task)
            return task

    def delete(self, user_id: str, task_id: int) -> Task:
        with session_scope(self.engine) as session:
            task = self._owned(session, user_id, task_id)
            session.delete(task)
            return task

    @staticmethod
    def _owned(session, user_id: str, task_id: int) -> Task:  # type: ignore[no-untyped-def]
        if not 1 <= task_id <= _MAX_ID:
            raise TaskNotFound(task_id)
        task = session.exec(select(Task).where(Task.id == task_id, Task.user_id == user_id)).first()
        if task is None:
            raise TaskNotFound(task_id)
        return task
