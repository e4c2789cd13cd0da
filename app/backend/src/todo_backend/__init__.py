"""Todo AI Chatbot backend: task REST API, MCP tool server and chat agent (FastAPI + PostgreSQL)."""

__version__ = "0.1.0"
