"""Confirmation tokens for the two-step customer reply: short-lived, single-use, bound to exact content
and to the person who previewed it.

The first call to send_customer_reply returns a preview and a token; only a second
call carrying that token, for the same issue and the same exact text, by the same
signed-in person (OAuth subject; everyone is one caller without OAuth), sends. A
token is the digest's key, not the digest itself, so it proves nothing on its own:
the server keeps what it was issued for.

`ConfirmationStore` is the interface, kept in the shared state so a token works on
any replica and once across all of them: `InMemoryConfirmations` (one process, the
default) here, `RedisConfirmations` (pylon_mcp/shared/redis_confirmations.py) with
PYLON_MCP_REDIS_URL.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import Any, Protocol

TOKEN_TTL = 300.0  # seconds: long enough to read a preview, short enough to stay about this text


class Redeem(Enum):
    OK = "ok"
    UNKNOWN = "unknown"  # never issued here, or expired and forgotten
    EXPIRED = "expired"
    USED = "used"
    OTHER_CALLER = "other_caller"  # previewed by another signed-in person
    MISMATCH = "mismatch"  # issued for other text, another issue or other recipients


def content_digest(content: dict[str, Any]) -> str:
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def new_token() -> str:
    return "confirm_" + secrets.token_urlsafe(12)


class ConfirmationStore(Protocol):
    async def issue(self, digest: str, owner: str) -> str:
        """A new token for this content digest, usable only by `owner` (the caller's OAuth subject, or "")."""
        ...

    async def redeem(self, token: str, digest: str, owner: str) -> Redeem:
        """Use the token for this digest. OK at most once per token, whichever replica is asked."""
        ...

    async def release(self, token: str) -> None:
        """Make a redeemed token usable again: the send failed before Pylon could have seen it."""
        ...


@dataclass
class _Entry:
    digest: str
    owner: str
    expires: float
    used: bool = False


class InMemoryConfirmations:
    def __init__(self, ttl: float = TOKEN_TTL, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl = ttl
        self._clock = clock
        self._entries: dict[str, _Entry] = {}

    async def issue(self, digest: str, owner: str) -> str:
        self._expire()
        token = new_token()
        self._entries[token] = _Entry(digest, owner, self._clock() + self.ttl)
        return token

    async def redeem(self, token: str, digest: str, owner: str) -> Redeem:
        # One event loop, no await: checked and marked used atomically.
        entry = self._entries.get(token)
        if entry is None:
            return Redeem.UNKNOWN
        if entry.owner != owner:
            return Redeem.OTHER_CALLER
        if entry.expires <= self._clock():
            return Redeem.EXPIRED
        if entry.used:
            return Redeem.USED
        if entry.digest != digest:
            return Redeem.MISMATCH
        entry.used = True
        return Redeem.OK

    async def release(self, token: str) -> None:
        entry = self._entries.get(token)
        if entry is not None:
            entry.used = False

    def _expire(self) -> None:
        # Used and expired tokens are kept one extra TTL so a late repeat is told "used"/"expired".
        cutoff = self._clock() - self.ttl
        for token in [t for t, e in self._entries.items() if e.expires <= cutoff]:
            del self._entries[token]
