"""Tool errors: argument errors, Pylon failures as text (render/errors.py), and the one shape every
tool error reaches the model in.

Every failed call reads `<tool> failed: <what happened, and what to do>`, whatever raised it: the
SDK's argument validation, our own checks, name resolution, a refusal, or Pylon. The SDK prefixes
some of these with "Error executing tool <tool>: " and not others; `tool_failure` replaces that.
"""

from __future__ import annotations

from collections.abc import Callable

from mcp.server.mcpserver.exceptions import ToolError, UnexpectedToolError
from pydantic import ValidationError

from pylon_mcp.pylon.errors import PylonError
from pylon_mcp.render.errors import describe

__all__ = ["CRASHED", "bad_argument", "describe", "failed_prefix", "tool_failure"]

# What the model reads when the server itself broke: nothing of the exception's own text (it stays
# in the server's log), and what the model can do about it.
CRASHED = (
    "an unexpected error inside pylon-mcp (the server logged it). This is not a problem with the "
    "arguments; tell the user if it happens again."
)


def bad_argument(field: str, message: str) -> ToolError:
    """An argument problem caught before any request: name the field and what is allowed."""
    return ToolError(f"invalid argument '{field}': {message}")


def failed_prefix(tool: str) -> str:
    """How every error of `tool` starts."""
    return f"{tool} failed: "


def tool_failure(tool: str, error: ToolError, validation_text: Callable[[ValidationError], str]) -> ToolError:
    """`error` in the one shape, keeping its cause (the SDK logs by it: field names only for a
    validation error, a traceback for a crash)."""
    cause = error.__cause__
    if isinstance(error, UnexpectedToolError) and not isinstance(cause, PylonError):
        crash = UnexpectedToolError(failed_prefix(tool) + CRASHED)
        crash.__cause__ = cause
        return crash
    if isinstance(cause, PylonError) and isinstance(error, UnexpectedToolError):
        reason = describe(cause)  # a Pylon failure the tool let through: said with status and request_id
    elif isinstance(cause, ValidationError):
        reason = validation_text(cause)
    else:
        reason = str(error).removeprefix(f"Error executing tool {tool}: ")
        if reason.startswith("Unknown tool: "):
            reason = "there is no tool by that name on this server; tools/list shows the tools offered."
    out = ToolError(failed_prefix(tool) + reason)
    out.__cause__ = cause
    return out
