"""`python -m todo_backend.startup_modules`: the source files of every module the server loads, one a line.

The backend image ships bytecode for these files only (dockerfiles/backend.Dockerfile): the rest of
site-packages and the standard library keep their sources, and whatever a rare path imports later is
compiled in memory then. Loaded here the way the server loads them: uvicorn's own configuration step (its
loop, HTTP, WebSocket and lifespan modules), the app built with both chat agents and both auth modes, the MCP
tool server (built after start), the OpenAI agent's SDK, the migration command, and a chat turn's MCP client up to its first (refused) connection. Nothing connects to a database: the engine connects on first use.
"""

from __future__ import annotations

import asyncio
import os
import sys

# Settings that let create_app() run without a database or secrets; every value is a placeholder.
_PLACEHOLDER_ENV = {
    "DATABASE_URL": "postgresql+psycopg://startup:modules@127.0.0.1:9/none",
    "AUTH_MODE": "hs256",
    "AUTH_JWT_SECRET": "placeholder-secret-for-listing-modules-only-0123456789",
    "CHAT_AGENT": "openai",
    "OPENAI_API_KEY": "placeholder",
    "LOG_LEVEL": "WARNING",
}


def load_server_modules() -> None:
    os.environ.update(_PLACEHOLDER_ENV)
    import uvicorn
    import uvicorn.main  # noqa: F401  (the image's CMD is uvicorn's command line)
    import uvicorn.server  # noqa: F401

    from . import migrate  # noqa: F401  (the migration Job's command)
    from .main import create_app
    from .settings import Settings

    config = uvicorn.Config(create_app(Settings()), log_config=None)
    config.load()  # imports the loop, protocol and lifespan implementations it picked
    config.get_loop_factory()
    create_app(Settings(auth_mode="jwks", auth_jwks_url="http://127.0.0.1:9/jwks", chat_agent="offline"))
    # The MCP tool server is built after start, in a worker thread (main._build_mcp_server): the same modules here.
    from .db import make_engine
    from .main import _build_mcp_server
    from .tasks import TaskStore

    _build_mcp_server(TaskStore(make_engine(Settings())))
    import alembic.command  # noqa: F401  (what migrate runs, and the env module's imports)
    import alembic.runtime.migration  # noqa: F401
    # The OpenAI agent imports its SDK on its first reply (chat/openai_agent.py): the same names here.
    import agents.items  # noqa: F401
    import agents.mcp  # noqa: F401
    import openai  # noqa: F401
    from agents import Agent, OpenAIChatCompletionsModel, RunConfig, Runner  # noqa: F401

    asyncio.run(_first_tool_session())


async def _first_tool_session() -> None:
    """A chat turn's MCP client up to its first connection (refused: nothing listens on port 9).

    The HTTP transport (httpx2's connection pool, h11, TLS defaults) loads only when a request is sent."""
    from .chat.mcp_tools import mcp_tool_session

    try:
        async with mcp_tool_session("http://127.0.0.1:9/mcp", "placeholder", timeout=2.0):
            pass
    except Exception:  # the refused connection, as the SDK wraps it
        pass


def module_files() -> list[str]:
    files = {getattr(module, "__file__", None) for module in list(sys.modules.values())}
    return sorted(f for f in files if f and f.endswith(".py"))


if __name__ == "__main__":
    load_server_modules()
    print("\n".join(module_files()))
