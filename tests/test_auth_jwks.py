"""The signing-key cache against the test issuer's real JWKS endpoint, with a clock the test moves."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import httpx2
import pytest

from pylon_mcp.auth.jwks import FETCH_BUDGET, MAX_AGE, MISS_QUIET, KeySet
from tests.oauth_issuer import Issuer

pytestmark = pytest.mark.anyio


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def issuer() -> Iterator[Issuer]:
    issuer = Issuer().start()
    yield issuer
    issuer.stop()


@pytest.fixture
async def http() -> AsyncIterator[httpx2.AsyncClient]:
    async with httpx2.AsyncClient(timeout=10) as client:
        yield client


def key_set(issuer: Issuer, http: httpx2.AsyncClient, clock: Clock) -> KeySet:
    jwks = f"{issuer.url}/jwks"

    async def url() -> str:
        return jwks

    return KeySet(url, lambda: http, clock)


async def test_keys_older_than_an_hour_are_fetched_again_so_dropped_keys_stop_working(
    issuer: Issuer, http: httpx2.AsyncClient
) -> None:
    clock = Clock()
    keys = key_set(issuer, http, clock)
    old_kid = issuer.kid
    assert await keys.key_for(old_kid) is not None
    issuer.rotate()
    clock.now += MAX_AGE - 1
    assert await keys.key_for(old_kid) is not None and issuer.jwks_fetches == 1  # still cached
    clock.now += 2
    assert await keys.key_for(old_kid) is None and issuer.jwks_fetches == 2  # refetched: the key is gone
    assert await keys.key_for(issuer.kid) is not None and issuer.jwks_fetches == 2


async def test_an_unknown_kid_is_looked_for_once_per_quiet_period(
    issuer: Issuer, http: httpx2.AsyncClient
) -> None:
    clock = Clock()
    keys = key_set(issuer, http, clock)
    for _ in range(3):
        assert await keys.key_for("nobody") is None
    assert issuer.jwks_fetches == 1
    clock.now += MISS_QUIET + 1
    assert await keys.key_for("nobody") is None and issuer.jwks_fetches == 2


async def test_fetches_are_capped_per_minute_and_the_cap_lifts(
    issuer: Issuer, http: httpx2.AsyncClient
) -> None:
    clock = Clock()
    keys = key_set(issuer, http, clock)
    budget, window = FETCH_BUDGET
    for n in range(budget + 5):
        await keys.key_for(f"invented-{n}")
    assert issuer.jwks_fetches == budget
    clock.now += window + 1
    issuer.rotate()
    assert await keys.key_for(issuer.kid) is not None and issuer.jwks_fetches == budget + 1


async def test_an_unreachable_issuer_keeps_the_keys_already_fetched(
    issuer: Issuer, http: httpx2.AsyncClient
) -> None:
    clock = Clock()
    keys = key_set(issuer, http, clock)
    kid = issuer.kid
    assert await keys.key_for(kid) is not None
    issuer.stop()
    clock.now += MAX_AGE + 1
    assert await keys.key_for(kid) is not None  # refresh failed; the known key still verifies
