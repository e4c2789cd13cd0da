"""`python -m todo_backend.migrate [revision]`: apply the Alembic migrations (default: head) and exit.

Run once per deploy (a Job), never on every server start: replicas must not race on schema changes.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

from alembic import command
from alembic.config import Config

from .logs import configure_logging
from .settings import get_settings

MIGRATIONS_DIR = Path(__file__).with_name("migrations")


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    settings = get_settings()  # fails fast, naming the missing variable
    configure_logging(settings.log_level)
    target = args[0] if args else "head"
    log = logging.getLogger("todo_backend.migrate")
    log.info("applying migrations", extra={"target": target})
    command.upgrade(alembic_config(), target)
    log.info("migrations applied", extra={"target": target})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
