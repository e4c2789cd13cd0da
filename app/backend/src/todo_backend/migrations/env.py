"""Alembic environment: online migrations only, serialised by a PostgreSQL advisory lock so that
several migration jobs (e.g. two Helm upgrades racing) never apply the same revision twice."""

from __future__ import annotations

from alembic import context
from sqlalchemy import text

from todo_backend.db import make_engine
from todo_backend.settings import get_settings
from todo_backend import models  # noqa: F401  (registers the tables on SQLModel.metadata)
from sqlmodel import SQLModel

VERSION_TABLE = "todo_alembic_version"
ADVISORY_LOCK_KEY = 734_211_001  # arbitrary, constant: "todo backend migrations"


def run_migrations_online() -> None:
    engine = make_engine(get_settings())
    with engine.connect() as connection:
        connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": ADVISORY_LOCK_KEY})
        connection.commit()
        try:
            context.configure(
                connection=connection,
                target_metadata=SQLModel.metadata,
                version_table=VERSION_TABLE,
                compare_type=True,
            )
            with context.begin_transaction():
                context.run_migrations()
            connection.commit()
        finally:
            connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": ADVISORY_LOCK_KEY})
            connection.commit()
    engine.dispose()


run_migrations_online()
