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
    # False when the token says `email_verified: false`: anyone can type that address at some
    # identity providers, so it is never matched to a Pylon user. Absent counts as verified (many
    # providers put only verified emails in access tokens and leave the claim out).
    email_verified: bool = True

    @property
    def name(self) -> str:
        """How logs and messages name the caller (never the token)."""
        if self.email is None:
            return f"subject {self.subject}"
        return self.email if self.email_verified else f"{self.email} (unverified)"


def current_caller(email_claim: str = "email") -> Caller | None:
    """The signed-in caller of this request; None without OAuth (stdio, static bearer, in-memory)."""
    token = get_access_token()
    if token is None:
        return None
    claims = token.claims or {}
    email = claims.get(email_claim)
    verified = claims.get("email_verified")
    return Caller(
        subject=token.subject or token.client_id,
        client_id=token.client_id,
        scopes=frozenset(token.scopes),
        email=email.strip().lower() if isinstance(email, str) and "@" in email else None,
        email_verified=not (verified is False or (isinstance(verified, str) and verified.lower() == "false")),
    )


# The Pylon user a write is attributed to (notes, replies, a new issue's first message), set by
# the call-time policy for the length of one tool call. None: Pylon uses the API token's user.
_acting_user: ContextVar[str | None] = ContextVar("pylon_acting_user", default=None)


def acting_user_id() -> str | None:
    """For write tools: pass this as Pylon's `user_id` so the write shows who made it."""
    return _acting_user.get()
