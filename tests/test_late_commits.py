"""Writes that Pylon applies after our timeout (issue 19, item 3): a repeat with the same
idempotency_key must not send again while the first attempt could still land.

The sandbox's `late_commit` fault applies the write 1.2 s after it arrives, whatever the client
does; the client gives up after 0.4 s. Each test counts what reached the sandbox's store.
"""

from __future__ import annotations

import re
from typing import Any

import anyio
import pytest

from pylon_mcp.sandbox import Fault, Sandbox
from tests.conftest import RecordingSleep
from tests.mcp_helpers import text
from tests.test_fault_matrix import connect_fast

pytestmark = pytest.mark.anyio

LANDS_AFTER = 1.2  # seconds; the client's timeout is 0.4 s (tests/test_fault_matrix.py)
WHEN = re.compile(r"after (\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)")


async def until(predicate: Any) -> None:
    with anyio.fail_after(5):
        while not predicate():  # noqa: ASYNC110 - the sandbox thread changes the store
            await anyio.sleep(0.05)


def posted(sandbox: Sandbox, issue: str, *, private: bool, text_: str) -> int:
    messages = sandbox.store.conversations.of(sandbox.store.find(issue)).messages
    return sum(1 for m in messages if m.is_private == private and text_ in m.html)


def check_too_early(message: str) -> None:
    assert "Nothing was sent now" in message, message
    assert WHEN.search(message), message  # when it is safe, as a time the model can compare with
    assert re.search(r"\(\d+ s from now\)", message), message


async def test_a_note_that_lands_late_is_not_posted_twice(sandbox_url: str, sandbox: Sandbox) -> None:
    arguments = {"issue_id": "12", "body_markdown": "Late note.", "idempotency_key": "late-note"}
    async with connect_fast(sandbox_url, RecordingSleep()) as client:
        sandbox.add_fault(Fault(endpoint="POST /issues/{id}/note", kind="late_commit", latency=LANDS_AFTER))
        first = await client.call_tool("add_internal_note", arguments)
        assert first.is_error and "same idempotency_key" in text(first) and WHEN.search(text(first))
        early = await client.call_tool("add_internal_note", arguments)  # before the first lands
        assert early.is_error
        check_too_early(text(early))
        assert "use a new idempotency_key" in text(early)  # how to force it
        await until(lambda: posted(sandbox, "12", private=True, text_="Late note.") == 1)
        late = await client.call_tool("add_internal_note", arguments)
        assert not late.is_error and "did post it" in text(late), text(late)
    assert posted(sandbox, "12", private=True, text_="Late note.") == 1
    assert len(sandbox.requests("POST /issues/{id}/note")) == 1


async def test_an_issue_that_lands_late_is_not_created_twice(sandbox_url: str, sandbox: Sandbox) -> None:
    arguments = {"title": "Lands late", "body_html": "<p>x</p>", "requester_email": "k@example.org",
                 "idempotency_key": "late-issue"}  # fmt: skip

    def issues() -> int:
        return len(sandbox.store.search(lambda r: r.title == "Lands late", 10, None)[0])

    async with connect_fast(sandbox_url, RecordingSleep()) as client:
        sandbox.add_fault(Fault(endpoint="POST /issues", kind="late_commit", latency=LANDS_AFTER))
        first = await client.call_tool("create_issue", arguments)
        assert first.is_error and "same idempotency_key" in text(first) and WHEN.search(text(first))
        early = await client.call_tool("create_issue", arguments)
        assert early.is_error
        check_too_early(text(early))
        assert "use a new idempotency_key" in text(early)
        await until(lambda: issues() == 1)
        late = await client.call_tool("create_issue", arguments)
        assert not late.is_error and "did create it" in text(late), text(late)
    assert issues() == 1
    assert len(sandbox.requests("POST /issues")) == 1


async def test_a_reply_that_lands_late_never_reaches_the_customer_twice(
    sandbox_url: str, sandbox: Sandbox
) -> None:
    arguments: dict[str, Any] = {
        "issue_id": "12",
        "body_markdown": "We fixed it.",
        "idempotency_key": "late-reply",
    }

    def replies() -> int:
        return posted(sandbox, "12", private=False, text_="We fixed it.")

    async with connect_fast(sandbox_url, RecordingSleep(), allow_customer_replies=True) as client:

        async def approved() -> dict[str, Any]:  # a preview the person approved: its token
            preview = await client.call_tool("send_customer_reply", arguments)
            assert not preview.is_error, text(preview)
            return {
                **arguments,
                "confirmation_token": (preview.structured_content or {})["confirmation_token"],
            }

        first_send = await approved()
        sandbox.add_fault(Fault(endpoint="POST /issues/{id}/reply", kind="late_commit", latency=LANDS_AFTER))
        first = await client.call_tool("send_customer_reply", first_send)
        assert first.is_error and "same idempotency_key" in text(first)
        assert "fresh preview" in text(first)  # the token is used up: a resend needs a new approval
        same_token = await client.call_tool("send_customer_reply", first_send)
        assert same_token.is_error and "already used" in text(same_token)
        second_send = await approved()  # a new approval, before the first has landed
        early = await client.call_tool("send_customer_reply", second_send)
        assert early.is_error
        check_too_early(text(early))
        assert "email the customer twice" in text(early)
        await until(lambda: replies() == 1)
        late = await client.call_tool("send_customer_reply", second_send)  # the released token, once more
        assert not late.is_error and "did send it" in text(late), text(late)
    assert replies() == 1
    assert len(sandbox.requests("POST /issues/{id}/reply")) == 1


async def test_the_late_commit_fault_applies_the_write_after_the_client_gave_up(
    sandbox_url: str, sandbox: Sandbox
) -> None:
    async with connect_fast(sandbox_url, RecordingSleep()) as client:
        sandbox.add_fault(Fault(endpoint="POST /issues/{id}/note", kind="late_commit", latency=LANDS_AFTER))
        failed = await client.call_tool("add_internal_note", {"issue_id": "12", "body_markdown": "Slow."})
        assert failed.is_error and "did not answer" in text(failed)
        assert posted(sandbox, "12", private=True, text_="Slow.") == 0  # not yet
        await until(lambda: posted(sandbox, "12", private=True, text_="Slow.") == 1)


async def test_with_elicitation_each_attempt_is_approved_and_a_late_reply_is_not_sent_again(
    sandbox_url: str, sandbox: Sandbox
) -> None:
    from tests.test_tools_conversation import session

    arguments = {"issue_id": "12", "body_markdown": "Approved late.", "idempotency_key": "late-asked"}
    async with session(sandbox_url, answer="accept", allow_customer_replies=True, timeout=0.4) as client:
        sandbox.add_fault(Fault(endpoint="POST /issues/{id}/reply", kind="late_commit", latency=LANDS_AFTER))
        first = await client.call_tool("send_customer_reply", arguments)
        assert first.is_error and "same idempotency_key" in text(first), text(first)
        early = await client.call_tool("send_customer_reply", arguments)
        assert early.is_error
        check_too_early(text(early))
        await until(lambda: posted(sandbox, "12", private=False, text_="Approved late.") == 1)
        late = await client.call_tool("send_customer_reply", arguments)
        assert not late.is_error and "did send it" in text(late), text(late)
        assert len(client.asked) == 3  # type: ignore[attr-defined]  # the person approved every attempt
    assert posted(sandbox, "12", private=False, text_="Approved late.") == 1
    assert len(sandbox.requests("POST /issues/{id}/reply")) == 1
