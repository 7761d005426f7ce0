"""The scope policy on its own, for tool kinds this branch doesn't ship yet (customer replies).

Over HTTP, tests/test_oauth.py drives the same policy through the real server; here the caller's
verified token is put where the SDK's bearer middleware puts it (its auth context variable).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from mcp.server.auth.middleware.auth_context import auth_context_var
from mcp.server.auth.middleware.bearer_auth import AuthenticatedUser
from mcp.server.auth.provider import AccessToken
from mcp.server.mcpserver.exceptions import ToolError

from pylon_mcp.auth.caller import acting_user_id
from pylon_mcp.auth.policy import AccessPolicy
from pylon_mcp.config import Settings

pytestmark = pytest.mark.anyio

KINDS = {"get_issue": "read", "add_note": "write", "reply_to_customer": "reply"}
SETTINGS = Settings(
    transport="http", oauth_issuer="https://sso.example.com", resource_url="https://mcp.example.com/mcp"
)


@contextmanager
def signed_in(scopes: str, email: str | None = "ana@example.com") -> Iterator[None]:
    claims = {"iss": "https://sso.example.com", **({"email": email} if email else {})}
    token = AccessToken(token="t", client_id="c", scopes=scopes.split(), subject="s", claims=claims)
    reset = auth_context_var.set(AuthenticatedUser(token))
    try:
        yield
    finally:
        auth_context_var.reset(reset)


async def lookup(email: str) -> str | None:
    return {"ana@example.com": "usr_ana"}.get(email)


def visible(policy: AccessPolicy) -> list[str]:
    return policy.visible(KINDS, lambda name: name)


async def test_reply_tools_need_the_reply_scope_and_run_as_the_person() -> None:
    policy = AccessPolicy(SETTINGS, KINDS)  # type: ignore[arg-type]
    assert policy.scopes_in_use() == ["pylon:read", "pylon:write", "pylon:reply"]
    with signed_in("pylon:read pylon:write"):
        assert visible(policy) == ["get_issue", "add_note"]
        with pytest.raises(ToolError, match="needs the OAuth scope 'pylon:reply'"):
            async with policy.call("reply_to_customer", lookup):
                pass
    with signed_in("pylon:reply"):
        assert visible(policy) == ["reply_to_customer"]
        async with policy.call("reply_to_customer", lookup):
            assert acting_user_id() == "usr_ana"  # what a reply tool passes as Pylon's user_id
        assert acting_user_id() is None  # only for the length of the call


async def test_reads_run_without_a_pylon_user_and_nothing_is_filtered_without_oauth() -> None:
    policy = AccessPolicy(SETTINGS, KINDS)  # type: ignore[arg-type]
    with signed_in("pylon:read", email=None):
        async with policy.call("get_issue", None):
            assert acting_user_id() is None
    plain = AccessPolicy(Settings(), KINDS)  # type: ignore[arg-type]
    assert visible(plain) == list(KINDS)
    async with plain.call("add_note", None):
        assert acting_user_id() is None


async def test_oauth_mode_without_a_caller_sees_nothing_and_is_refused() -> None:
    policy = AccessPolicy(SETTINGS, KINDS)  # type: ignore[arg-type]
    assert visible(policy) == []
    with pytest.raises(ToolError, match="needs a signed-in caller"):
        async with policy.call("get_issue", lookup):
            pass
