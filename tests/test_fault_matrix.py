"""Every tool under every upstream fault: expected retries, clear error text, and a server that carries on.

Also: create_issue never duplicates under "commit, then fail" faults, and idempotency keys.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from mcp import Client

from pylon_mcp.pylon.client import PylonClient
from pylon_mcp.pylon.retry import RetryPolicy
from pylon_mcp.sandbox import Fault, Sandbox
from pylon_mcp.server import build_server
from tests.conftest import TOKEN, RecordingSleep
from tests.mcp_helpers import settings_for, text

pytestmark = pytest.mark.anyio

MAX_ATTEMPTS = 4
CLIENT_TIMEOUT = 0.4


@asynccontextmanager
async def connect_fast(url: str, sleeps: RecordingSleep, **settings: Any) -> AsyncIterator[Client]:
    """Retries recorded instead of slept, and a short timeout, so the matrix runs quickly."""
    pylon = PylonClient(TOKEN, base_url=url, timeout=CLIENT_TIMEOUT, sleep=sleeps,
                        retry=RetryPolicy(max_attempts=MAX_ATTEMPTS))  # fmt: skip
    async with pylon:
        server = build_server(settings_for(url, **{"enable_delete": True, **settings}), pylon=pylon)
        async with Client(server, cache=None) as client:
            yield client


def calls(sandbox: Sandbox) -> dict[str, tuple[str, dict[str, Any]]]:
    """tool -> (the endpoint it ends with, arguments)."""
    user = next(iter(sandbox.store.directory.users))
    account = next(iter(sandbox.store.directory.accounts))
    return {
        "get_issue": ("GET /issues/{id}", {"issue_id": "7"}),
        "search_issues": ("POST /issues/search", {"state": "new"}),
        "create_issue": ("POST /issues", {"title": "t", "body_html": "<p>b</p>", "account_id": account}),
        "update_issue": ("PATCH /issues/{id}", {"issue_id": "7", "state": "closed"}),
        "snooze_issue": (
            "POST /issues/{id}/snooze",
            {"issue_id": "7", "snooze_until": "2099-01-01T00:00:00Z"},
        ),
        "manage_followers": (
            "POST /issues/{id}/followers",
            {"issue_id": "8", "operation": "add", "user_ids": [user]},
        ),
        "delete_issue": ("DELETE /issues/{id}", {"issue_id": "9"}),
        "get_account": ("GET /accounts/{id}", {"account": account}),
        "get_contact": ("GET /contacts/{id}", {"contact": next(iter(sandbox.store.directory.contacts))}),
        "link_external_issue": (
            "POST /issues/{id}/external-issues",
            {"issue_id": sandbox.store.find("8").id, "source": "jira", "external_issue_id": "10042"},
        ),
    }


# fault name -> (Fault kwargs, retried for safe requests?, fragments the error must contain)
FAULTS: dict[str, tuple[dict[str, Any], bool, list[str]]] = {
    "429 Retry-After": ({"status": 429, "retry_after": "2"}, True, ["HTTP 429", "Retry after 2 s"]),
    "429 X-Retry-After": (
        {"status": 429, "retry_after": "3", "retry_after_header": "X-Retry-After"},
        True,
        ["HTTP 429", "Retry after 3 s"],
    ),
    "429 no header": ({"status": 429}, True, ["HTTP 429", "Retry after about a minute"]),
    "500": ({"status": 500}, False, ["HTTP 500", "Pylon failed"]),
    "502": ({"status": 502}, True, ["HTTP 502", "Pylon failed"]),
    "503": ({"status": 503}, True, ["HTTP 503", "Pylon failed"]),
    "504": ({"status": 504}, True, ["HTTP 504", "Pylon failed"]),
    "timeout": (
        {"kind": "timeout", "latency": 1.5},
        True,
        ["did not answer", f"within {CLIENT_TIMEOUT:g}s"],
    ),
    "reset": ({"kind": "reset"}, True, ["network error"]),
    "non-JSON": ({"kind": "non_json", "status": 200}, True, ["unreadable body", "not JSON"]),
    "truncated JSON": ({"kind": "truncated", "status": 200}, True, ["truncated JSON"]),
    "401 wrong region": (
        {"status": 401, "errors": ["wrong_region_token"]},
        False,
        ["HTTP 401", "wrong_region_token", "PYLON_API_URL", "token"],
    ),
    "404": (
        {"status": 404, "errors": ["issue not found"]},
        False,
        ["HTTP 404", "Check the issue ID or number"],
    ),
}
NEVER_REPEATED = {"create_issue", "delete_issue"}  # repeating could duplicate or misreport
TOOLS = ["get_issue", "search_issues", "create_issue", "update_issue", "snooze_issue", "manage_followers",
         "delete_issue"]  # fmt: skip


# The customer tools (issue 22) under the faults Pylon's own answers produce; the link is idempotent, so
# it is retried like a read. (Timeouts and resets are the transport's, covered by the rows above.)
CUSTOMER_TOOLS = ["get_account", "get_contact", "link_external_issue"]
CUSTOMER_FAULTS = ["429 Retry-After", "500", "502", "503", "non-JSON"]
MATRIX = [(tool, fault) for tool in TOOLS for fault in FAULTS] + [
    (tool, fault) for tool in CUSTOMER_TOOLS for fault in CUSTOMER_FAULTS
]


@pytest.mark.parametrize(("tool", "fault_name"), MATRIX)
async def test_fault_matrix(sandbox_url: str, sandbox: Sandbox, tool: str, fault_name: str) -> None:
    endpoint, arguments = calls(sandbox)[tool]
    spec, retried, fragments = FAULTS[fault_name]
    sleeps = RecordingSleep()
    async with connect_fast(sandbox_url, sleeps) as client:
        sandbox.add_fault(Fault(endpoint=endpoint, times=None, **spec))
        result = await client.call_tool(tool, arguments)
        message = text(result)
        assert result.is_error, message
        for fragment in fragments:
            assert fragment in message, (fragment, message)
        if fault_name not in ("timeout", "reset"):
            assert "request_id" in message
        assert message.startswith(f"{tool} failed: ") and TOKEN not in message
        attempts = len(sandbox.requests(endpoint))
        expected = MAX_ATTEMPTS if retried and tool not in NEVER_REPEATED else 1
        assert attempts == expected, (attempts, expected)
        assert len(sleeps.delays) == expected - 1
        # The server carries on: the next call, with the fault gone, works.
        sandbox.faults.clear()
        follow_up = await client.call_tool("get_issue", {"issue_id": "10"})
        assert not follow_up.is_error, text(follow_up)


AFTER_COMMIT = [
    {"status": 500},
    {"status": 502},
    {"status": 503},
    {"status": 504},
    {"kind": "reset", "status": 200},
    {"kind": "truncated", "status": 200},
    {"kind": "non_json", "status": 200},
    {"kind": "latency", "latency": 0.6},
]


@pytest.mark.slow
async def test_create_never_duplicates_under_commit_then_fail(sandbox_url: str, sandbox: Sandbox) -> None:
    """N = 100 create calls, each answered with a failure after Pylon committed it: exactly 100 issues."""
    sleeps = RecordingSleep()
    before = len(sandbox.store)
    account = next(iter(sandbox.store.directory.accounts))
    failures = 0
    async with connect_fast(sandbox_url, sleeps) as client:
        for n in range(100):
            sandbox.add_fault(
                Fault(endpoint="POST /issues", after_commit=True, **AFTER_COMMIT[n % len(AFTER_COMMIT)])
            )
            result = await client.call_tool(
                "create_issue", {"title": f"dup-check {n}", "body_html": "<p>x</p>", "account_id": account}
            )
            assert result.is_error and "Do not simply retry" in text(result)
            failures += 1
    titles = [r.title for r in sandbox.store.search(lambda r: r.title.startswith("dup-check "), 999, None)[0]]
    assert len(sandbox.store) - before == 100 == failures
    assert len(titles) == len(set(titles)) == 100  # zero duplicates
    assert len(sandbox.requests("POST /issues")) == 100 and sleeps.delays == []


async def test_idempotency_key_returns_the_first_result(sandbox_url: str, sandbox: Sandbox) -> None:
    args = {
        "title": "Key test",
        "body_html": "<p>x</p>",
        "requester_email": "k@example.org",
        "idempotency_key": "abc",
    }
    async with connect_fast(sandbox_url, RecordingSleep()) as client:
        first = await client.call_tool("create_issue", args)
        second = await client.call_tool("create_issue", args)
        assert not first.is_error and not second.is_error
        assert (first.structured_content or {})["issue"]["number"] == (second.structured_content or {})[
            "issue"
        ]["number"]
        assert text(second).startswith("Already created by an earlier call with this idempotency_key.")
        clash = await client.call_tool("create_issue", {**args, "title": "Different"})
        assert clash.is_error and "already used with different arguments" in text(clash)
    assert len(sandbox.requests("POST /issues")) == 1


async def test_idempotency_key_finds_an_issue_whose_creation_answer_was_lost(
    sandbox_url: str, sandbox: Sandbox
) -> None:
    args = {"title": "Lost answer", "body_html": "<p>x</p>", "requester_email": "k@example.org",
            "idempotency_key": "lost-1"}  # fmt: skip
    async with connect_fast(sandbox_url, RecordingSleep()) as client:
        sandbox.add_fault(Fault(endpoint="POST /issues", status=502, after_commit=True))
        failed = await client.call_tool("create_issue", args)
        assert failed.is_error and "same idempotency_key" in text(failed)
        again = await client.call_tool("create_issue", args)
        assert not again.is_error and "did create it" in text(again)
    assert len(sandbox.requests("POST /issues")) == 1
    assert len(sandbox.store.search(lambda r: r.title == "Lost answer", 10, None)[0]) == 1


async def test_idempotency_key_creates_when_the_first_attempt_did_not(
    sandbox_url: str, sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    import anyio

    from pylon_mcp import idempotency

    monkeypatch.setattr(idempotency, "settle_window", lambda timeout: 0.5)  # not the default 10 s
    args = {"title": "Refused first", "body_html": "<p>x</p>", "requester_email": "k@example.org",
            "idempotency_key": "pre-1"}  # fmt: skip
    async with connect_fast(sandbox_url, RecordingSleep()) as client:
        sandbox.add_fault(Fault(endpoint="POST /issues", status=502))  # before commit: nothing created
        assert (await client.call_tool("create_issue", args)).is_error
        early = await client.call_tool("create_issue", args)  # it could still land: nothing sent
        assert early.is_error and "Nothing was sent now" in text(early), text(early)
        await anyio.sleep(1.6)  # the window ends on a whole second
        created = await client.call_tool("create_issue", args)  # settled and still not there: created
        assert not created.is_error, text(created)
    assert len(sandbox.store.search(lambda r: r.title == "Refused first", 10, None)[0]) == 1
    assert len(sandbox.requests("POST /issues")) == 2


async def test_concurrent_creates_with_one_key_make_one_issue(sandbox_url: str, sandbox: Sandbox) -> None:
    import anyio

    args = {
        "title": "Race",
        "body_html": "<p>x</p>",
        "requester_email": "k@example.org",
        "idempotency_key": "race",
    }
    numbers: list[int] = []
    async with connect_fast(sandbox_url, RecordingSleep()) as client:
        sandbox.faults.latency = 0.2

        async def one() -> None:
            result = await client.call_tool("create_issue", args)
            numbers.append((result.structured_content or {})["issue"]["number"])

        async with anyio.create_task_group() as tg:
            for _ in range(5):
                tg.start_soon(one)
    assert len(set(numbers)) == 1 and len(numbers) == 5
    assert len(sandbox.requests("POST /issues")) == 1
