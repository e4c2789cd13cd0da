"""pytest config for app/frontend/tests: the fixtures live in frontend_support.py (a unique module name, so
they never clash with another suite's conftest when several test folders run in one session)."""

from frontend_support import (  # noqa: F401  (fixtures are found by name)
    app_dir,
    logdir,
    postgres,
    stack,
    standalone_build,
)
