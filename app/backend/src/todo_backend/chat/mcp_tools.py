"""A real MCP client session against our own /mcp endpoint, carrying the user's bearer token.

Going over HTTP (loopback by default, MCP_SELF_URL) means the chat path exercises exactly what external
MCP clients use: the same auth, the same stateless transport, the same tools.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx2
from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client
from mcp.types import CallToolResult, TextContent

from ..logs import request_id_var
from ..tls import client_tls_context


class ToolCallError(RuntimeError):
    """The tool ran and reported an error (e.g. "Task 9 not found")."""


class McpToolSession:
    def __init__(self, session: ClientSession) -> None:
        self.session = session
        self.calls: list[dict[str, Any]] = []

    async def call(self, name: str, arguments: dict[str, Any]) -> Any:
        result = await self.session.call_tool(name, arguments)
        payload = _payload(result)
        if result.is_error:
            message = payload if isinstance(payload, str) else json.dumps(payload)
            message = message.removeprefix(f"Error executing tool {name}: ")  # the SDK's wrapper text
            self.calls.append({"name": name, "arguments": arguments, "result": {"error": message}})
            raise ToolCallError(message)
        self.calls.append({"name": name, "arguments": arguments, "result": payload})
        return payload


def _payload(result: CallToolResult) -> Any:
    texts = [block.text for block in result.content if isinstance(block, TextContent)]
    text = "\n".join(texts)
    try:
        return json.loads(text)
    except (json.JSONDecodeError, ValueError):
        if result.structured_content is not None:
            return result.structured_content
        return text


@asynccontextmanager
async def mcp_tool_session(url: str, bearer_token: str, timeout: float = 30.0) -> AsyncIterator[McpToolSession]:
    # trust_env=False: a proxy from the environment must never see loopback traffic or the token.
    headers = {"Authorization": f"Bearer {bearer_token}"}
    request_id = request_id_var.get()
    if request_id:  # the tool calls log under the chat request's id
        headers["X-Request-ID"] = request_id
    # mcp 2 runs on httpx2 (httpx's successor): its transport accepts only an httpx2 client.
    async with httpx2.AsyncClient(headers=headers, timeout=timeout, trust_env=False, verify=client_tls_context()) as http_client:
        async with streamable_http_client(url, http_client=http_client) as (read, write):
            async with ClientSession(read, write) as session:
                await session.initialize()
                yield McpToolSession(session)
