"""Claims (from a JWT or an introspection response) → the SDK's AccessToken."""

from __future__ import annotations

from typing import Any

from mcp.server.auth.provider import AccessToken


def scopes_of(claims: dict[str, Any]) -> list[str]:
    """`scope` is a space-separated string (RFC 8693/9068); some providers send `scp` as a list."""
    for name in ("scope", "scp"):
        value = claims.get(name)
        if isinstance(value, str):
            return value.split()
        if isinstance(value, list):
            return [item for item in value if isinstance(item, str)]
    return []


def access_token(token: str, claims: dict[str, Any], audience: str) -> AccessToken:
    subject = claims.get("sub")
    client_id = claims.get("client_id") or claims.get("azp") or subject or "unknown"
    expires = claims.get("exp")
    return AccessToken(
        token=token,
        client_id=str(client_id),
        scopes=scopes_of(claims),
        expires_at=int(expires) if isinstance(expires, int | float) else None,
        resource=audience,
        subject=str(subject) if subject is not None else None,
        claims=claims,
    )
