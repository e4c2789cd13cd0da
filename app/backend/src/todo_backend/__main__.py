"""`python -m todo_backend`: serve with the production uvicorn options (graceful shutdown, no duplicate access log).

Equivalent to `uvicorn todo_backend.main:app --host 0.0.0.0 --port 8000 --timeout-graceful-shutdown 20
--no-access-log --proxy-headers`; HOST, PORT and GRACEFUL_SHUTDOWN_SECONDS override the defaults.
"""

from __future__ import annotations

import os

import uvicorn

from .main import create_app
from .settings import get_settings


def main() -> None:
    settings = get_settings()  # refuse to start on a bad configuration, naming the variable
    uvicorn.run(
        create_app(settings),
        host=os.environ.get("HOST", "0.0.0.0"),
        port=int(os.environ.get("PORT", "8000")),
        timeout_graceful_shutdown=int(os.environ.get("GRACEFUL_SHUTDOWN_SECONDS", "20")),
        access_log=False,
        proxy_headers=True,
        log_config=None,
    )


if __name__ == "__main__":
    main()
