"""Task operations for one user, shared by the REST routes and the MCP tools.

Every query filters on user_id: a task id that belongs to someone else is simply "not found".
"""

from __future__ import annotations

from typing import Literal

from sqlalchemy.engine import Engine
from sqlalchemy import delete, not_, update
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

    # State changes are single conditional statements (UPDATE/DELETE ... WHERE id AND user_id ... RETURNING):
    # PostgreSQL serialises concurrent writers on the row, and a writer that lost to a DELETE matches no row
    # and reports "not found". A read-then-write in Python would lose toggles and turn such races into 500s.

    def update(self, user_id: str, task_id: int, **changes: object) -> Task:
        return self._change(user_id, task_id, **changes)

    def set_completed(self, user_id: str, task_id: int, completed: bool | None = None) -> Task:
        """Mark completed (or pending); None toggles, atomically (NOT completed, evaluated on the row)."""
        return self._change(user_id, task_id, completed=not_(col(Task.completed)) if completed is None else completed)

    def delete(self, user_id: str, task_id: int) -> Task:
        """Delete and return the task; of two concurrent deletes exactly one succeeds, the other is not found."""
        self._check_id(task_id)
        statement = delete(Task).where(col(Task.id) == task_id, col(Task.user_id) == user_id).returning(Task)
        with session_scope(self.engine) as session:
            task = session.execute(statement, execution_options={"synchronize_session": False}).scalars().first()
            if task is None:
                raise TaskNotFound(task_id)
            return task

    def _change(self, user_id: str, task_id: int, **values: object) -> Task:
        self._check_id(task_id)
        statement = (
            update(Task)
            .where(col(Task.id) == task_id, col(Task.user_id) == user_id)
            .values(**values, updated_at=utcnow())
            .returning(Task)
        )
        with session_scope(self.engine) as session:
            task = session.execute(statement, execution_options={"synchronize_session": False}).scalars().first()
            if task is None:
                raise TaskNotFound(task_id)
            return task

    @staticmethod
    def _check_id(task_id: int) -> None:
        if not 1 <= task_id <= _MAX_ID:
            raise TaskNotFound(task_id)

    @staticmethod
    def _owned(session, user_id: str, task_id: int) -> Task:  # type: ignore[no-untyped-def]
        TaskStore._check_id(task_id)
        task = session.exec(select(Task).where(Task.id == task_id, Task.user_id == user_id)).first()
        if task is None:
            raise TaskNotFound(task_id)
        return task
