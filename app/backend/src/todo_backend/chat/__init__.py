"""The chat assistant: an agent that manages tasks only through MCP tool calls."""
