"""Two HTTP replicas, one real redis-server: the knowledge index is synced from Pylon once, not once per replica.

Counts what reached the sandbox (its request log). Replicas run in their own threads, so the
test polls their answers (a few times a second) instead of reaching into their event loops.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import ExitStack
from typing import Any

import anyio
import pytest
from mcp import Client

from pylon_mcp.hosting.http import build_http_app
from pylon_mcp.pylon.auth import Secret
from pylon_mcp.sandbox import Sandbox
from pylon_mcp.sandbox.server import BackgroundServer
from pylon_mcp.server import build_server
from tests.mcp_helpers import settings_for
from tests.redis_server import RedisServer, start_redis
from tests.test_replicas import mcp

pytestmark = pytest.mark.anyio

BUILD_ENDPOINTS = ("GET /knowledge-bases", "GET /knowledge-bases/{id}/collections",
                   "GET /knowledge-bases/{id}/articles", "GET /macro-groups", "GET /macros")  # fmt: skip


@pytest.fixture(scope="module")
def redis_server() -> Iterator[RedisServer]:
    server = start_redis()
    yield server
    server.kill()


def replicas(sandbox_url: str, redis: RedisServer, **changes: Any) -> Iterator[list[BackgroundServer]]:
    redis.command("FLUSHALL")
    settings = settings_for(sandbox_url, transport="http", redis_url=Secret(redis.url), knowledge_index="memory",
                            **changes)  # fmt: skip
    with ExitStack() as stack:
        yield [
            stack.enter_context(
                BackgroundServer(build_http_app(build_server(settings), settings), lifespan="on")
            )
            for _ in range(2)
        ]


async def until(check: Any, seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while not await check():
        assert time.monotonic() < deadline, "timed out"
        await anyio.sleep(0.1)


async def hits(client: Client, query: str) -> tuple[list[str], dict[str, Any]]:
    result = await client.call_tool("search_knowledge", {"query": query, "kinds": ["article"], "limit": 3})
    assert not result.is_error
    content = result.structured_content or {}
    return [hit["title"] for hit in content["hits"]], content["index"]


def requests(sandbox: Sandbox, endpoint: str) -> int:
    return len(sandbox.requests(endpoint))


async def test_two_replicas_build_the_index_with_one_replicas_requests(
    sandbox_url: str, sandbox: Sandbox, redis_server: RedisServer
) -> None:
    expected = "Why your invoice shows more seats than you have"
    for servers in replicas(sandbox_url, redis_server):
        async with mcp(servers[0]) as a, mcp(servers[1]) as b:
            async with anyio.create_task_group() as tg:  # both start syncing at once
                tg.start_soon(hits, a, "invoice seats")
                tg.start_soon(hits, b, "invoice seats")

            async def both_ready() -> bool:
                found = [await hits(client, "invoice shows more seats") for client in (a, b)]
                return all(titles[:1] == [expected] and index["state"] == "ready" for titles, index in found)

            await until(both_ready)
            _, index_a = await hits(a, "x")
            _, index_b = await hits(b, "x")
            assert index_a["documents"] == index_b["documents"] and index_a["documents"]["issue"] > 0
    # One build's worth of requests, not two: one knowledge-base listing, one page per knowledge base,
    # one macro listing, one resolved-issue search.
    assert requests(sandbox, "GET /knowledge-bases") == 1
    assert requests(sandbox, "GET /knowledge-bases/{id}/articles") == 2
    assert requests(sandbox, "GET /macros") == requests(sandbox, "GET /macro-groups") == 1
    assert requests(sandbox, "POST /issues/search") == 1


async def test_a_refresh_reaches_both_replicas_from_one_sync_per_interval(
    sandbox_url: str, sandbox: Sandbox, redis_server: RedisServer
) -> None:
    refresh = 1.0
    for servers in replicas(sandbox_url, redis_server, knowledge_refresh=refresh):
        async with mcp(servers[0]) as a, mcp(servers[1]) as b:
            await hits(a, "start")
            await hits(b, "start")
            await until(lambda: _ready(a))
            sandbox.store.knowledge.publish(
                "help", "Carbon offset certificates", "<p>Find them under Billing.</p>"
            )
            started = time.monotonic()

            async def both_see_it() -> bool:
                found = [(await hits(client, "carbon offset"))[0][:1] for client in (a, b)]
                return found == [["Carbon offset certificates"]] * 2

            await until(both_see_it)
            elapsed = time.monotonic() - started
    syncs = requests(sandbox, "GET /knowledge-bases")
    # Each sync reads each list once, and syncs never overlap: at most one per refresh interval in all.
    assert requests(sandbox, "GET /macros") == syncs
    assert syncs <= 1 + int(elapsed / refresh) + 2, (syncs, elapsed)
    assert requests(sandbox, "POST /issues/search") == syncs


async def _ready(client: Client) -> bool:
    _, index = await hits(client, "x")
    return bool(index["state"] == "ready")
