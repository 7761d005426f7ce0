"""Who may act on what, per signed-in person (issue 19, item 10): a reply preview is confirmed only by
the person who saw it, and an unverified email is never matched to a Pylon user.

Against the real issuer in tests/oauth_issuer.py, over HTTP, as tests/test_oauth.py does.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from pylon_mcp.sandbox import Sandbox
from tests.mcp_helpers import text
from tests.oauth_issuer import Issuer
from tests.test_oauth import NEW_ISSUE, Hosted, get_token, session

pytestmark = pytest.mark.anyio


@pytest.fixture
def idp() -> Iterator[Issuer]:
    idp = Issuer().start()
    yield idp
    idp.stop()


def teammates(sandbox: Sandbox) -> list[tuple[str, str]]:
    """(email, Pylon user ID) of two people on the support team."""
    users = [user for user in sandbox.store.directory.users.values() if user.email][:2]
    return [(str(user.email), user.id) for user in users]


async def test_a_reply_previewed_by_one_person_cannot_be_confirmed_by_another(
    sandbox: Sandbox, sandbox_url: str, idp: Issuer
) -> None:
    (ana, ana_id), (bo, _) = teammates(sandbox)
    number = next(r.number for r in sandbox.store._order if r.source == "email")
    arguments: dict[str, Any] = {"issue_id": str(number), "body_markdown": "Hi, the fix is live."}
    hosted = Hosted(sandbox, sandbox_url, idp, allow_customer_replies=True)
    scope = "pylon:read pylon:reply"
    with hosted.background:
        async with session(hosted, get_token(idp, hosted.resource, scope, email=ana, sub="ana")) as c:
            preview = await c.call_tool("send_customer_reply", arguments)
            assert not preview.is_error, text(preview)
            confirm = {
                **arguments,
                "confirmation_token": (preview.structured_content or {})["confirmation_token"],
            }
        async with session(hosted, get_token(idp, hosted.resource, scope, email=bo, sub="bo")) as c:
            stolen = await c.call_tool("send_customer_reply", confirm)
            assert stolen.is_error and "another signed-in person" in text(stolen), text(stolen)
            assert "Nothing was sent" in text(stolen)
        assert sandbox.requests("POST /issues/{id}/reply") == []
        async with session(hosted, get_token(idp, hosted.resource, scope, email=ana, sub="ana")) as c:
            sent = await c.call_tool("send_customer_reply", confirm)  # the person who saw it still can
            assert not sent.is_error, text(sent)
    (reply,) = sandbox.requests("POST /issues/{id}/reply")
    assert reply.body["user_id"] == ana_id


async def test_an_unverified_email_is_not_matched_to_a_pylon_user(
    sandbox: Sandbox, sandbox_url: str, idp: Issuer
) -> None:
    (email, _), _ = teammates(sandbox)
    hosted = Hosted(sandbox, sandbox_url, idp)
    with hosted.background:
        await _unverified_then_verified(hosted, idp, sandbox, email)


async def _unverified_then_verified(hosted: Hosted, issuer: Issuer, sandbox: Sandbox, email: str) -> None:
    unverified = get_token(
        issuer, hosted.resource, "pylon:read pylon:write", email=email, email_verified="false"
    )
    async with session(hosted, unverified) as c:
        refused = await c.call_tool("create_issue", NEW_ISSUE)
        assert refused.is_error, text(refused)
        assert f"its email {email} is not verified (email_verified is false)" in text(refused), text(refused)
        assert "Nothing was sent to Pylon" in text(refused)
        assert not (await c.call_tool("get_issue", {"issue_id": "7"})).is_error  # reading is unaffected
    assert sandbox.requests("POST /issues") == []
    verified = get_token(
        issuer, hosted.resource, "pylon:read pylon:write", email=email, email_verified="true"
    )
    async with session(hosted, verified) as c:
        assert not (await c.call_tool("create_issue", NEW_ISSUE)).is_error
    assert len(sandbox.requests("POST /issues")) == 1
