"""Process state shared by tools, resources, prompts and completions (the server lifespan's value).

What replicas must share (idempotency ledger, rate gate, listing cache, change bus, confirmations)
is in `shared` (pylon_mcp/shared: in-process, or Redis). The rest is per process and
not needed for correctness: losing "seen" values only costs completions a suggestion.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pylon_mcp.changes import LegacySubscriptions
from pylon_mcp.config import Settings
from pylon_mcp.confirmations import ConfirmationStore
from pylon_mcp.directory import Directory
from pylon_mcp.pylon.client import PylonClient
from pylon_mcp.pylon.models import BASE_STATES, Issue
from pylon_mcp.recent_issues import RecentIssues
from pylon_mcp.shared.base import ListingCache, SharedState

if TYPE_CHECKING:
    from pylon_mcp.fetch import Resolver
    from pylon_mcp.knowledge import Knowledge


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
    shared: SharedState
    legacy: LegacySubscriptions
    directory: Directory = field(init=False)  # names <-> IDs; the only cache of users and accounts
    _knowledge: Any = field(default=None, init=False, repr=False)
    seen: Seen = field(default_factory=Seen)
    recent: RecentIssues = field(default_factory=RecentIssues)  # number -> ID and "before" for writes
    # DNS for attachment hosts; None: the system's (pylon_mcp/fetch.py, imported on the first download).
    # Tests stub it.
    resolver: Resolver | None = None

    @property
    def listings(self) -> ListingCache:
        return self.shared.listings

    @property
    def confirmations(self) -> ConfirmationStore:
        """Reply confirmation tokens: shared, so a preview on one replica confirms on another."""
        return self.shared.confirmations

    def __post_init__(self) -> None:
        self.directory = Directory(self.pylon)

    @property
    def knowledge(self) -> Knowledge:
        """The search index of articles, macros and resolved issues, made on first use: importing
        SQLite and the sync is start-up time a session that never searches should not pay."""
        if self._knowledge is None:
            from pylon_mcp.knowledge import Knowledge

            self._knowledge = Knowledge(self.pylon, self.settings)
        return self._knowledge

    async def aclose(self) -> None:
        if self._knowledge is not None:
            await self._knowledge.aclose()

    async def pylon_user_id(self, email: str) -> str | None:
        """OAuth mode: the Pylon user a signed-in caller's writes go out as (None: no such user)."""
        user = await self.directory.user_by_email(email)
        return user.id if user is not None else None


class StateHolder:
    """Hands the lifespan's AppState to code the SDK calls without a request context (static resources)."""

    current: AppState | None = None

    def get(self) -> AppState:
        if self.current is None:
            raise RuntimeError("the server is not running (its lifespan has not started)")
        return self.current
