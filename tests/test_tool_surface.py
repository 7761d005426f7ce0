"""What a model sees: tools/list snapshot, annotations, selection, argument checks.

The snapshot (tests/snapshots/tools_list.json) is the reviewable record of the
surface. After a deliberate change: UPDATE_SNAPSHOTS=1 pytest tests/test_tool_surface.py
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from mcp import Client

from pylon_mcp import __version__
from pylon_mcp.config import ConfigError, Settings
from pylon_mcp.pylon.auth import Secret
from pylon_mcp.server import build_server
from pylon_mcp.tools.registry import DEFAULT_TOOL_NAMES, TOOL_NAMES, TOOLS, select_tools
from tests.mcp_helpers import connect, fails

pytestmark = pytest.mark.anyio

SNAPSHOT = Path(__file__).parent / "snapshots" / "tools_list.json"
HINTS = ("readOnlyHint", "destructiveHint", "idempotentHint", "openWorldHint")


async def tools_list(**changes: Any) -> list[dict[str, Any]]:
    server = build_server(Settings(api_token=Secret("x"), api_url="http://127.0.0.1:9").with_(**changes))
    async with Client(server, cache=None) as client:
        listing = await client.list_tools()
    return [tool.model_dump(by_alias=True, mode="json", exclude_none=True) for tool in listing.tools]


async def test_tools_list_matches_the_snapshot() -> None:
    current = await tools_list(enable_delete=True)
    rendered = json.dumps(current, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    if os.environ.get("UPDATE_SNAPSHOTS") == "1":
        SNAPSHOT.write_text(rendered)
    assert SNAPSHOT.exists(), "run with UPDATE_SNAPSHOTS=1 to create the snapshot"
    assert rendered == SNAPSHOT.read_text(), (
        "tools/list changed. If deliberate, run UPDATE_SNAPSHOTS=1 pytest tests/test_tool_surface.py "
        "and review the diff of tests/snapshots/tools_list.json"
    )


async def test_every_tool_has_a_title_and_all_four_hints() -> None:
    for tool in await tools_list(enable_delete=True):
        annotations = tool.get("annotations", {})
        assert tool.get("title") and annotations.get("title"), tool["name"]
        for hint in HINTS:
            assert isinstance(annotations.get(hint), bool), f"{tool['name']} lacks {hint}"


async def test_hints_are_truthful() -> None:
    by_name = {tool["name"]: tool["annotations"] for tool in await tools_list(enable_delete=True)}
    for name in ("get_issue", "search_issues"):
        assert by_name[name]["readOnlyHint"] and not by_name[name]["destructiveHint"]
    for name in ("create_issue", "update_issue", "snooze_issue", "manage_followers", "delete_issue"):
        assert not by_name[name]["readOnlyHint"], name
    assert not by_name["create_issue"]["idempotentHint"]  # two calls, two issues
    assert not by_name["create_issue"]["destructiveHint"]  # purely additive
    assert by_name["delete_issue"]["destructiveHint"] and by_name["update_issue"]["destructiveHint"]


async def test_schemas_have_no_refs_and_output_schemas_are_objects() -> None:
    for tool in await tools_list(enable_delete=True):
        blob = json.dumps(tool)
        assert "$ref" not in blob and "$defs" not in blob, tool["name"]
        assert tool["inputSchema"]["type"] == "object"
        assert tool["outputSchema"]["type"] == "object"
        assert len(tool["description"]) < 400, tool["name"]


async def test_argument_names_are_pylons_field_names() -> None:
    props = {
        tool["name"]: set(tool["inputSchema"]["properties"]) for tool in await tools_list(enable_delete=True)
    }
    assert {
        "title",
        "body_html",
        "requester_email",
        "account_id",
        "assignee_id",
        "team_id",
        "tags",
        "priority",
    } <= props["create_issue"]
    assert {"issue_id", "state", "assignee_id", "team_id", "tags"} <= props["update_issue"]
    assert {"issue_id", "snooze_until"} == props["snooze_issue"]
    assert {"issue_id", "operation", "user_ids", "contact_ids"} == props["manage_followers"]
    assert {"filter", "limit", "cursor", "state", "tags"} <= props["search_issues"]


async def test_enums_where_the_spec_has_them() -> None:
    schemas = {tool["name"]: tool["inputSchema"]["properties"] for tool in await tools_list()}
    assert schemas["create_issue"]["priority"]["enum"] == ["urgent", "high", "medium", "low"]
    assert schemas["manage_followers"]["operation"]["enum"] == ["add", "remove"]
    assert "custom status slug" in schemas["update_issue"]["state"]["description"]
    assert schemas["search_issues"]["limit"]["maximum"] == 100


async def test_default_tools_and_server_info(sandbox_url: str) -> None:
    async with connect(sandbox_url, mode="legacy") as client:
        names = [tool.name for tool in (await client.list_tools()).tools]
        assert client.server_info is not None
        assert client.server_info.name == "pylon" and client.server_info.version == __version__
        assert "customers" in (client.instructions or "")
    assert tuple(names) == DEFAULT_TOOL_NAMES
    assert "delete_issue" in TOOL_NAMES and "delete_issue" not in DEFAULT_TOOL_NAMES


def test_allowlist_and_denylist() -> None:
    offered, refused = select_tools(Settings(tools=("get_issue", "update_issue")))
    assert [t.name for t in offered] == ["get_issue", "update_issue"]
    assert "PYLON_TOOLS" in refused["search_issues"]
    offered, refused = select_tools(Settings(exclude_tools=("create_issue",)))
    assert (
        "create_issue" not in [t.name for t in offered] and "PYLON_EXCLUDE_TOOLS" in refused["create_issue"]
    )
    with pytest.raises(ConfigError, match=r"unknown tool.*get_isue.*known: get_issue"):
        select_tools(Settings(tools=("get_isue",)))


async def test_excluded_tool_is_refused_with_the_reason(sandbox_url: str) -> None:
    async with connect(sandbox_url, exclude_tools=("create_issue",)) as client:
        message = await fails(client, "create_issue", {"title": "x", "body_html": "b", "account_id": "a"})
    assert "excluded by this server's PYLON_EXCLUDE_TOOLS" in message


async def test_unknown_tool_is_an_error_result(sandbox_url: str) -> None:
    async with connect(sandbox_url) as client:
        assert "Unknown tool" in await fails(client, "list_everything", {})


def test_registry_covers_every_tool_once() -> None:
    assert len(TOOL_NAMES) == len(set(TOOL_NAMES)) == len(TOOLS) == 7


def test_the_schema_cache_is_fresh_and_equals_live_generation() -> None:
    from pylon_mcp.server import tool_schemas
    from pylon_mcp.tools import schema_cache

    live = {spec.name: tool_schemas(spec) for spec in TOOLS}
    if os.environ.get("UPDATE_SNAPSHOTS") == "1":
        schema_cache.write(live)
    cached = schema_cache.load()
    assert cached is not None, (
        "pylon_mcp/tools/schemas.json is stale: UPDATE_SNAPSHOTS=1 pytest tests/test_tool_surface.py"
    )
    assert cached == live


def test_a_stale_schema_cache_is_ignored(monkeypatch: pytest.MonkeyPatch) -> None:
    from pylon_mcp.tools import schema_cache

    monkeypatch.setattr(schema_cache, "fingerprint", lambda: "something else")
    assert schema_cache.load() is None  # build_server then generates the schemas live
