"""The shared-state interface, run against both implementations (in-process, and a real redis-server)."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from mcp.shared.subscriptions import ResourceUpdated

from pylon_mcp import idempotency
from pylon_mcp.shared.base import SharedState
from pylon_mcp.shared.memory import MemoryState
from tests.redis_server import RedisServer, start_redis

pytestmark = pytest.mark.anyio

LIMITS = {"POST /issues/search": 3}


@pytest.fixture(scope="module")
def redis_server() -> Iterator[RedisServer]:
    server = start_redis()
    yield server
    server.kill()


@pytest.fixture(params=["memory", "redis"])
async def state(request: pytest.FixtureRequest) -> AsyncIterator[SharedState]:
    if request.param == "memory":
        shared: SharedState = MemoryState(listing_ttl=5, limits=LIMITS, window=0.5)
    else:
        from pylon_mcp.shared.redis_backend import RedisState

        server: RedisServer = request.getfixturevalue("redis_server")
        server.command("FLUSHALL")
        shared = RedisState(server.url, namespace="t", listing_ttl=5, limits=LIMITS, window=0.5)
    await shared.start()
    yield shared
    await shared.aclose()


async def test_the_budget_books_slots_in_a_sliding_window(state: SharedState) -> None:
    route = "POST /issues/search"
    booked = [await state.gate.reserve(route, max_wait=0.0) for _ in range(4)]
    assert [granted for granted, _ in booked] == [True, True, True, False]
    assert 0.3 < booked[3][1] <= 0.5  # the first slot frees up after the window
    granted, wait = await state.gate.reserve(route, max_wait=1.0)
    assert granted and 0.3 < wait <= 0.5  # booked for then: the caller waits that long
    assert await state.gate.reserve("GET /issues/{id}", max_wait=0.0) == (True, 0.0)  # no budget there


async def test_a_429_cools_the_endpoint_down_for_every_caller(state: SharedState) -> None:
    await state.gate.cool_down("GET /issues/{id}", 2.0)
    granted, wait = await state.gate.reserve("GET /issues/{id}", max_wait=1.0)
    assert not granted and 1.5 < wait <= 2.0
    assert (await state.gate.reserve("GET /issues/{id}", max_wait=5.0))[0]


async def test_ledger_claims_once_and_swaps_only_what_it_expects(state: SharedState) -> None:
    first, second = {"fp": "a", "state": "pending"}, {"fp": "b", "state": "pending"}
    assert await state.ledger.claim("k", first, 5) is None
    assert await state.ledger.claim("k", second, 5) == first
    assert not await state.ledger.swap("k", second, {"fp": "c"}, 5)
    assert await state.ledger.swap("k", first, {"fp": "a", "state": "done"}, 5)
    await state.ledger.drop("k")
    assert await state.ledger.claim("k", second, 5) is None


async def test_listing_cache_expires_and_clears(state: SharedState) -> None:
    await state.listings.put("recent", "text")
    assert await state.listings.get("recent") == "text"
    await state.listings.clear()
    assert await state.listings.get("recent") is None


async def test_the_bus_delivers_each_event_once(state: SharedState) -> None:
    import anyio

    heard: list[Any] = []
    unsubscribe = state.bus.subscribe(heard.append)
    await state.bus.publish(ResourceUpdated(uri="pylon://issues/7"))
    with anyio.fail_after(5):
        while not heard:  # noqa: ASYNC110 - the bus fills `heard`
            await anyio.sleep(0.01)
    await anyio.sleep(0.2)
    unsubscribe()
    assert heard == [ResourceUpdated(uri="pylon://issues/7")]


async def test_a_claim_whose_replica_died_is_recovered_not_repeated(state: SharedState) -> None:
    """A pending claim past its lease: the next call searches for what it made before creating."""
    dead = {"fp": "f", "state": "pending", "since": "2026-01-01T00:00:00Z", "lease": time.time() - 1}
    assert await state.ledger.claim("issue:k", dead, 60) is None
    attempts: list[str] = []

    async def attempt() -> dict[str, Any]:
        attempts.append("create")
        return {"number": 2}

    async def recover(since: str) -> dict[str, Any] | None:
        attempts.append(f"search since {since}")
        return {"number": 1}

    result, how = await idempotency.run_once(
        state.ledger, "issue", "k", "f", attempt=attempt, recover=recover, unsure=lambda _: False
    )
    assert (result, how) == ({"number": 1}, "recovered")
    assert attempts == ["search since 2026-01-01T00:00:00Z"]
    again = await idempotency.run_once(
        state.ledger, "issue", "k", "f", attempt=attempt, recover=recover, unsure=lambda _: False
    )
    assert again == ({"number": 1}, "repeat") and len(attempts) == 1


async def test_a_create_cancelled_mid_call_is_looked_for_before_another(state: SharedState) -> None:
    import anyio

    calls: list[str] = []

    async def slow_attempt() -> dict[str, Any]:
        calls.append("create")
        await anyio.sleep(10)  # cancelled while "in flight": Pylon may have it
        return {"number": 1}

    async def recover(since: str) -> dict[str, Any] | None:
        calls.append("search")
        return {"number": 1}

    with anyio.move_on_after(0.1):
        await idempotency.run_once(state.ledger, "issue", "c", "f", attempt=slow_attempt, recover=recover,
                                   unsure=lambda _: False)  # fmt: skip
    result = await idempotency.run_once(
        state.ledger, "issue", "c", "f", attempt=slow_attempt, recover=recover, unsure=lambda _: False
    )
    assert result == ({"number": 1}, "recovered") and calls == ["create", "search"]


async def test_an_unsure_attempt_is_not_repeated_until_it_could_no_longer_land(state: SharedState) -> None:
    """Issue 19, item 3: not found yet is not "not made": wait out the settle window before sending again."""
    import anyio

    attempts: list[str] = []

    async def lost() -> dict[str, Any]:
        attempts.append("create")
        raise TimeoutError("no answer")  # Pylon may apply it later

    async def fine() -> dict[str, Any]:
        attempts.append("create")
        return {"number": 2}

    async def recover(since: str) -> dict[str, Any] | None:
        attempts.append("search")
        return None

    run = idempotency.run_once
    with pytest.raises(TimeoutError):
        await run(
            state.ledger, "issue", "s", "f", attempt=lost, recover=recover, unsure=lambda _: True, settle=0.5
        )
    with pytest.raises(idempotency.NotSettled) as early:
        await run(
            state.ledger, "issue", "s", "f", attempt=fine, recover=recover, unsure=lambda _: True, settle=0.5
        )
    assert attempts == ["create", "search"] and early.value.seconds_left >= 1
    await anyio.sleep(early.value.settles - time.time() + 0.05)
    result = await run(state.ledger, "issue", "s", "f", attempt=fine, recover=recover, unsure=lambda _: True)
    assert result == ({"number": 2}, "new") and attempts == ["create", "search", "search", "create"]


async def test_a_confirmation_token_works_once_and_only_for_whoever_previewed(state: SharedState) -> None:
    """Issue 19, item 10: reply confirmations live in the shared state, bound to the caller."""
    import anyio

    from pylon_mcp.confirmations import Redeem

    token = await state.confirmations.issue("digest", "ana")
    assert await state.confirmations.redeem(token, "digest", "bo") is Redeem.OTHER_CALLER
    assert await state.confirmations.redeem(token, "other", "ana") is Redeem.MISMATCH
    verdicts: list[Redeem] = []

    async def redeem() -> None:
        verdicts.append(await state.confirmations.redeem(token, "digest", "ana"))

    async with anyio.create_task_group() as tg:
        for _ in range(10):
            tg.start_soon(redeem)
    assert verdicts.count(Redeem.OK) == 1 and verdicts.count(Redeem.USED) == 9
    await state.confirmations.release(token)  # the send never reached Pylon
    assert await state.confirmations.redeem(token, "digest", "ana") is Redeem.OK
    assert await state.confirmations.redeem("confirm_made_up", "digest", "ana") is Redeem.UNKNOWN


async def test_a_confirmation_issued_on_one_replica_is_redeemed_once_across_replicas(
    redis_server: RedisServer,
) -> None:
    import anyio

    from pylon_mcp.confirmations import Redeem
    from pylon_mcp.shared.redis_backend import RedisState

    redis_server.command("FLUSHALL")
    a, b = (RedisState(redis_server.url, namespace="t", listing_ttl=5) for _ in range(2))
    token = await a.confirmations.issue("digest", "ana")
    verdicts: list[Redeem] = []

    async def redeem(replica: RedisState) -> None:
        verdicts.append(await replica.confirmations.redeem(token, "digest", "ana"))

    async with anyio.create_task_group() as tg:
        for n in range(20):
            tg.start_soon(redeem, (a, b)[n % 2])
    assert verdicts.count(Redeem.OK) == 1 and verdicts.count(Redeem.USED) == 19
    for replica in (a, b):
        await replica.aclose()
