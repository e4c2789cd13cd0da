"""REST: /api/{user_id}/tasks. Plain `def` handlers: they run in the thread pool with a sync DB session."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request, Response
from starlette.exceptions import HTTPException

from ..auth import Principal, path_user
from ..tasks import TaskNotFound, TaskStore
from .schemas import TaskCreate, TaskRead, TaskUpdate

router = APIRouter(prefix="/api/{user_id}/tasks", tags=["tasks"])

Caller = Annotated[Principal, Depends(path_user)]


def _store(request: Request) -> TaskStore:
    return request.app.state.tasks


def _not_found(exc: TaskNotFound) -> HTTPException:
    return HTTPException(404, str(exc))


@router.get("", response_model=list[TaskRead])
def list_tasks(
    caller: Caller,
    request: Request,
    status: Annotated[Literal["all", "pending", "completed"], Query()] = "all",
) -> list[TaskRead]:
    return [TaskRead.model_validate(t) for t in _store(request).list(caller.user_id, status)]


@router.post("", response_model=TaskRead, status_code=201)
def create_task(caller: Caller, request: Request, body: TaskCreate) -> TaskRead:
    return TaskRead.model_validate(_store(request).create(caller.user_id, body.title, body.description))


@router.get("/{task_id}", response_model=TaskRead)
def get_task(caller: Caller, request: Request, task_id: int) -> TaskRead:
    try:
        return TaskRead.model_validate(_store(request).get(caller.user_id, task_id))
    except TaskNotFound as exc:
        raise _not_found(exc) from None


def _update(caller: Principal, request: Request, task_id: int, body: TaskUpdate) -> TaskRead:
    try:
        return TaskRead.model_validate(_store(request).update(caller.user_id, task_id, **body.changes()))
    except TaskNotFound as exc:
        raise _not_found(exc) from None


@router.put("/{task_id}", response_model=TaskRead)
def put_task(caller: Caller, request: Request, task_id: int, body: TaskUpdate) -> TaskRead:
    return _update(caller, request, task_id, body)


@router.patch("/{task_id}", response_model=TaskRead)
def patch_task(caller: Caller, request: Request, task_id: int, body: TaskUpdate) -> TaskRead:
    return _update(caller, request, task_id, body)


@router.delete("/{task_id}", status_code=204)
def delete_task(caller: Caller, request: Request, task_id: int) -> Response:
    try:
        _store(request).delete(caller.user_id, task_id)
    except TaskNotFound as exc:
        raise _not_found(exc) from None
    return Response(status_code=204)


@router.patch("/{task_id}/complete", response_model=TaskRead)
def toggle_complete(caller: Caller, request: Request, task_id: int) -> TaskRead:
    try:
        return TaskRead.model_validate(_store(request).set_completed(caller.user_id, task_id, None))
    except TaskNotFound as exc:
        raise _not_found(exc) from None
