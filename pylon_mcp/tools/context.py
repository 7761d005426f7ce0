"""How a tool reaches the server's state (the lifespan's value): the pooled Pylon client, settings, caches."""

from __future__ import annotations

from mcp.server.mcpserver import Context

from pylon_mcp.state import AppState


def app(ctx: Context) -> AppState:
    state = ctx.request_context.lifespan_context
    assert isinstance(state, AppState), "tools need the server lifespan (build_server) to run"
    return state
