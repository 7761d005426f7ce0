"""`idempotency_key` for create_issue: one key, one issue, within a window, in this process.

Pylon's API has no idempotency keys, so the server keeps a small ledger:
- a repeat with the same key and the same arguments returns the first result;
- the same key with different arguments is refused;
- if the first attempt ended ambiguously (Pylon may have created the issue but
  the answer was lost), a repeat first looks for that issue (same title, created
  since the first attempt) and returns it if found, instead of creating another.
Limits: entries live WINDOW seconds, in memory, in one process. Replicas behind
a load balancer and restarts do not share the ledger.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import anyio

WINDOW = 600.0  # seconds


@dataclass
class Entry:
    fingerprint: str
    expires: float
    result: Any | None = None  # the first call's WriteResult once it succeeded
    unsure_since: str | None = None  # RFC3339 start of an attempt whose outcome is unknown


class CreateLedger:
    def __init__(self, window: float = WINDOW, clock: Callable[[], float] = time.monotonic) -> None:
        self.window = window
        self._clock = clock
        self._entries: dict[str, Entry] = {}
        self._locks: dict[str, anyio.Lock] = {}

    @staticmethod
    def fingerprint(arguments: dict[str, Any]) -> str:
        canonical = json.dumps(arguments, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        return hashlib.sha256(canonical.encode()).hexdigest()

    def lock(self, key: str) -> anyio.Lock:
        """Concurrent calls with one key run one at a time, so the second sees the first's outcome."""
        self._expire()
        return self._locks.setdefault(key, anyio.Lock())

    def get(self, key: str) -> Entry | None:
        self._expire()
        return self._entries.get(key)

    def succeeded(self, key: str, fingerprint: str, result: Any) -> None:
        self._entries[key] = Entry(fingerprint, self._clock() + self.window, result=result)

    def unsure(self, key: str, fingerprint: str, since: str) -> None:
        entry = self._entries.get(key)
        first = entry.unsure_since if entry and entry.unsure_since else since
        self._entries[key] = Entry(fingerprint, self._clock() + self.window, unsure_since=first)

    def forget(self, key: str) -> None:
        self._entries.pop(key, None)

    def _expire(self) -> None:
        now = self._clock()
        for key in [k for k, e in self._entries.items() if e.expires <= now]:
            del self._entries[key]
        # Single event loop: nothing runs between handing out a lock and acquiring it.
        for key in [k for k, lock in self._locks.items() if k not in self._entries and not lock.locked()]:
            del self._locks[key]
