"""Every tool error reaches the model in one shape: `<tool> failed: <what happened, what to do>`.

Issue 20, item 3: the SDK prefixes some failures with "Error executing tool <tool>: " (argument
validation, and whatever a tool raises) and not others (our checks before the call). Each kind
is driven here through a real MCP client session, in both protocol eras.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from mcp import Client

from pylon_mcp.sandbox import Sandbox
from pylon_mcp.server import build_server
from pylon_mcp.surface.tools.errors import CRASHED
from tests.mcp_helpers import connect, settings_for, text

pytestmark = pytest.mark.anyio

LATER = "2099-01-01T00:00:00Z"


@pytest.fixture(params=["auto", "legacy"])
async def client(request: pytest.FixtureRequest, sandbox_url: str) -> AsyncIterator[Client]:
    async with connect(sandbox_url, mode=request.param) as c:
        yield c


# (kind, tool, arguments, a fragment of the reason, whether the call may reach Pylon)
CASES: list[tuple[str, str, dict[str, Any], str]] = [
    ("argument validation (SDK)", "update_issue", {"issue_id": "7", "state": 5},
     "invalid arguments; nothing was sent to Pylon:\n- state: "),
    ("missing argument (SDK)", "snooze_issue", {"issue_id": "7"}, "- snooze_until: Field required"),
    ("unknown argument", "update_issue", {"issue_id": "7", "assigne_id": "x"}, "has no argument(s) 'assigne_id'"),
    ("unsupported argument", "update_issue", {"issue_id": "7", "priority": "high"}, "cannot change priority"),
    ("our own validation", "snooze_issue", {"issue_id": "7", "snooze_until": "2001-01-01T00:00:00Z"},
     "invalid argument 'snooze_until': "),
    ("name resolution", "update_issue", {"issue_id": "7", "assignee_id": "Nobody Atall"},
     "invalid argument 'assignee_id': no user "),
    ("upstream error", "get_issue", {"issue_id": "999999"}, "HTTP 404 for GET /issues/999999 (request_id "),
    ("switched-off tool", "delete_issue", {"issue_id": "7"}, "PYLON_ENABLE_DELETE"),
    ("unknown tool", "close_everything", {}, "there is no tool by that name"),
]  # fmt: skip


@pytest.mark.parametrize(("kind", "tool", "arguments", "reason"), CASES, ids=[c[0] for c in CASES])
async def test_every_error_kind_starts_the_same_way(
    client: Client, sandbox: Sandbox, kind: str, tool: str, arguments: dict[str, Any], reason: str
) -> None:
    result = await client.call_tool(tool, arguments)
    message = text(result)
    assert result.is_error, message
    assert message.startswith(f"{tool} failed: "), message
    assert reason in message, message
    assert "Error executing tool" not in message and f"failed: {tool} " not in message
    assert sandbox.requests("PATCH /issues/{id}") == [] and sandbox.requests("POST /issues/{id}/snooze") == []


async def test_an_upstream_failure_mid_tool_starts_the_same_way(client: Client, sandbox: Sandbox) -> None:
    sandbox.add_fault(endpoint="POST /issues/{id}/snooze", status=429, retry_after="60", times=None)
    message = text(await client.call_tool("snooze_issue", {"issue_id": "7", "snooze_until": LATER}))
    assert message.startswith("snooze_issue failed: Pylon rate limit: HTTP 429"), message


async def test_a_crash_starts_the_same_way_and_keeps_its_text_in_the_log(
    sandbox_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    server = build_server(settings_for(sandbox_url))
    async with Client(server, cache=None) as client:
        state = server.holder.current
        assert state is not None

        async def broken(*_: Any, **__: Any) -> Any:
            raise RuntimeError("internal detail the model must not see")

        state.directory.names = broken  # type: ignore[method-assign]
        result = await client.call_tool("get_issue", {"issue_id": "7"})
    message = text(result)
    assert result.is_error and message == f"get_issue failed: {CRASHED}"
    assert "internal detail" in caplog.text  # the traceback stays on the server
