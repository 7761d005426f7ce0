"""Fault injection and per-endpoint rate limits for the sandbox.

A `Fault` matches an endpoint key such as `"POST /issues"` (or `"*"`) and fires a
set number of times. `after_commit=True` lets the handler do its work first and
then fails the response: the case where a naive retry duplicates a write. The
`late_commit` kind is Pylon applying a write late: the handler runs `latency` seconds
after the request arrived, whether or not the client is still waiting (one with a
shorter timeout has given up by then), and the answer comes after that.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from pylon_mcp.sandbox.directory_handlers import RATE_LIMITS as DIRECTORY_RATE_LIMITS
from pylon_mcp.sandbox.knowledge_handlers import RATE_LIMITS as KNOWLEDGE_RATE_LIMITS

FaultKind = Literal["status", "latency", "non_json", "truncated", "reset", "timeout", "late_commit"]
FAULT_KINDS: tuple[str, ...] = (
    "status",
    "latency",
    "non_json",
    "truncated",
    "reset",
    "timeout",
    "late_commit",
)

# Pylon's per-endpoint limits from the spec snapshot (requests per minute).
SPEC_RATE_LIMITS: dict[str, int] = {
    "GET /issues": 10,
    "POST /issues": 10,
    "POST /issues/search": 20,
    "GET /issues/{id}": 60,
    "PATCH /issues/{id}": 20,
    "DELETE /issues/{id}": 20,
    "POST /issues/{id}/snooze": 20,
    "GET /issues/{id}/followers": 60,
    "POST /issues/{id}/followers": 20,
    "GET /me": 60,
    **DIRECTORY_RATE_LIMITS,
    "GET /issues/{id}/messages": 20,
    "GET /issues/{id}/threads": 20,
    "POST /issues/{id}/note": 10,
    "POST /issues/{id}/reply": 10,
    "POST /issues/{id}/external-issues": 20,
    **KNOWLEDGE_RATE_LIMITS,
}


@dataclass
class Fault:
    endpoint: str = "*"
    kind: FaultKind = "status"
    status: int = 500
    times: int | None = 1  # None: every matching request until cleared
    after_commit: bool = False
    latency: float = 0.0  # seconds, for "latency", "timeout" and "late_commit"
    retry_after: str | None = None
    retry_after_header: str = "Retry-After"
    errors: list[str] = field(default_factory=list)
    # A careless proxy: echo the request's Authorization header as request_id and X-Request-Id.
    echo_authorization: bool = False

    def __post_init__(self) -> None:
        if self.kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; use one of {FAULT_KINDS}")

    def matches(self, endpoint: str) -> bool:
        return self.endpoint in ("*", endpoint)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


class FaultPlan:
    """The active faults. Thread-safe: tests add faults while the server thread serves."""

    def __init__(self) -> None:
        self._faults: list[Fault] = []
        self._lock = threading.Lock()
        self.latency = 0.0  # added to every request, for benchmarks

    def add(self, fault: Fault) -> Fault:
        with self._lock:
            self._faults.append(fault)
        return fault

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()
            self.latency = 0.0

    def take(self, endpoint: str, *, after_commit: bool) -> Fault | None:
        """The first matching fault for this phase, consuming one of its `times`."""
        with self._lock:
            for fault in self._faults:
                if fault.after_commit != after_commit or not fault.matches(endpoint):
                    continue
                if fault.times is not None:
                    fault.times -= 1
                    if fault.times <= 0:
                        self._faults.remove(fault)
                return fault
        return None

    def snapshot(self) -> list[dict[str, Any]]:
        with self._lock:
            return [fault.to_json() for fault in self._faults]


class RateLimiter:
    """Sliding-window limits per (organisation, endpoint), like Pylon's per-minute limits."""

    def __init__(self, limits: dict[str, int] | None = None, window: float = 60.0) -> None:
        self.limits = dict(limits or {})
        self.window = window
        self._hits: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def configure(self, limits: dict[str, int] | None, window: float | None = None) -> None:
        with self._lock:
            self.limits = dict(limits or {})
            if window is not None:
                self.window = window
            self._hits.clear()

    def check(self, endpoint: str) -> float | None:
        """Record a hit; return seconds to wait if the endpoint is over its limit."""
        limit = self.limits.get(endpoint)
        if not limit:
            return None
        now = time.monotonic()
        with self._lock:
            hits = self._hits.setdefault(endpoint, deque())
            while hits and hits[0] <= now - self.window:
                hits.popleft()
            if len(hits) >= limit:
                return max(0.0, hits[0] + self.window - now)
            hits.append(now)
            return None


def retry_after_header(seconds: float) -> str:
    """Whole seconds, rounded up, as Retry-After is defined."""
    return str(max(1, math.ceil(seconds)))
