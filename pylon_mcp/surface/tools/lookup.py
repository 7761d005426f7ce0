"""find: one lookup tool over the directory (users, teams, accounts, contacts, statuses, tags, custom fields)."""

from __future__ import annotations

from typing import Annotated, Literal

from mcp.server.mcpserver import Context
from mcp_types import CallToolResult
from pydantic import Field

from pylon_mcp.render.directory import FindResult, find_result, find_text
from pylon_mcp.render.issues import dump
from pylon_mcp.surface.tools.context import app
from pylon_mcp.surface.tools.errors import bad_argument
from pylon_mcp.surface.tools.results import result

LIMIT = 20


async def find(
    kind: Literal["user", "team", "account", "contact", "status", "tag", "field"],
    query: Annotated[
        str, Field(min_length=1, max_length=200, description="Name, email, domain or slug; * lists all.")
    ],
    ctx: Context,
) -> Annotated[CallToolResult, FindResult]:
    """Look up IDs by name, email or domain. Other tools also take names and emails directly."""
    query = query.strip()
    if not query:
        raise bad_argument("query", "give part of a name, an email, a domain or a slug (or * to list)")
    if query == "*" and kind in ("account", "contact"):
        raise bad_argument(
            "query", f"{kind}s are too many to list: give part of a name, an email or a domain"
        )
    entries = await app(ctx).directory.find(kind, query, limit=LIMIT)
    out = find_result(kind, query, entries)
    return result(find_text(out, entries, LIMIT), dump(out))
