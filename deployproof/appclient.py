"""Clients of the deployed app as its users see it: the MCP endpoint (official MCP SDK) through the frontend."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx


async def _mcp_session(url: str, token: str | None, calls: list[tuple[str, dict[str, Any]]]) -> list[tuple[bool, Any]]:
    import httpx2  # mcp 2's transport takes only an httpx2 client
    from mcp import ClientSession
    from mcp.client.streamable_http import streamable_http_client

    headers = {"Authorization": f"Bearer {token}"} if token else {}
    results: list[tuple[bool, Any]] = []
    async with httpx2.AsyncClient(headers=headers, trust_env=False, timeout=30) as http:
        async with streamable_http_client(url, http_client=http) as (read, write):
            async with ClientSession(read, write) as session:
                await session.initialize()
                for name, arguments in calls:
                    if name == "__list_tools__":
                        tools = await session.list_tools()
                        results.append((False, sorted(t.name for t in tools.tools)))
                        continue
                    result = await session.call_tool(name, arguments)
                    text = result.content[0].text if result.content else ""
                    try:
                        payload: Any = json.loads(text)
                    except json.JSONDecodeError:
                        payload = text
                    results.append((bool(result.is_error), payload))
    return results


def mcp_calls(url: str, token: str | None, *calls: tuple[str, dict[str, Any]]) -> list[tuple[bool, Any]]:
    """One MCP session at `url`: each call's (is_error, payload); ("__list_tools__", {}) lists tool names."""
    return asyncio.run(_mcp_session(url, token, list(calls)))
