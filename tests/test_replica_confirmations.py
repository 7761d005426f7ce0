"""A customer-reply preview from one replica is confirmed on another, once (issue 19, item 10).

Two HTTP replicas sharing one real redis-server, as in tests/test_replicas.py, counted at the sandbox.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from pylon_mcp.sandbox import Sandbox
from pylon_mcp.sandbox.server import BackgroundServer
from tests.mcp_helpers import text
from tests.redis_server import RedisServer
from tests.test_replicas import _replicas, mcp, redis_server, redis_url  # noqa: F401 - fixtures

pytestmark = pytest.mark.anyio


@pytest.fixture
def replying_replicas(sandbox_url: str, redis_url: str) -> Iterator[list[BackgroundServer]]:  # noqa: F811
    yield from _replicas(sandbox_url, redis_url, allow_customer_replies=True)


async def test_a_preview_on_one_replica_is_confirmed_on_the_other_once(
    replying_replicas: list[BackgroundServer], sandbox: Sandbox
) -> None:
    arguments: dict[str, Any] = {"issue_id": "12", "body_markdown": "Fixed on our side."}
    async with mcp(replying_replicas[0]) as a, mcp(replying_replicas[1]) as b:
        preview = await a.call_tool("send_customer_reply", arguments)
        assert not preview.is_error, text(preview)
        confirm = {
            **arguments,
            "confirmation_token": (preview.structured_content or {})["confirmation_token"],
        }
        sent = await b.call_tool("send_customer_reply", confirm)
        assert not sent.is_error, text(sent)
        again = await a.call_tool("send_customer_reply", confirm)
        assert again.is_error and "already used" in text(again), text(again)
    assert len(sandbox.requests("POST /issues/{id}/reply")) == 1


async def test_without_redis_a_reply_is_neither_previewed_nor_confirmed(
    replying_replicas: list[BackgroundServer],
    redis_server: RedisServer,  # noqa: F811
    sandbox: Sandbox,
) -> None:
    arguments: dict[str, Any] = {"issue_id": "12", "body_markdown": "Fixed on our side."}
    async with mcp(replying_replicas[0]) as a:
        preview = await a.call_tool("send_customer_reply", arguments)
        assert not preview.is_error, text(preview)
        confirm = {
            **arguments,
            "confirmation_token": (preview.structured_content or {})["confirmation_token"],
        }
        redis_server.kill()
        try:
            for call in (arguments, confirm):  # a token this replica cannot mark used is not used
                refused = await a.call_tool("send_customer_reply", call)
                assert refused.is_error and "Nothing was sent" in text(refused), text(refused)
                assert "cannot be reached" in text(refused), text(refused)
        finally:
            redis_server.start()
    assert sandbox.requests("POST /issues/{id}/reply") == []
