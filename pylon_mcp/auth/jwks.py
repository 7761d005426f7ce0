"""The issuer's signing keys (JWKS), cached, and refreshed when a token names a key we don't know.

Refreshing on an unknown `kid` is how key rotation reaches us without a restart. It is also
something a caller can trigger at will by inventing `kid`s, so refreshes are bounded: a `kid`
that was just looked for and not found is not looked for again for a while, and there are at
most a few fetches per minute in all. Keys are also refetched once they are an hour old, so a
key the issuer dropped stops working even if no new `kid` ever shows up.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import anyio
import httpx2
import jwt

log = logging.getLogger("pylon_mcp.auth")

MAX_AGE = 3600.0  # refetch keys this old on next use
MISS_QUIET = 60.0  # don't look for the same unknown kid again within this
FETCH_BUDGET = (10, 60.0)  # at most 10 fetches per 60 s


@dataclass(frozen=True)
class SigningKey:
    jwk: jwt.PyJWK
    algorithm: str | None  # the JWK's own `alg`, if it declares one (RFC 7517 §4.4)


class KeySet:
    def __init__(
        self,
        jwks_url: Callable[[], Awaitable[str]],
        http: Callable[[], httpx2.AsyncClient],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._jwks_url = jwks_url  # async () -> str: configured, or from the issuer's discovery document
        self._http = http
        self._clock = clock
        self._keys: dict[str | None, SigningKey] = {}
        self._fetched_at: float | None = None
        self._misses: dict[str, float] = {}
        self._fetches: deque[float] = deque()
        self._lock = anyio.Lock()
        self.fetch_count = 0

    async def key_for(self, kid: str | None) -> SigningKey | None:
        stale = self._fetched_at is None or self._clock() - self._fetched_at > MAX_AGE
        if stale or (kid not in self._keys and self._may_look_for(kid)):
            await self._refresh(kid)
        if kid is None and len(self._keys) == 1:
            return next(iter(self._keys.values()))  # a key set of one needs no kid
        return self._keys.get(kid)

    def _may_look_for(self, kid: str | None) -> bool:
        if kid is None:
            return False
        missed = self._misses.get(kid)
        return missed is None or self._clock() - missed > MISS_QUIET

    async def _refresh(self, kid: str | None) -> None:
        fetched_before = self._fetched_at
        async with self._lock:
            if self._fetched_at != fetched_before:
                return  # another request refreshed while we waited
            now = self._clock()
            while self._fetches and now - self._fetches[0] > FETCH_BUDGET[1]:
                self._fetches.popleft()
            if len(self._fetches) >= FETCH_BUDGET[0]:
                log.warning("JWKS refresh skipped: %d fetches in the last minute", len(self._fetches))
                return
            self._fetches.append(now)
            self.fetch_count += 1
            try:
                url = await self._jwks_url()
                response = await self._http().get(url, headers={"accept": "application/json"})
                response.raise_for_status()
                keys = _parse(response.json())
            except (httpx2.HTTPError, ValueError, TypeError, KeyError) as exc:
                # Keep the keys we have: an identity provider hiccup must not lock everyone out.
                log.warning("could not refresh the issuer's signing keys (JWKS): %s", exc)
                return
            self._keys = keys
            self._fetched_at = now
            if kid is not None and kid not in keys:
                self._misses[kid] = now
            if len(self._misses) > 1000:
                self._misses.clear()
            log.info("JWKS refreshed: %d signing key(s)", len(keys))


def _parse(document: Any) -> dict[str | None, SigningKey]:
    keys: dict[str | None, SigningKey] = {}
    for entry in document["keys"]:
        if not isinstance(entry, dict) or entry.get("use", "sig") != "sig":
            continue
        try:
            key = jwt.PyJWK(entry)
        except (jwt.PyJWKError, jwt.InvalidKeyError, ValueError):
            continue  # a key type or algorithm we can't use; others may still be fine
        algorithm = entry.get("alg")
        keys[entry.get("kid")] = SigningKey(key, algorithm if isinstance(algorithm, str) else None)
    return keys
