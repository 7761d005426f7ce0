"""The rate gate every request passes before it is sent: Pylon's 429 cooldowns plus an optional budget.

Pylon counts limits per organisation and endpoint, per minute, so this state is
shared by every caller of one organisation. `LocalRateGate` keeps it in this
process; `pylon_mcp.shared.redis_backend.RedisRateGate` keeps it in Redis so
that N replicas together stay inside the limits. The client only sees `RateGate`.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Mapping
from typing import Protocol

# Pylon's published per-endpoint limits (requests per minute), from the API reference: every
# endpoint the client calls (tests/test_spec_conformance.py checks each against the spec text).
PUBLISHED_LIMITS: dict[str, int] = {
    "GET /issues": 10,
    "POST /issues": 10,
    "POST /issues/search": 20,
    "GET /issues/{id}": 60,
    "PATCH /issues/{id}": 20,
    "DELETE /issues/{id}": 20,
    "POST /issues/{id}/snooze": 20,
    "GET /issues/{id}/followers": 60,
    "POST /issues/{id}/followers": 20,
    "GET /issues/{id}/messages": 20,
    "GET /issues/{id}/threads": 20,
    "POST /issues/{id}/note": 10,
    "POST /issues/{id}/reply": 10,
    "POST /issues/{id}/external-issues": 20,
    "GET /me": 60,
    "GET /users": 60,
    "GET /users/{id}": 60,
    "POST /users/search": 20,
    "GET /teams": 60,
    "GET /teams/{id}": 60,
    "GET /accounts/{id}": 60,
    "POST /accounts/search": 20,
    "GET /contacts/{id}": 60,
    "POST /contacts/search": 20,
    "GET /issue-statuses": 10,
    "GET /tags": 60,
    "GET /custom-fields": 60,
    "GET /knowledge-bases": 60,
    "GET /knowledge-bases/{id}/collections": 20,
    "GET /knowledge-bases/{id}/articles": 20,
    "GET /knowledge-bases/{id}/articles/{article_id}": 60,
    "GET /macros": 60,
    "GET /macros/{id}": 60,
    "GET /macro-groups": 60,
    "POST /feature-requests/search": 20,
    "GET /feature-requests/{id}": 60,
}


def budget_limits(fraction: float) -> dict[str, int]:
    """Per-endpoint budgets: `fraction` of the published limits (0 means no budget)."""
    if fraction <= 0:
        return {}
    return {route: max(1, int(limit * fraction)) for route, limit in PUBLISHED_LIMITS.items()}


class RateGate(Protocol):
    """Shared per-endpoint send permission."""

    async def reserve(self, route: str, max_wait: float) -> tuple[bool, float]:
        """Book the earliest send slot for `route`: (True, seconds to wait first) when that is at most
        `max_wait`; otherwise (False, seconds until a slot) and nothing is booked."""
        ...

    async def cool_down(self, route: str, seconds: float) -> None:
        """Pylon answered 429 with Retry-After `seconds`: hold every caller of `route` back that long."""
        ...


class LocalRateGate:
    """In-process gate: a cooldown per endpoint and a sliding-window budget, like Pylon's own limiter."""

    def __init__(
        self,
        limits: Mapping[str, int] | None = None,
        window: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limits = dict(limits or {})
        self.window = window
        self._clock = clock
        self._cooldown: dict[str, float] = {}  # route -> clock time until which Pylon said wait
        self._booked: dict[str, deque[float]] = {}  # route -> send times, ascending (some in the future)

    async def reserve(self, route: str, max_wait: float) -> tuple[bool, float]:
        now = self._clock()
        at = max(now, self._cooldown.get(route, 0.0))
        limit = self.limits.get(route)
        booked = self._booked.setdefault(route, deque()) if limit else None
        if limit and booked is not None:
            while booked and booked[0] <= now - self.window:
                booked.popleft()
            if booked:
                at = max(at, booked[-1])  # slots are handed out in order
            if len(booked) >= limit:
                at = max(at, booked[-limit] + self.window)
        if at - now > max_wait:
            return False, at - now
        if booked is not None:
            booked.append(at)
        return True, at - now

    async def cool_down(self, route: str, seconds: float) -> None:
        until = self._clock() + seconds
        self._cooldown[route] = max(self._cooldown.get(route, 0.0), until)
