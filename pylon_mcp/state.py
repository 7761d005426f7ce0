"""Process state shared by tools, resources, prompts and completions (the server lifespan's value).

Nothing here is needed for correctness across requests: in stateless HTTP mode
each replica keeps its own short-lived cache and its own "seen" values, and
losing them only costs an extra upstream request.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from weakref import WeakKeyDictionary

from pylon_mcp.auth.caller import UserLookup
from pylon_mcp.config import Settings
from pylon_mcp.confirmations import ConfirmationStore, InMemoryConfirmations
from pylon_mcp.idempotency import CreateLedger
from pylon_mcp.pylon.client import PylonClient
from pylon_mcp.pylon.models import BASE_STATES, Issue


class ListingCache:
    """Rendered resource listings for a few seconds, so clients re-reading resources don't burn Pylon's limits."""

    def __init__(self, ttl: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl = ttl
        self._clock = clock
        self._entries: dict[str, tuple[float, Any]] = {}

    def get(self, key: str) -> Any | None:
        entry = self._entries.get(key)
        if entry is None or entry[0] <= self._clock():
            self._entries.pop(key, None)
            return None
        return entry[1]

    def put(self, key: str, value: Any) -> None:
        if self.ttl > 0:
            self._entries[key] = (self._clock() + self.ttl, value)

    def clear(self) -> None:
        """A write made any listing stale."""
        self._entries.clear()


@dataclass
class Seen:
    """Values seen in Pylon's answers, for completions: custom states, tags, recent issue numbers."""

    states: set[str] = field(default_factory=set)
    tags: Counter[str] = field(default_factory=Counter)
    numbers: list[int] = field(default_factory=list)

    def record(self, issues: Iterable[Issue]) -> None:
        for issue in issues:
            if issue.state and issue.state not in BASE_STATES:
                self.states.add(issue.state)
            self.tags.update(issue.tags or [])
            if issue.number is not None and issue.number not in self.numbers:
                self.numbers.append(issue.number)
        del self.numbers[:-200]  # keep the most recent few hundred


@dataclass
class AppState:
    pylon: PylonClient
    settings: Settings
    # email -> Pylon user ID (OAuth mode: whose name a write goes out under); None: no directory.
    user_id_for_email: UserLookup | None = None
    listings: ListingCache = field(init=False)
    seen: Seen = field(default_factory=Seen)
    ledger: CreateLedger = field(default_factory=CreateLedger)
    confirmations: ConfirmationStore = field(default_factory=InMemoryConfirmations)
    # Handshake-era resources/subscribe: client connection -> subscribed URIs. Weak: a
    # connection that ends must not be kept alive by its subscriptions.
    legacy_subscribers: WeakKeyDictionary[Any, set[str]] = field(default_factory=WeakKeyDictionary)

    def __post_init__(self) -> None:
        self.listings = ListingCache(self.settings.resource_ttl)


class StateHolder:
    """Hands the lifespan's AppState to code the SDK calls without a request context (static resources)."""

    current: AppState | None = None

    def get(self) -> AppState:
        if self.current is None:
            raise RuntimeError("the server is not running (its lifespan has not started)")
        return self.current
