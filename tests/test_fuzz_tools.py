"""Hypothesis-generated arguments for every tool, through a real client session.

Every call must end in a tool result (success or isError), never a protocol error
or a crash (CRASHED: the server's own error, its text kept in the log), and input refused
as invalid must not have reached Pylon (checked on the sandbox's request log).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from anyio.from_thread import BlockingPortal, start_blocking_portal
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mcp import Client

from pylon_mcp.sandbox import Sandbox
from pylon_mcp.sandbox.server import SandboxServer
from pylon_mcp.surface.tools.errors import CRASHED
from pylon_mcp.surface.tools.registry import TOOL_NAMES
from tests.mcp_helpers import connect, text

LOCAL_REFUSALS = ("invalid argument", "has no argument", "cannot change priority", "is switched off")
EXAMPLES_PER_TOOL = 150
CASES: list[str] = []  # one entry per generated call, for the count in the closing note

ODD_TEXT = st.one_of(
    st.text(max_size=40),
    st.text(alphabet=st.sampled_from("\u200b\u202e\u0000\ufeff\U000e0041é中🙂\n\t\"'\\<>{}~"), max_size=40),
    st.sampled_from(["", " ", "7", "#7", "-1", "../me", "7/followers", "null", "NaN", "9" * 40, "x" * 5000]),
)
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=True, allow_infinity=True),
    ODD_TEXT,
)
ANY_JSON = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=6) | st.dictionaries(st.text(max_size=8), inner, max_size=6),
    max_leaves=25,
)
PLAUSIBLE = {
    "issue_id": st.sampled_from(["7", "8", 9, "999999", "abc-123", "#12"]),
    "state": st.sampled_from(["new", "closed", "escalated", ["new", "on_hold"], "done", "Bad State"]),
    "limit": st.integers(min_value=-5, max_value=2000),
    "cursor": st.one_of(st.sampled_from(["", "!!", "AAAA", "LTE3OTQ2NjQ0MTI6LTI1Mg"]), ODD_TEXT),
    "created_after": st.sampled_from(["2026-01-01T00:00:00Z", "yesterday", "2026-13-01T00:00:00Z", ""]),
    "snooze_until": st.sampled_from(["2099-01-01T00:00:00Z", "2001-01-01T00:00:00Z", "soon", "2099-01-01"]),
    "operation": st.sampled_from(["add", "remove", "toggle", ""]),
    "priority": st.sampled_from(["urgent", "high", "p1", None]),
    "tags": st.lists(ODD_TEXT, max_size=60),
    "include": st.lists(st.sampled_from(["followers", "raw_html", "everything"]), max_size=3),
    "body_offset": st.integers(min_value=-10, max_value=10**12),
    # names in: resolved through the directory (reads), refused with candidates when not exactly one
    "assignee_id": st.sampled_from(
        ["Sam", "Hannah Weiss", "HANNAH@sandbox-support.example", "", "Nobody", "*"]
    ),
    "team_id": st.sampled_from(["Billing", "billing", "Legal", "00000000-0000-4000-8000-000000000000"]),
    "account_id": st.sampled_from(["Acme", "Northwind Traders", "hooli.example", "x@hooli.example", "Nope"]),
    "user_ids": st.lists(st.sampled_from(["Sam Lee", "Sam", "mei@sandbox-support.example", ""]), max_size=3),
    "contact_ids": st.lists(st.sampled_from(["nobody@nowhere.example", "Some Person", "ID"]), max_size=3),
    "kind": st.sampled_from(["user", "team", "account", "contact", "status", "tag", "field", "person", ""]),
    "query": st.one_of(st.sampled_from(["sam", "*", "Acme", "northwindtraders.example", "", " "]), ODD_TEXT),
}
# Resolving a name reads the directory before it can refuse: such reads are not the refused call reaching Pylon.
DIRECTORY_READS = {"GET /users", "GET /teams", "GET /issue-statuses", "GET /tags", "GET /custom-fields",
                   "POST /accounts/search", "POST /contacts/search", "POST /users/search"}  # fmt: skip


@st.composite
def deep_filter(draw: st.DrawFn, depth: int = 1) -> Any:
    if depth < 7 and draw(st.booleans()):
        width = draw(st.integers(min_value=0, max_value=30 if depth == 1 else 3))
        return {"operator": draw(st.sampled_from(["and", "or", "equals"])),
                "subfilters": [draw(deep_filter(depth + 1)) for _ in range(width)]}  # fmt: skip
    return {
        "field": draw(st.sampled_from(["state", "tags", "created_at", "title", "priority", "nope", ""])),
        "operator": draw(st.sampled_from(["equals", "in", "gte", "time_range", "is_set", "string_contains"])),
        **({"value": draw(SCALARS)} if draw(st.booleans()) else {}),
        **({"values": draw(st.lists(SCALARS, max_size=4))} if draw(st.booleans()) else {}),
    }


@st.composite
def arguments(draw: st.DrawFn, properties: list[str]) -> dict[str, Any]:
    chosen = draw(
        st.lists(st.sampled_from([*properties, "priority", "bogus", "Title"]), max_size=8, unique=True)
    )
    out: dict[str, Any] = {}
    for name in chosen:
        if name == "filter":
            out[name] = draw(st.one_of(deep_filter(), ANY_JSON))
        elif name in PLAUSIBLE and draw(st.integers(0, 3)) > 0:
            out[name] = draw(PLAUSIBLE[name])
        else:
            out[name] = draw(ANY_JSON)
    return out


@pytest.fixture(scope="module")
def live() -> Iterator[tuple[BlockingPortal, Client, Sandbox, dict[str, list[str]]]]:
    """One sandbox and one connected client for all examples (connecting per example would dominate)."""
    from tests.conftest import ANCHOR, TOKEN

    with (
        SandboxServer(Sandbox(token=TOKEN, issues=60, anchor=ANCHOR)) as server,
        start_blocking_portal() as portal,
        portal.wrap_async_context_manager(
            connect(server.url, enable_delete=True, allow_customer_replies=True)
        ) as client,
    ):
        tools = portal.call(client.list_tools)
        _wait_for_the_knowledge_index(portal, client)
        properties = {tool.name: list(tool.input_schema.get("properties", {})) for tool in tools.tools}
        yield portal, client, server.sandbox, properties


def _wait_for_the_knowledge_index(portal: BlockingPortal, client: Client) -> None:
    """The first search_knowledge starts a background build; its requests must not be taken for a
    refused call's. After the build, nothing more is sent until the refresh (15 minutes away)."""
    import time

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        result = portal.call(client.call_tool, "search_knowledge", {"query": "invoice"})
        if "still being built" not in text(result):
            return
        time.sleep(0.05)
    raise AssertionError("the knowledge index was not built within 30 s")


