"""A tool result: text for the model plus the same information as structured content."""

from __future__ import annotations

from typing import Any

from mcp_types import CallToolResult, TextContent


def result(text: str, structured: dict[str, Any]) -> CallToolResult:
    return CallToolResult(content=[TextContent(type="text", text=text)], structured_content=structured)
