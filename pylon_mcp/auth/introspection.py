"""Opaque access tokens, checked by asking the issuer (RFC 7662 token introspection).

An active answer is trusted until the token's `exp`, at most a minute, so a team's burst of
calls costs the identity provider one request per token per minute rather than one per call.
The cache is keyed by a hash of the token, never the token itself.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections import OrderedDict
from typing import Any

import httpx2
from mcp.server.auth.provider import AccessToken

from pylon_mcp.auth.token_fields import access_token
from pylon_mcp.pylon.auth import Secret

log = logging.getLogger("pylon_mcp.auth")

CACHE_SECONDS = 60.0
CACHE_SIZE = 2000


class IntrospectionVerifier:
    """The SDK's `TokenVerifier` over an RFC 7662 endpoint."""

    def __init__(
        self,
        *,
        url: str,
        client_id: str,
        client_secret: Secret,
        issuer: str,
        audience: str,
        timeout: float = 10.0,
    ) -> None:
        self.url = url
        self.issuer = issuer
        self.audience = audience
        self._client_id = client_id
        self._client_secret = client_secret
        self._timeout = timeout
        self._client: httpx2.AsyncClient | None = None
        self._cache: OrderedDict[str, tuple[float, AccessToken]] = OrderedDict()

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def verify_token(self, token: str) -> AccessToken | None:
        key = hashlib.sha256(token.encode()).hexdigest()
        cached = self._cache.get(key)
        now = time.time()
        if cached is not None and cached[0] > now:
            self._cache.move_to_end(key)
            return cached[1]
        self._cache.pop(key, None)
        claims = await self._introspect(token)
        if claims is None or not self._valid(claims, now):
            return None
        verified = access_token(token, claims, self.audience)
        until = min(now + CACHE_SECONDS, float(verified.expires_at or now + CACHE_SECONDS))
        self._cache[key] = (until, verified)
        while len(self._cache) > CACHE_SIZE:
            self._cache.popitem(last=False)
        return verified

    async def _introspect(self, token: str) -> dict[str, Any] | None:
        if self._client is None:
            self._client = httpx2.AsyncClient(timeout=self._timeout, follow_redirects=False)
        try:
            response = await self._client.post(
                self.url,
                data={"token": token, "token_type_hint": "access_token"},
                auth=(self._client_id, self._client_secret.reveal()),
                headers={"accept": "application/json"},
            )
        except httpx2.HTTPError as exc:
            log.warning("token introspection failed: %s", type(exc).__name__)
            return None
        if response.status_code != 200:
            log.warning("token introspection answered HTTP %d", response.status_code)
            return None
        try:
            claims = response.json()
        except ValueError:
            log.warning("token introspection answered something other than JSON")
            return None
        return claims if isinstance(claims, dict) else None

    def _valid(self, claims: dict[str, Any], now: float) -> bool:
        if claims.get("active") is not True:
            log.info("token refused: introspection says it is not active")
            return False
        issuer = claims.get("iss")
        if issuer is not None and issuer != self.issuer:
            log.info("token refused: issuer %r is not %r", issuer, self.issuer)
            return False
        audience = claims.get("aud")
        audiences = audience if isinstance(audience, list) else [audience]
        # RFC 8707: the token must be meant for this server; an answer that doesn't say is not enough.
        if self.audience not in audiences:
            log.info("token refused: audience %r is not %r", audience, self.audience)
            return False
        expires = claims.get("exp")
        if isinstance(expires, int | float) and expires < now:
            log.info("token refused: expired")
            return False
        return True