@pytest.mark.slow
@pytest.mark.parametrize("tool", TOOL_NAMES)
def test_fuzzed_arguments_always_get_a_tool_result(tool: str, live: Any) -> None:
    portal, client, sandbox, properties = live

    @settings(max_examples=EXAMPLES_PER_TOOL, deadline=None, derandomize=True,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])  # fmt: skip
    @given(args=arguments(properties[tool]))
    def check(args: dict[str, Any]) -> None:
        CASES.append(tool)
        sandbox.clear_log()
        result = portal.call(client.call_tool, tool, args)  # an MCPError here fails the test
        message = text(result)
        assert message.strip(), "empty result"
        if result.is_error:
            assert CRASHED not in message and message.startswith(f"{tool} failed: "), f"crash for {args!r}"
            if any(marker in message for marker in LOCAL_REFUSALS):
                sent = [r for r in sandbox.requests() if r.endpoint not in DIRECTORY_READS]
                assert sent == [], (args, message, sent)

    check()
    sandbox.reset(issues=60)


def test_fuzz_case_count_is_reported() -> None:
    """Runs after the fuzz tests (file order); prints the count for the closing note."""
    if not CASES:
        pytest.skip("fuzz tests not selected")
    assert len(CASES) >= EXAMPLES_PER_TOOL * len(TOOL_NAMES) * 0.9
    print(f"\nfuzzed tool calls: {len(CASES)} ({len(CASES) // len(TOOL_NAMES)} per tool)")
