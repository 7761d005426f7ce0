"""Tool-argument errors, and Pylon failures as text (render/errors.py) for tools."""

from __future__ import annotations

from mcp.server.mcpserver.exceptions import ToolError

from pylon_mcp.render.errors import describe

__all__ = ["bad_argument", "describe"]


def bad_argument(field: str, message: str) -> ToolError:
    """An argument problem caught before any request: name the field and what is allowed."""
    return ToolError(f"Invalid argument '{field}': {message}")
