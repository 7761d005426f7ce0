"""Confirmation tokens: single use, short-lived, bound to one exact content digest and one caller."""

from __future__ import annotations

import pytest

from pylon_mcp.confirmations import InMemoryConfirmations, Redeem, content_digest

pytestmark = pytest.mark.anyio


class Clock:
    now = 0.0

    def __call__(self) -> float:
        return self.now


async def test_a_token_sends_once_and_only_its_own_content() -> None:
    clock = Clock()
    store = InMemoryConfirmations(ttl=300, clock=clock)
    digest = content_digest({"issue": "i", "html": "<p>hi</p>"})
    token = await store.issue(digest, "ana")
    assert (
        await store.redeem(token, content_digest({"issue": "i", "html": "<p>hi!</p>"}), "ana")
        is Redeem.MISMATCH
    )
    assert await store.redeem(token, digest, "ana") is Redeem.OK
    assert await store.redeem(token, digest, "ana") is Redeem.USED
    await store.release(token)  # the send never reached Pylon: the approval stands
    assert await store.redeem(token, digest, "ana") is Redeem.OK
    assert await store.redeem("confirm_made_up", digest, "ana") is Redeem.UNKNOWN


async def test_tokens_expire_and_are_forgotten_later() -> None:
    clock = Clock()
    store = InMemoryConfirmations(ttl=300, clock=clock)
    digest = content_digest({"html": "x"})
    token = await store.issue(digest, "")
    clock.now = 301
    assert await store.redeem(token, digest, "") is Redeem.EXPIRED
    clock.now = 1000
    await store.issue(digest, "")  # issuing sweeps entries a full TTL past expiry
    assert await store.redeem(token, digest, "") is Redeem.UNKNOWN


async def test_tokens_are_unguessable_and_distinct() -> None:
    store = InMemoryConfirmations()
    tokens = {await store.issue("d", "") for _ in range(1000)}
    assert len(tokens) == 1000 and all(t.startswith("confirm_") and len(t) >= 20 for t in tokens)
