"""Argument shapes models send, and the messages bad ones get (issue 14, items 9, 10, 27).

Every case goes through a real MCP client session against the sandbox, and every
refusal is checked to have sent nothing upstream.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from mcp import Client
from pydantic import ValidationError

from pylon_mcp.config import Settings
from pylon_mcp.pylon.auth import Secret
from pylon_mcp.sandbox import Sandbox
from pylon_mcp.server import argument_metadata, build_server, tool_schemas
from pylon_mcp.surface.tools.registry import TOOLS
from tests.conftest import TOKEN
from tests.mcp_helpers import connect, fails, ok, text

pytestmark = pytest.mark.anyio


@pytest.fixture
async def client(sandbox_url: str) -> AsyncIterator[Client]:
    async with connect(sandbox_url, enable_delete=True) as c:
        yield c


def _searches(sandbox: Sandbox) -> list[Any]:
    return [r.body for r in sandbox.requests() if r.endpoint == "POST /issues/search"]


# --- item 9: a scalar wherever a list is wanted; a date as the start of that day -------------


def _list_arguments() -> list[tuple[str, str, Any]]:
    """(tool, argument, a valid single item) for every list-typed argument of every tool."""
    out = []
    for spec in TOOLS:
        for name, prop in tool_schemas(spec)["input"].get("properties", {}).items():
            options = [prop, *prop.get("anyOf", [])]
            array = next((o for o in options if o.get("type") == "array"), None)
            if array is not None:
                items = array.get("items", {})
                out.append((spec.name, name, (items.get("enum") or ["x1"])[0]))
    return out


LIST_ARGUMENTS = _list_arguments()


def test_the_list_arguments_include_the_known_ones() -> None:
    # Guards the parametrised test below against silently checking nothing; new tools' list
    # arguments join it on their own.
    assert {(tool, arg) for tool, arg, _ in LIST_ARGUMENTS} >= {
        ("get_issue", "include"),
        ("search_issues", "state"),
        ("search_issues", "tags"),
        ("create_issue", "tags"),
        ("update_issue", "tags"),
        ("update_issue", "add_tags"),
        ("update_issue", "remove_tags"),
        ("manage_followers", "user_ids"),
        ("manage_followers", "contact_ids"),
    }


@pytest.mark.parametrize(("tool", "argument", "item"), LIST_ARGUMENTS)
def test_every_list_argument_accepts_one_bare_item(tool: str, argument: str, item: Any) -> None:
    spec = next(s for s in TOOLS if s.name == tool)
    model = argument_metadata(spec, {}).arg_model
    try:
        parsed: Any = model.model_validate({argument: item})
        errors: list[Any] = []
    except ValidationError as exc:  # other required arguments may be missing; this one must pass
        parsed, errors = None, [e for e in exc.errors() if e["loc"][:1] == (argument,)]
    assert errors == []
    if parsed is not None:
        assert getattr(parsed, argument) == [item]


async def test_scalar_tags_and_state_search_like_lists(client: Client, sandbox: Sandbox) -> None:
    # Warm the directory first: a cold search may show an email where a warm one shows the name.
    await ok(client, "search_issues", {"tags": ["bug"], "state": ["new"], "limit": 5})
    scalar = await ok(client, "search_issues", {"tags": "bug", "state": "new", "limit": 5})
    listed = await ok(client, "search_issues", {"tags": ["bug"], "state": ["new"], "limit": 5})
    assert text(scalar) == text(listed)
    warm_up, first, second = _searches(sandbox)
    assert warm_up == first == second


async def test_scalar_add_tags_updates(client: Client, sandbox: Sandbox) -> None:
    result = await ok(client, "update_issue", {"issue_id": "7", "add_tags": "scalar-tag"})
    assert "+scalar-tag" in text(result)
    assert "scalar-tag" in sandbox.store.find("7").tags


async def test_date_only_time_means_start_of_that_day_utc(client: Client, sandbox: Sandbox) -> None:
    await ok(client, "search_issues", {"created_after": "2026-11-20", "updated_before": "2026-11-30"})
    (body,) = _searches(sandbox)
    leaves = {f["field"]: f for f in body["filter"]["subfilters"]}
    assert leaves["created_at"] == {"field": "created_at", "operator": "time_is_after",
                                    "value": "2026-11-20T00:00:00Z"}  # fmt: skip
    assert leaves["updated_at"]["value"] == "2026-11-30T00:00:00Z"


# --- item 27: loose coercions ----------------------------------------------------------------


async def test_a_boolean_is_never_a_count(client: Client, sandbox: Sandbox) -> None:
    message = await fails(client, "search_issues", {"limit": True})
    assert "limit: must be a whole number, not true/false" in message
    message = await fails(client, "get_issue", {"issue_id": "7", "body_offset": False})
    assert "body_offset: must be a whole number, not true/false" in message
    assert sandbox.requests() == []
    await ok(client, "search_issues", {"limit": "3", "state": "new"})  # numeric strings stay accepted
    (body,) = _searches(sandbox)
    assert body["limit"] == 3


@pytest.mark.parametrize("word", ["search", "followers", "snooze", "me", "new"])
async def test_a_word_is_not_an_issue_id(client: Client, sandbox: Sandbox, word: str) -> None:
    for tool, extra in (("get_issue", {}), ("update_issue", {"state": "closed"}), ("delete_issue", {})):
        message = await fails(client, tool, {"issue_id": word, **extra})
        assert f"issue_id {word!r} is neither an issue ID nor an issue number" in message
    assert sandbox.requests() == []


async def test_uuid_and_numbers_still_work(client: Client, sandbox: Sandbox) -> None:
    issue_id = sandbox.store.find("7").id
    for ref in (issue_id, "7", 7, "#7"):
        assert (await ok(client, "get_issue", {"issue_id": ref})).structured_content["number"] == 7  # type: ignore[index]


# --- item 10: messages that help -------------------------------------------------------------


async def test_filter_depth_limit_is_said_in_pylons_terms(client: Client, sandbox: Sandbox) -> None:
    leaf = {"field": "state", "operator": "equals", "value": "new"}
    deep = {"operator": "and", "subfilters": [{"operator": "or", "subfilters": [{"operator": "and",
            "subfilters": [leaf]}]}]}  # fmt: skip
    message = await fails(client, "search_issues", {"filter": deep})
    assert "filters nest at most 3 levels (Pylon's limit)" in message
    assert "Extra inputs are not permitted" not in message
    message = await fails(client, "search_issues", {"filter": {**leaf, "op": "x"}})
    assert "unknown filter key 'op'; a filter has field, operator, value, values, subfilters" in message
    assert sandbox.requests() == []


@pytest.mark.parametrize("empty", ["", "   "])
async def test_empty_issue_id_says_what_to_give(client: Client, sandbox: Sandbox, empty: str) -> None:
    message = await fails(client, "get_issue", {"issue_id": empty})
    assert 'issue_id: is empty; give an issue ID or its number, e.g. "42"' in message
    assert "item" not in message
    assert sandbox.requests() == []


async def test_bad_state_in_search_lists_the_states(client: Client, sandbox: Sandbox) -> None:
    # Checked against the organisation's statuses (issue 12) before the search is sent.
    message = await fails(client, "search_issues", {"state": "bogus"})
    assert "no status is called 'bogus'. This organisation's statuses: " in message
    assert "slug waiting_on_customer" in message and "slug pending_release" in message  # custom ones too
    assert "named above" not in message
    assert _searches(sandbox) == []


async def test_resource_not_found_does_not_point_at_arguments(client: Client) -> None:
    with pytest.raises(Exception) as caught:
        await client.read_resource("pylon://issues/state/bogus")
    assert "invalid state" in str(caught.value) and "named above" not in str(caught.value)


async def test_unreachable_pylon_says_retrying_will_not_help() -> None:
    # Nothing listens on port 1: the connection is refused, as with a wrong port or a DNS failure.
    server = build_server(Settings(api_token=Secret(TOKEN), api_url="http://127.0.0.1:1", timeout=5))
    async with Client(server) as c:
        message = await fails(c, "get_issue", {"issue_id": "7"})
    assert "connecting to http://127.0.0.1:1" in message
    assert "retrying will not help" in message and "PYLON_API_URL" in message
    assert "Retrying later may work" not in message


async def test_summarize_recent_refuses_bad_days_and_priority(sandbox_url: str) -> None:
    async with connect(sandbox_url) as c:
        for arguments, fragment in (
            ({"days": "abc"}, "days must be a whole number from 1 to 365 (got 'abc')"),
            ({"days": "0"}, "days must be a whole number from 1 to 365"),
            ({"days": "7", "priority": "critical"}, "priority must be one of urgent, high, medium, low"),
        ):
            with pytest.raises(Exception) as caught:
                await c.get_prompt("summarize_recent", arguments)
            assert fragment in str(caught.value)
        good = await c.get_prompt("summarize_recent", {"days": "3", "priority": "high"})
        assert "last 3 days" in good.messages[0].content.text  # type: ignore[union-attr]


async def test_a_bad_time_is_taught_both_shapes(client: Client, sandbox: Sandbox) -> None:
    message = await fails(client, "search_issues", {"created_after": "20 Nov 2026"})
    assert "use e.g. 2026-05-01T09:30:00Z" in message
    assert "a date alone (2026-05-01) means 00:00 UTC that day" in message
    message = await fails(client, "snooze_issue", {"issue_id": "7", "snooze_until": "next week"})
    assert "a date alone (2026-05-01) means 00:00 UTC that day" in message
    assert sandbox.requests() == []
