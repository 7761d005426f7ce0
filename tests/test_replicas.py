"""Two HTTP replicas sharing one real redis-server, against the sandbox, driven by MCP clients over HTTP.

Each test counts what reached the sandbox (its request log and store), not what the
replicas say about themselves.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import ExitStack, asynccontextmanager
from typing import Any

import anyio
import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from pylon_mcp.hosting.http import build_http_app
from pylon_mcp.sandbox import Sandbox
from pylon_mcp.sandbox.server import BackgroundServer
from pylon_mcp.server import build_server
from tests.conftest import TOKEN
from tests.mcp_helpers import settings_for, text
from tests.redis_server import RedisServer, start_redis

pytestmark = pytest.mark.anyio

CREATE = {"title": "Replica race", "body_markdown": "Printer on fire.", "requester_email": "ops@example.com"}


@pytest.fixture(scope="module")
def redis_server() -> Iterator[RedisServer]:
    server = start_redis()
    yield server
    server.kill()


@pytest.fixture
def redis_url(redis_server: RedisServer) -> str:
    if redis_server.process is None:  # a test killed it and failed before bringing it back
        redis_server.start()
    redis_server.command("FLUSHALL")
    return redis_server.url


@pytest.fixture
def replicas(sandbox_url: str, redis_url: str) -> Iterator[list[BackgroundServer]]:
    yield from _replicas(sandbox_url, redis_url)


def _replicas(sandbox_url: str, redis_url: str, **changes: Any) -> Iterator[list[BackgroundServer]]:
    settings = settings_for(sandbox_url, transport="http", redis_url=_secret(redis_url), **changes)
    with ExitStack() as stack:
        yield [
            stack.enter_context(
                BackgroundServer(build_http_app(build_server(settings), settings), lifespan="on")
            )
            for _ in range(2)
        ]


def _secret(value: str) -> Any:
    from pylon_mcp.pylon.auth import Secret

    return Secret(value)


@asynccontextmanager
async def mcp(server: BackgroundServer) -> AsyncIterator[Client]:
    async with (
        httpx2.AsyncClient(timeout=30) as http,
        Client(streamable_http_client(f"{server.url}/mcp", http_client=http), cache=None) as client,
    ):
        yield client


def created(sandbox: Sandbox, title: str) -> int:
    return len(sandbox.store.search(lambda record: record.title == title, 999, None)[0])


async def test_fifty_concurrent_creates_with_one_key_across_two_replicas_make_one_issue(
    replicas: list[BackgroundServer], sandbox: Sandbox
) -> None:
    results: list[str] = []
    async with mcp(replicas[0]) as a, mcp(replicas[1]) as b:

        async def create(client: Client) -> None:
            result = await client.call_tool("create_issue", {**CREATE, "idempotency_key": "one-key"})
            assert not result.is_error, text(result)
            results.append(result.structured_content["issue"]["number"])  # type: ignore[index]

        async with anyio.create_task_group() as tg:
            for n in range(50):
                tg.start_soon(create, (a, b)[n % 2])
    assert len(results) == 50 and len(set(results)) == 1
    assert created(sandbox, CREATE["title"]) == 1
    assert len(sandbox.requests("POST /issues")) == 1


async def test_sixty_searches_over_two_replicas_stay_inside_a_twenty_a_minute_limit(
    sandbox_url: str, redis_url: str, sandbox: Sandbox
) -> None:
    sandbox.limiter.configure({"POST /issues/search": 20}, 60.0)
    outcomes: list[str] = []
    for replicas in _replicas(sandbox_url, redis_url, rate_budget=1.0):
        async with mcp(replicas[0]) as a, mcp(replicas[1]) as b:

            async def search(client: Client) -> None:
                result = await client.call_tool("search_issues", {"state": "new", "limit": 1})
                outcomes.append("error: " + text(result) if result.is_error else "ok")

            async with anyio.create_task_group() as tg:
                for n in range(60):
                    tg.start_soon(search, (a, b)[n % 2])
    sent = sandbox.requests("POST /issues/search")
    assert len(sent) == 20 and [r.status for r in sent] == [200] * 20  # 0 upstream 429s
    assert outcomes.count("ok") == 20
    refusals = [o for o in outcomes if o != "ok"]
    assert len(refusals) == 40
    assert all("was not sent; the next request to it goes out in" in o for o in refusals), refusals[0]


async def test_a_429_on_one_replica_holds_back_the_other(
    replicas: list[BackgroundServer], sandbox: Sandbox
) -> None:
    sandbox.limiter.configure({"POST /issues/search": 2}, 60.0)
    search = {"state": "new", "limit": 1}
    async with mcp(replicas[0]) as a, mcp(replicas[1]) as b:
        for _ in range(2):
            assert not (await a.call_tool("search_issues", search)).is_error
        limited = await a.call_tool("search_issues", search)  # Pylon's 429, Retry-After about 60 s
        assert limited.is_error and "HTTP 429" in text(limited)
        held = await b.call_tool("search_issues", search)
    assert held.is_error and "was not sent; the next request to it goes out in" in text(held), text(held)
    assert [r.status for r in sandbox.requests("POST /issues/search")] == [200, 200, 429]  # B sent nothing


async def test_a_listener_on_one_replica_hears_a_write_on_the_other_exactly_once(
    replicas: list[BackgroundServer], sandbox: Sandbox
) -> None:
    heard: dict[str, list[str]] = {"a": [], "b": []}
    async with (
        mcp(replicas[0]) as a,
        mcp(replicas[1]) as b,
        a.listen(resource_subscriptions=["pylon://issues/7"]) as on_a,
        b.listen(resource_subscriptions=["pylon://issues/7", "pylon://issues/8"]) as on_b,
    ):

        async def collect(name: str, stream: Any) -> None:
            async for event in stream:
                heard[name].append(event.uri)

        async with anyio.create_task_group() as tg:
            tg.start_soon(collect, "a", on_a)
            tg.start_soon(collect, "b", on_b)
            result = await a.call_tool("update_issue", {"issue_id": "7", "state": "closed"})
            assert not result.is_error, text(result)
            with anyio.fail_after(5):
                while not (heard["a"] and heard["b"]):  # noqa: ASYNC110 - the collectors fill it
                    await anyio.sleep(0.01)
            await anyio.sleep(0.5)  # a duplicate would arrive in this time
            tg.cancel_scope.cancel()
    assert heard == {"a": ["pylon://issues/7"], "b": ["pylon://issues/7"]}


def readyz(server: BackgroundServer) -> tuple[int, dict[str, str]]:
    response = httpx2.get(f"{server.url}/readyz", timeout=10)
    return response.status_code, json.loads(response.text)


async def test_redis_outage_serves_reads_refuses_keyed_creates_and_recovers(
    replicas: list[BackgroundServer], redis_server: RedisServer, sandbox: Sandbox
) -> None:
    a_server, b_server = replicas
    assert readyz(a_server)[0] == 200
    async with mcp(a_server) as a, mcp(b_server) as b:
        first = await a.call_tool("create_issue", {**CREATE, "idempotency_key": "before-outage"})
        assert not first.is_error, text(first)

        redis_server.kill()
        for client in (a, b):
            read = await client.call_tool("get_issue", {"issue_id": "7"})
            assert not read.is_error and text(read).startswith("Issue #7")
            found = await client.call_tool("search_issues", {"state": "new", "limit": 2})
            assert not found.is_error, text(found)
            listing = await client.read_resource("pylon://issues/recent")
            assert listing.contents
        for client in (a, b):
            refused = await client.call_tool("create_issue", {**CREATE, "idempotency_key": "before-outage"})
            assert refused.is_error
            message = text(refused)
            assert "cannot be reached" in message and "nothing was sent to Pylon" in message, message
        status, report = readyz(b_server)
        assert status == 503 and "cannot be reached" in report["shared_state"], report
        assert len(sandbox.requests("POST /issues")) == 1

        redis_server.start()  # same port; the ledger survived on disk (appendonly)
        with anyio.fail_after(10):
            while readyz(a_server)[0] != 200 or readyz(b_server)[0] != 200:  # noqa: ASYNC110 - polling another thread's server
                await anyio.sleep(0.1)
        async with b.listen(resource_subscriptions=["pylon://issues/7"]) as stream:  # notifications resume
            heard: list[str] = []

            async def collect() -> None:
                async for event in stream:
                    heard.append(event.uri)

            async with anyio.create_task_group() as tg:
                tg.start_soon(collect)
                assert not (await a.call_tool("update_issue", {"issue_id": "7", "state": "closed"})).is_error
                with anyio.fail_after(5):
                    while not heard:  # noqa: ASYNC110 - the collector fills it
                        await anyio.sleep(0.01)
                await anyio.sleep(0.3)
                tg.cancel_scope.cancel()
        assert heard == ["pylon://issues/7"]
        again = await b.call_tool("create_issue", {**CREATE, "idempotency_key": "before-outage"})
        assert not again.is_error and text(again).startswith("Already created"), text(again)
        fresh = await b.call_tool("create_issue", {**CREATE, "title": "After", "idempotency_key": "after"})
        assert not fresh.is_error, text(fresh)
    assert created(sandbox, CREATE["title"]) == 1 and created(sandbox, "After") == 1
    assert len(sandbox.requests("POST /issues")) == 2


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def check(**env: str) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("PYLON_")}
    return subprocess.run([sys.executable, "-m", "pylon_mcp", "check"], env={**base, **env}, capture_output=True,
                          text=True, timeout=60)  # fmt: skip


@pytest.mark.slow  # two `pylon-mcp check` subprocesses
def test_check_reports_whether_the_shared_redis_answers(sandbox_url: str, redis_url: str) -> None:
    common = {"PYLON_API_TOKEN": TOKEN, "PYLON_API_URL": sandbox_url}
    good = check(**common, PYLON_MCP_REDIS_URL=redis_url)
    assert good.returncode == 0 and "OK: the shared state (Redis) answers." in good.stdout, good.stdout
    dead = f"redis://:hunter2-password@127.0.0.1:{free_port()}/0"
    bad = check(**common, PYLON_MCP_REDIS_URL=dead)
    assert bad.returncode == 1 and "FAILED: the shared state (Redis at 127.0.0.1:" in bad.stdout, bad.stdout
    assert "hunter2" not in bad.stdout + bad.stderr
