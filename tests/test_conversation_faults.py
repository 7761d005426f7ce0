"""The conversation tools under upstream faults (the fault matrix's new rows), and notes and replies
that are never duplicated under "commit, then fail"."""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from typing import Any

import pytest
from mcp import Client

from pylon_mcp.sandbox import Fault, Sandbox
from tests import test_fault_matrix as fault_matrix
from tests.conftest import TOKEN, RecordingSleep
from tests.mcp_helpers import text
from tests.test_fault_matrix import AFTER_COMMIT, FAULTS, MAX_ATTEMPTS

pytestmark = pytest.mark.anyio

ENDPOINTS = {
    "get_issue_messages": "GET /issues/{id}/messages",
    "add_internal_note": "POST /issues/{id}/note",
    "send_customer_reply": "POST /issues/{id}/reply",
}
WRITES = {"add_internal_note", "send_customer_reply"}


def connect_fast(url: str, sleeps: RecordingSleep) -> AbstractAsyncContextManager[Client]:
    return fault_matrix.connect_fast(url, sleeps, allow_customer_replies=True)


async def call(client: Client, tool: str, issue: str, text_: str = "Checked the logs.") -> Any:
    """One call of the tool; a reply first takes its preview (whose token the send then carries)."""
    arguments: dict[str, Any] = {"issue_id": issue}
    if tool != "get_issue_messages":
        arguments["body_markdown"] = text_
    if tool == "send_customer_reply":
        preview = await client.call_tool(tool, arguments)
        assert not preview.is_error, text(preview)
        arguments["confirmation_token"] = (preview.structured_content or {})["confirmation_token"]
    return await client.call_tool(tool, arguments)


@pytest.mark.parametrize("fault_name", list(FAULTS))
@pytest.mark.parametrize("tool", list(ENDPOINTS))
async def test_fault_matrix(sandbox_url: str, sandbox: Sandbox, tool: str, fault_name: str) -> None:
    endpoint = ENDPOINTS[tool]
    spec, retried, fragments = FAULTS[fault_name]
    if tool in WRITES and fault_name == "404":
        fragments = ["HTTP 404"]  # the issue was read a moment ago: the 404 is about the write
    sleeps = RecordingSleep()
    issue = sandbox.store.find("12").id
    async with connect_fast(sandbox_url, sleeps) as client:
        sandbox.add_fault(Fault(endpoint=endpoint, times=None, **spec))
        if tool == "send_customer_reply":  # the preview reads the conversation; fail only the send
            sandbox.faults.clear()
        result = await _faulted_call(client, sandbox, tool, issue, endpoint, spec)
        message = text(result)
        assert result.is_error, message
        for fragment in fragments:
            assert fragment in message, (fragment, message)
        if fault_name not in ("timeout", "reset"):
            assert "request_id" in message
        assert TOKEN not in message
        attempts = len(sandbox.requests(endpoint))
        expected = MAX_ATTEMPTS if retried and tool not in WRITES else 1
        assert attempts == expected, (attempts, expected)
        if tool in WRITES and any(
            k in fault_name for k in ("500", "502", "503", "504", "timeout", "reset", "JSON")
        ):
            assert "Do not simply retry" in message and "get_issue_messages" in message  # how to check
        sandbox.faults.clear()
        follow_up = await client.call_tool("get_issue_messages", {"issue_id": issue})
        assert not follow_up.is_error, text(follow_up)


async def _faulted_call(
    client: Client, sandbox: Sandbox, tool: str, issue: str, endpoint: str, spec: Any
) -> Any:
    if tool != "send_customer_reply":
        return await call(client, tool, issue)
    arguments = {"issue_id": issue, "body_markdown": "Checked the logs."}
    preview = await client.call_tool(tool, arguments)
    sandbox.add_fault(Fault(endpoint=endpoint, times=None, **spec))
    token = (preview.structured_content or {})["confirmation_token"]
    return await client.call_tool(tool, {**arguments, "confirmation_token": token})


@pytest.mark.slow
@pytest.mark.parametrize("tool", sorted(WRITES))
async def test_never_duplicated_under_commit_then_fail(sandbox_url: str, sandbox: Sandbox, tool: str) -> None:
    record = sandbox.store.find("12")
    before = len(sandbox.store.conversations.of(record).messages)
    async with connect_fast(sandbox_url, RecordingSleep()) as client:
        for n in range(100):
            sandbox.add_fault(
                Fault(endpoint=ENDPOINTS[tool], after_commit=True, **AFTER_COMMIT[n % len(AFTER_COMMIT)])
            )
            result = await call(client, tool, record.id, f"Run {n}.")
            if result.is_error:  # the answer was lost: the model is told how to check, not to retry
                assert "Do not simply retry" in text(result), text(result)
            sandbox.faults.clear()
    texts = [m.html for m in sandbox.store.conversations.of(record).messages[before:]]
    assert len(texts) == 100 and len(set(texts)) == 100  # every run posted exactly once


async def test_idempotency_key_finds_a_note_whose_answer_was_lost(sandbox_url: str, sandbox: Sandbox) -> None:
    record = sandbox.store.find("12")
    before = len(sandbox.store.conversations.of(record).messages)
    arguments = {"issue_id": "12", "body_markdown": "Escalated to eng.", "idempotency_key": "triage-12"}
    async with connect_fast(sandbox_url, RecordingSleep()) as client:
        sandbox.add_fault(Fault(endpoint="POST /issues/{id}/note", status=502, after_commit=True))
        first = await client.call_tool("add_internal_note", arguments)
        assert first.is_error and "same idempotency_key" in text(first)
        second = await client.call_tool("add_internal_note", arguments)
        third = await client.call_tool("add_internal_note", arguments)
        other = await client.call_tool("add_internal_note", {**arguments, "body_markdown": "Different."})
    assert "did post it" in text(second) and "Already done" in text(third)
    assert "'idempotency_key'" in text(other)
    assert len(sandbox.store.conversations.of(record).messages) == before + 1
    assert len(sandbox.requests("POST /issues/{id}/note")) == 1
