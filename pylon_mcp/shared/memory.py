"""In-process shared state: the default. One process, so nothing needs to leave it."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from mcp.server.subscriptions import InMemorySubscriptionBus

from pylon_mcp.config import Settings
from pylon_mcp.confirmations import InMemoryConfirmations
from pylon_mcp.pylon.gate import LocalRateGate, budget_limits
from pylon_mcp.shared.base import Record


class MemoryLedger:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._records: dict[str, tuple[float, str]] = {}  # key -> (expires, JSON)

    def _live(self, key: str) -> str | None:
        entry = self._records.get(key)
        if entry is None or entry[0] <= self._clock():
            self._records.pop(key, None)
            return None
        return entry[1]

    async def claim(self, key: str, record: Record, ttl: float) -> Record | None:
        # One event loop: nothing runs between the check and the store, so this is atomic.
        current = self._live(key)
        if current is not None:
            return json.loads(current)
        await self.put(key, record, ttl)
        return None

    async def swap(self, key: str, expected: Record, new: Record, ttl: float) -> bool:
        if self._live(key) != _canonical(expected):
            return False
        await self.put(key, new, ttl)
        return True

    async def put(self, key: str, record: Record, ttl: float) -> None:
        now = self._clock()
        for stale in [k for k, (expires, _) in self._records.items() if expires <= now]:
            del self._records[stale]
        self._records[key] = (now + ttl, _canonical(record))

    async def drop(self, key: str) -> None:
        self._records.pop(key, None)


def _canonical(record: Record) -> str:
    return json.dumps(record, sort_keys=True, separators=(",", ":"))


class MemoryListingCache:
    def __init__(self, ttl: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl = ttl
        self._clock = clock
        self._entries: dict[str, tuple[float, str]] = {}

    async def get(self, key: str) -> str | None:
        entry = self._entries.get(key)
        if entry is None or entry[0] <= self._clock():
            self._entries.pop(key, None)
            return None
        return entry[1]

    async def put(self, key: str, value: str) -> None:
        if self.ttl > 0:
            self._entries[key] = (self._clock() + self.ttl, value)

    async def clear(self) -> None:
        self._entries.clear()


class MemoryState:
    kind = "memory"

    def __init__(
        self, *, listing_ttl: float, limits: dict[str, int] | None = None, window: float = 60.0
    ) -> None:
        self.gate = LocalRateGate(limits, window)
        self.ledger = MemoryLedger()
        self.listings = MemoryListingCache(listing_ttl)
        self.bus = InMemorySubscriptionBus()
        self.confirmations = InMemoryConfirmations()

    @classmethod
    def from_settings(cls, settings: Settings, **kwargs: Any) -> MemoryState:
        return cls(listing_ttl=settings.resource_ttl, limits=budget_limits(settings.rate_budget), **kwargs)

    async def start(self) -> None:
        return None

    async def aclose(self) -> None:
        return None

    async def problem(self) -> str | None:
        return None
