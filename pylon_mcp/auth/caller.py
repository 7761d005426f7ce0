"""Who is calling, from the token the bearer middleware verified, and the Pylon user acting for them."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from dataclasses import dataclass

from mcp.server.auth.middleware.auth_context import get_access_token

# email → Pylon user ID, or None when no Pylon user has that email (the directory answers this).
UserLookup = Callable[[str], Awaitable[str | None]]


@dataclass(frozen=True)
class Caller:
    subject: str
    client_id: str
    scopes: frozenset[str]
    email: str | None

    @property
    def name(self) -> str:
        """How logs and messages name the caller (never the token)."""
        return self.email or f"subject {self.subject}"


def current_caller(email_claim: str = "email") -> Caller | None:
    """The signed-in caller of this request; None without OAuth (stdio, static bearer, in-memory)."""
    token = get_access_token()
    if token is None:
        return None
    claims = token.claims or {}
    email = claims.get(email_claim)
    return Caller(
        subject=token.subject or token.client_id,
        client_id=token.client_id,
        scopes=frozenset(token.scopes),
        email=email.strip().lower() if isinstance(email, str) and "@" in email else None,
    )


# The Pylon user a write is attributed to (notes, replies, a new issue's first message), set by
# the call-time policy for the length of one tool call. None: Pylon uses the API token's user.
_acting_user: ContextVar[str | None] = ContextVar("pylon_acting_user", default=None)


def acting_user_id() -> str | None:
    """For write tools: pass this as Pylon's `user_id` so the write shows who made it."""
    return _acting_user.get()
