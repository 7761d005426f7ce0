"""Confirmation tokens: single use, short-lived, bound to one exact content digest."""

from __future__ import annotations

from pylon_mcp.confirmations import InMemoryConfirmations, Redeem, content_digest


class Clock:
    now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_token_sends_once_and_only_its_own_content() -> None:
    clock = Clock()
    store = InMemoryConfirmations(ttl=300, clock=clock)
    digest = content_digest({"issue": "i", "html": "<p>hi</p>"})
    token = store.issue(digest)
    assert store.redeem(token, content_digest({"issue": "i", "html": "<p>hi!</p>"})) is Redeem.MISMATCH
    assert store.redeem(token, digest) is Redeem.OK
    assert store.redeem(token, digest) is Redeem.USED
    store.release(token)  # the send never reached Pylon: the approval stands
    assert store.redeem(token, digest) is Redeem.OK
    assert store.redeem("confirm_made_up", digest) is Redeem.UNKNOWN


def test_tokens_expire_and_are_forgotten_later() -> None:
    clock = Clock()
    store = InMemoryConfirmations(ttl=300, clock=clock)
    digest = content_digest({"html": "x"})
    token = store.issue(digest)
    clock.now = 301
    assert store.redeem(token, digest) is Redeem.EXPIRED
    clock.now = 1000
    store.issue(digest)  # issuing sweeps entries a full TTL past expiry
    assert store.redeem(token, digest) is Redeem.UNKNOWN


def test_tokens_are_unguessable_and_distinct() -> None:
    store = InMemoryConfirmations()
    tokens = {store.issue("d") for _ in range(1000)}
    assert len(tokens) == 1000 and all(t.startswith("confirm_") and len(t) >= 20 for t in tokens)
