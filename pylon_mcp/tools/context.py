"""What every tool call can reach: the pooled Pylon client and the settings (the server lifespan's state)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from mcp.server.mcpserver import Context

from pylon_mcp.config import Settings
from pylon_mcp.pylon.client import PylonClient


@dataclass
class AppState:
    pylon: PylonClient
    settings: Settings
    # Filled by later layers (idempotency keys, resource cache); typed loosely to keep layers apart.
    extras: dict[str, Any] = field(default_factory=dict)


def app(ctx: Context) -> AppState:
    state = ctx.request_context.lifespan_context
    assert isinstance(state, AppState), "tools need the server lifespan (build_server) to run"
    return state
