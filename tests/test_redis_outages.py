"""The Redis shared state through a restart and a hang, on a real redis-server (issue 19, item 4)."""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections.abc import AsyncIterator, Iterator

import anyio
import pytest

from pylon_mcp.shared.base import SharedStateUnavailable
from tests.redis_server import RedisServer, start_redis

pytestmark = pytest.mark.anyio

pytest.importorskip("redis")

from pylon_mcp.shared.redis_backend import BREAK, RedisState  # noqa: E402


@pytest.fixture(scope="module")
def redis_server() -> Iterator[RedisServer]:
    server = start_redis()
    yield server
    server.kill()


@pytest.fixture
async def state(redis_server: RedisServer) -> AsyncIterator[RedisState]:
    if redis_server.process is None:
        redis_server.start()
    redis_server.command("FLUSHALL")
    shared = RedisState(redis_server.url, namespace="t", listing_ttl=5, limits={"POST /issues/search": 5})
    await shared.start()
    yield shared
    await shared.aclose()


async def test_calls_every_half_second_recover_after_a_blip(
    state: RedisState, redis_server: RedisServer
) -> None:
    """The breaker's own refusals must not keep it open: recovery needs no traffic gap and no /readyz.

    The blip is a Redis that stops answering for 2.5 s (SIGSTOP: a stalled host, a slow AOF fork)
    and then answers again; the change-notification reader never noticed, so it cannot help.
    """
    assert redis_server.process is not None
    outcomes: list[bool] = []

    async def claim(n: int) -> None:
        try:
            await state.ledger.claim("k", {"n": n}, 60)  # one key: after the first, a SET NX and a GET
            outcomes.append(True)
        except SharedStateUnavailable:
            outcomes.append(False)

    await claim(0)
    os.kill(redis_server.process.pid, signal.SIGSTOP)
    try:
        await claim(1)  # waits out the socket timeout, then opens the breaker
    finally:
        os.kill(redis_server.process.pid, signal.SIGCONT)
    back = len(outcomes)
    for n in range(back, back + int(3 * BREAK / 0.5)):  # a call every 0.5 s: never a BREAK-long gap
        await claim(n)
        await anyio.sleep(0.5)
    assert outcomes[:back] == [True, False]
    # Refused for at most one breaker window after the failure; every call after that works.
    assert all(outcomes[back + int(BREAK / 0.5) :]) and outcomes[-1], outcomes


async def test_a_cooldown_read_back_from_redis_is_capped_at_a_minute(state: RedisState) -> None:
    """Anyone who can write to Redis must not freeze an endpoint on every replica for longer than 60 s."""
    import redis.asyncio as redis

    async with redis.Redis.from_url(state._store.url) as raw:
        now_ms = int(time.time() * 1000)
        await raw.set(f"{state._store.prefix}cooldown:GET /issues/{{id}}", now_ms + 86_400_000)
    granted, wait = await state.gate.reserve("GET /issues/{id}", max_wait=0.0)
    assert not granted and 55 <= wait <= 60, wait


async def test_reads_while_redis_hangs_are_time_boxed(state: RedisState, redis_server: RedisServer) -> None:
    """SIGSTOP: connections open, nothing answers. Reads give up quickly instead of waiting 2 s each."""
    assert redis_server.process is not None
    await state.listings.put("recent", "text")

    async def read_listing() -> None:
        with contextlib.suppress(SharedStateUnavailable):  # a miss, as surface/resources/issues.py treats it
            await state.listings.get("recent")

    os.kill(redis_server.process.pid, signal.SIGSTOP)
    try:
        slowest = 0.0
        for _ in range(2):
            started = time.monotonic()
            with anyio.fail_after(5):
                async with anyio.create_task_group() as tg:
                    for _ in range(5):
                        tg.start_soon(read_listing)
                        tg.start_soon(state.gate.reserve, "POST /issues/search", 0.0)
            slowest = max(slowest, time.monotonic() - started)
            await anyio.sleep(BREAK)  # past the breaker's window: the next batch probes Redis again
        assert slowest < 1.0, slowest  # the socket timeout is 2 s: without a time box each batch costs that
    finally:
        os.kill(redis_server.process.pid, signal.SIGCONT)
    with anyio.fail_after(5):  # and it comes back by itself
        while True:
            with contextlib.suppress(SharedStateUnavailable):
                await state.listings.put("again", "text")  # the first entry has expired by now
                if await state.listings.get("again") == "text":
                    break
            await anyio.sleep(0.2)
