"""What a model sees: tools/list snapshot, annotations, selection, argument checks.

The snapshots (tests/snapshots/tools/<name>.json, one per tool) are the reviewable
record of the surface. After a deliberate change: UPDATE_SNAPSHOTS=1 pytest tests/test_tool_surface.py
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
from pylon_mcp.surface.tools.registry import DEFAULT_TOOL_NAMES, TOOL_NAMES, TOOLS, select_tools
from tests.mcp_helpers import connect, fails

pytestmark = pytest.mark.anyio

SNAPSHOTS = Path(__file__).parent / "snapshots" / "tools"
HINTS = ("readOnlyHint", "destructiveHint", "idempotentHint", "openWorldHint")


async def tools_list(**changes: Any) -> list[dict[str, Any]]:
    server = build_server(Settings(api_token=Secret("x"), api_url="http://127.0.0.1:9").with_(**changes))
    async with Client(server, cache=None) as client:
        listing = await client.list_tools()
    return [tool.model_dump(by_alias=True, mode="json", exclude_none=True) for tool in listing.tools]


async def test_tools_list_matches_the_snapshots() -> None:
    """One file per tool, so a change to one tool's surface is one small diff in review."""
    current = {
        tool["name"]: tool for tool in await tools_list(enable_delete=True, allow_customer_replies=True)
    }
    rendered = {
        name: json.dumps(tool, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
        for name, tool in current.items()
    }
    if os.environ.get("UPDATE_SNAPSHOTS") == "1":
        SNAPSHOTS.mkdir(parents=True, exist_ok=True)
        for stale in SNAPSHOTS.glob("*.json"):
            if stale.stem not in rendered:
                stale.unlink()
        for name, text in rendered.items():
            (SNAPSHOTS / f"{name}.json").write_text(text)
    on_disk = {path.stem: path.read_text() for path in SNAPSHOTS.glob("*.json")}
    hint = "If deliberate, run UPDATE_SNAPSHOTS=1 pytest tests/test_tool_surface.py and review the diff"
    assert sorted(on_disk) == sorted(rendered), f"tools added or removed. {hint}"
    for name, text in rendered.items():
        assert text == on_disk[name], (
            f"tools/list changed for {name}. {hint} of tests/snapshots/tools/{name}.json"
        )
    # The order tools are listed in is part of the surface too.
    assert list(current) == [tool.name for tool in TOOLS]


async def test_every_tool_has_a_title_and_all_four_hints() -> None:
    for tool in await tools_list(enable_delete=True, allow_customer_replies=True):
        annotations = tool.get("annotations", {})
        assert tool.get("title") and annotations.get("title"), tool["name"]
        for hint in HINTS:
            assert isinstance(annotations.get(hint), bool), f"{tool['name']} lacks {hint}"


async def test_hints_are_truthful() -> None:
    by_name = {
        tool["name"]: tool["annotations"]
        for tool in await tools_list(enable_delete=True, allow_customer_replies=True)
    }
    for name in ("get_issue", "search_issues"):
        assert by_name[name]["readOnlyHint"] and not by_name[name]["destructiveHint"]
    for name in ("create_issue", "update_issue", "snooze_issue", "manage_followers", "delete_issue"):
        assert not by_name[name]["readOnlyHint"], name
    assert not by_name["create_issue"]["idempotentHint"]  # two calls, two issues
    assert not by_name["create_issue"]["destructiveHint"]  # purely additive
    assert by_name["delete_issue"]["destructiveHint"] and by_name["update_issue"]["destructiveHint"]


async def test_schemas_have_no_refs_and_output_schemas_are_objects() -> None:
    for tool in await tools_list(enable_delete=True, allow_customer_replies=True):
        blob = json.dumps(tool)
        assert "$ref" not in blob and "$defs" not in blob, tool["name"]
        assert tool["inputSchema"]["type"] == "object"
        assert tool["outputSchema"]["type"] == "object"
        assert len(tool["description"]) < 400, tool["name"]


async def test_argument_names_are_pylons_field_names() -> None:
    props = {
        tool["name"]: set(tool["inputSchema"]["properties"])
        for tool in await tools_list(enable_delete=True, allow_customer_replies=True)
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
    assert "custom status (slug or label)" in schemas["update_issue"]["state"]["description"]
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
        assert (await fails(client, "list_everything", {})).startswith(
            "list_everything failed: there is no tool"
        )


def test_registry_covers_every_tool_once() -> None:
    assert len(TOOL_NAMES) == len(set(TOOL_NAMES)) == len(TOOLS) == 17


def test_the_schema_cache_round_trips_and_equals_live_generation(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pylon_mcp.server import build_tools, tool_schemas
    from pylon_mcp.surface.tools import schema_cache

    monkeypatch.setenv("PYLON_MCP_CACHE_DIR", str(tmp_path))
    key = schema_cache.fingerprint()
    assert key is not None and schema_cache.load(key) is None
    build_tools(list(TOOLS))  # the first start writes the cache
    assert [path.name for path in tmp_path.iterdir()] == [f"tool-schemas-{key}.json"]
    assert schema_cache.load(key) == {spec.name: tool_schemas(spec) for spec in TOOLS}
    assert schema_cache.load("another-version") is None  # a new fingerprint never reads an old file
    schema_cache.write("another-version", {})
    assert [path.name for path in tmp_path.iterdir()] == ["tool-schemas-another-version.json"]


def test_the_schema_cache_key_covers_the_whole_package() -> None:
    """Models, rendering and the client shape the schemas too: the key must see every source file,
    wherever schema_cache.py itself sits in the tree."""
    import pylon_mcp
    from pylon_mcp.surface.tools import schema_cache

    root = Path(pylon_mcp.__file__).resolve().parent
    assert root == schema_cache._PACKAGE
    names = [name for name, _, _ in schema_cache._sources(str(schema_cache._PACKAGE))]
    assert "pylon/models.py" in names
    assert sorted(names) == sorted(path.relative_to(root).as_posix() for path in root.rglob("*.py"))


def test_an_unwritable_or_corrupt_schema_cache_falls_back_to_live_generation(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pylon_mcp.server import build_tools
    from pylon_mcp.surface.tools import schema_cache

    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    monkeypatch.setenv("PYLON_MCP_CACHE_DIR", str(blocker / "sub"))
    assert [tool.name for tool in build_tools(list(TOOLS))] == list(TOOL_NAMES)
    monkeypatch.setenv("PYLON_MCP_CACHE_DIR", str(tmp_path))
    key = schema_cache.fingerprint()
    assert key is not None
    schema_cache.cache_file(key).write_text("{not json")
    assert schema_cache.load(key) is None
    assert [tool.name for tool in build_tools(list(TOOLS))] == list(TOOL_NAMES)
