"""How a tool reaches the server's state (the lifespan's value), and announces the changes it made."""

from __future__ import annotations

from mcp.server.mcpserver import Context

from pylon_mcp import changes
from pylon_mcp.pylon.models import Issue
from pylon_mcp.state import AppState


def app(ctx: Context) -> AppState:
    state = ctx.request_context.lifespan_context
    assert isinstance(state, AppState), "tools need the server lifespan (build_server) to run"
    return state


async def announce_change(ctx: Context, before: Issue | None, after: Issue | None) -> None:
    """After a write: drop cached listings and notify subscribers of every resource that changed."""
    state = app(ctx)
    await changes.announce(state.shared, state.legacy, before, after)
