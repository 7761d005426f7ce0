"""The shared-state interface: ledger, rate gate, listing cache, change bus and reply confirmation
tokens, plus liveness."""

from __future__ import annotations

from typing import Any, Protocol

from mcp.server.subscriptions import SubscriptionBus

from pylon_mcp.confirmations import ConfirmationStore
from pylon_mcp.pylon.gate import RateGate

Record = dict[str, Any]  # a JSON-able ledger record


class SharedStateUnavailable(Exception):
    """The shared store (Redis) cannot be reached; the message says so in words a user can act on."""


class Ledger(Protocol):
    """Idempotency records by key, each claimed atomically. Keys are namespaced by the caller."""

    async def claim(self, key: str, record: Record, ttl: float) -> Record | None:
        """Store `record` if `key` is free and return None; otherwise return the record already there."""
        ...

    async def swap(self, key: str, expected: Record, new: Record, ttl: float) -> bool:
        """Replace the record only if it is still `expected` (compare-and-set)."""
        ...

    async def put(self, key: str, record: Record, ttl: float) -> None: ...

    async def drop(self, key: str) -> None: ...


class ListingCache(Protocol):
    """Rendered resource listings for a few seconds, so re-reading clients don't burn Pylon's limits."""

    async def get(self, key: str) -> str | None: ...

    async def put(self, key: str, value: str) -> None: ...

    async def clear(self) -> None:
        """A write made every listing stale."""
        ...


class SharedState(Protocol):
    kind: str  # "memory" or "redis", for /readyz and logs
    gate: RateGate
    ledger: Ledger
    listings: ListingCache
    bus: SubscriptionBus
    confirmations: ConfirmationStore

    async def start(self) -> None:
        """Called by the server lifespan: connect and start background readers (never fails on an outage)."""
        ...

    async def aclose(self) -> None: ...

    async def problem(self) -> str | None:
        """None when the store answers, else why not (for /readyz)."""
        ...
