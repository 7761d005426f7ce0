"""Change notifications over stdio, both protocol eras, counted (docs/tools.md's table claims both)."""

from __future__ import annotations

import os
import sys
from typing import Any

import anyio
import pytest
from mcp import Client, StdioServerParameters

from pylon_mcp.changes import RECENT_URI
from pylon_mcp.sandbox import Sandbox
from tests.conftest import TOKEN
from tests.mcp_helpers import text

pytestmark = [pytest.mark.anyio, pytest.mark.slow]  # a server subprocess per test


def params(sandbox_url: str) -> StdioServerParameters:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYLON_")}
    env.update(PYLON_API_TOKEN=TOKEN, PYLON_API_URL=sandbox_url)
    return StdioServerParameters(command=sys.executable, args=["-m", "pylon_mcp"], env=env)


async def test_listen_over_stdio_hears_each_change_once(sandbox_url: str, sandbox: Sandbox) -> None:
    events: list[str] = []
    async with Client(params(sandbox_url), cache=None) as client:
        assert client.protocol_version == "2026-07-28"
        async with client.listen(
            resource_subscriptions=["pylon://issues/7", RECENT_URI, "pylon://issues/8"]
        ) as sub:

            async def collect() -> None:
                async for event in sub:
                    events.append(event.uri)  # type: ignore[union-attr]

            async with anyio.create_task_group() as tg:
                tg.start_soon(collect)
                result = await client.call_tool("update_issue", {"issue_id": "7", "state": "closed"})
                assert not result.is_error, text(result)
                with anyio.fail_after(10):
                    while len(events) < 2:  # noqa: ASYNC110 - the collector fills `events`
                        await anyio.sleep(0.01)
                await anyio.sleep(0.5)  # room for a duplicate
                tg.cancel_scope.cancel()
    assert sorted(events) == sorted(["pylon://issues/7", RECENT_URI])


async def test_resources_subscribe_over_stdio_hears_each_change_once(sandbox_url: str) -> None:
    seen: list[str] = []

    async def handler(message: Any) -> None:
        uri = getattr(getattr(message, "params", None), "uri", None)
        if uri is not None:
            seen.append(str(uri))

    async with Client(params(sandbox_url), mode="legacy", cache=None, message_handler=handler) as client:
        assert client.server_capabilities.resources and client.server_capabilities.resources.subscribe
        await client.session.subscribe_resource("pylon://issues/7")  # the handshake-era API, on purpose
        result = await client.call_tool(
            "snooze_issue", {"issue_id": "7", "snooze_until": "2099-01-01T00:00:00Z"}
        )
        assert not result.is_error, text(result)
        with anyio.fail_after(10):
            while not seen:  # noqa: ASYNC110 - the handler fills `seen`
                await anyio.sleep(0.01)
        await anyio.sleep(0.5)
    assert seen == ["pylon://issues/7"]
