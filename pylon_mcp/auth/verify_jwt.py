"""Access tokens as signed JWTs (RFC 9068 style): signature by the issuer's key, `iss`, `aud`, `exp`.

Only asymmetric algorithms are accepted, never `none` or a shared-secret HMAC, and the
algorithm must fit the key the `kid` points to, so a token can't choose how it is checked.
"""

from __future__ import annotations

import logging
from typing import Any

import httpx2
import jwt
from mcp.server.auth.provider import AccessToken

from pylon_mcp.auth.discovery import issuer_metadata
from pylon_mcp.auth.jwks import KeySet
from pylon_mcp.auth.token_fields import access_token

log = logging.getLogger("pylon_mcp.auth")

ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA")
LEEWAY = 30  # seconds of clock skew tolerated on exp/nbf/iat


class JwtVerifier:
    """The SDK's `TokenVerifier`: a verified `AccessToken`, or None (the caller gets a 401)."""

    def __init__(self, *, issuer: str, audience: str, jwks_url: str | None, timeout: float = 10.0) -> None:
        self.issuer = issuer
        self.audience = audience
        self._jwks_url = jwks_url
        self._timeout = timeout
        self._client: httpx2.AsyncClient | None = None
        self.keys = KeySet(self._resolve_jwks_url, self._http)

    def _http(self) -> httpx2.AsyncClient:
        if self._client is None:
            self._client = httpx2.AsyncClient(timeout=self._timeout, follow_redirects=False)
        return self._client

    async def _resolve_jwks_url(self) -> str:
        if self._jwks_url is None:
            document = await issuer_metadata(self._http(), self.issuer)
            self._jwks_url = str(document["jwks_uri"])
        return self._jwks_url

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def verify_token(self, token: str) -> AccessToken | None:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.InvalidTokenError:
            return None  # not a JWT at all (an opaque token needs introspection)
        algorithm = header.get("alg")
        if algorithm not in ALGORITHMS:
            log.info("token refused: algorithm %r is not accepted", algorithm)
            return None
        kid = header.get("kid")
        key = await self.keys.key_for(kid if isinstance(kid, str) else None)
        if key is None:
            log.info("token refused: no signing key %r at the issuer", kid)
            return None
        if key.algorithm is not None and key.algorithm != algorithm:
            log.info("token refused: algorithm %s does not fit key %r", algorithm, kid)
            return None
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key=key.jwk.key,
                algorithms=[algorithm],
                audience=self.audience,
                issuer=self.issuer,
                leeway=LEEWAY,
                options={"require": ["exp", "iss", "aud"]},
            )
        except jwt.PyJWTError as exc:  # InvalidTokenError, and InvalidKeyError for a key of the wrong kind
            log.info("token refused: %s", exc)  # PyJWT's messages name the claim, never the token
            return None
        return access_token(token, claims, self.audience)
