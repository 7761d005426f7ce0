"""State that replicas must share, behind one small interface with two implementations.

- `memory.MemoryState`: in this process, the default (stdio, the demo, one HTTP process);
- `redis_backend.RedisState`: in Redis, chosen by PYLON_MCP_REDIS_URL, so replicas behind a
  load balancer share one idempotency ledger, one rate gate, one listing cache and one
  change bus.

Callers see only `SharedState` (base.py). The redis client is imported only when configured.
"""

from __future__ import annotations

from pylon_mcp.config import ConfigError, Settings
from pylon_mcp.shared.base import SharedState, SharedStateUnavailable


def open_shared_state(settings: Settings) -> SharedState:
    """The shared state these settings ask for (not yet started: the server lifespan starts it)."""
    if settings.redis_url:
        try:
            from pylon_mcp.shared.redis_backend import RedisState  # imports redis: off the default path
        except ImportError as exc:
            raise ConfigError(
                f"PYLON_MCP_REDIS_URL needs the redis package ({exc.name} is missing): "
                "pip install 'pylon-mcp[redis]'"
            ) from None
        return RedisState.from_settings(settings)
    from pylon_mcp.shared.memory import MemoryState

    return MemoryState.from_settings(settings)


__all__ = ["SharedState", "SharedStateUnavailable", "open_shared_state"]
