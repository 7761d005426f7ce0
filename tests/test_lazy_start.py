"""Start-up loads no tool module: tools/list is answered from the registry and the schema cache.

Cold start is a product metric (benchmark 1). With a warm schema cache, a server that has
been built, initialized and asked for tools/list has imported none of the tool modules, their
renderers or the domain code behind them; each loads on its tool's first call. Resources and
prompts are registered on the first request about them. Checked in a fresh interpreter, so
what the test process already imported does not count.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from mcp import Client

from pylon_mcp.server import PylonMCPServer, _not_loaded, build_server, build_tools, tool_schemas
from pylon_mcp.surface.tools import schema_cache
from pylon_mcp.surface.tools.registry import TOOL_NAMES, TOOL_PACKAGE, TOOLS
from tests.mcp_helpers import fails, settings_for

pytestmark = pytest.mark.anyio

# Imported only for a tool call or a resource read, never to list tools.
LAZY_MODULES = sorted(
    {f"{TOOL_PACKAGE}.{spec.module}" for spec in TOOLS}
    | {
        f"{TOOL_PACKAGE}.args",
        f"{TOOL_PACKAGE}.posting",
        "pylon_mcp.customers",
        "pylon_mcp.fetch",
        "pylon_mcp.idempotency",
        "pylon_mcp.render.attachments",
        "pylon_mcp.render.customers",
        "pylon_mcp.render.html",
        "pylon_mcp.render.issues",
        "pylon_mcp.render.knowledge",
        "pylon_mcp.render.messages",
    }
)

# Build the server with every tool on, start it (lifespan), initialize and list tools in-process.
START_AND_LIST = """
import json, sys
import anyio
from mcp import Client
from pylon_mcp.config import Settings
from pylon_mcp.pylon.auth import Secret
from pylon_mcp.server import build_server

async def main():
    settings = Settings(api_token=Secret("x"), api_url="http://127.0.0.1:9", enable_delete=True,
                        allow_customer_replies=True)
    server = build_server(settings)
    async with Client(server, cache=None) as client:
        listed = (await client.list_tools()).tools
    registered = len(server._resource_manager.list_templates()) + len(server._prompt_manager.list_prompts())
    imported = sorted(m for m in sys.argv[1:] if m in sys.modules)
    print(json.dumps({"tools": len(listed), "imported": imported, "templates and prompts": registered}))

anyio.run(main)
"""


def _start_and_list(cache: Path) -> dict[str, object]:
    env = {**os.environ, "PYLON_MCP_CACHE_DIR": str(cache)}
    out = subprocess.run(
        [sys.executable, "-c", START_AND_LIST, *LAZY_MODULES],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
        env=env,
    )
    result: dict[str, object] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def test_a_warm_start_lists_tools_without_importing_any_tool_module(tmp_path: Path) -> None:
    cold = _start_and_list(tmp_path)  # no cache yet: the schemas are generated from the functions
    # So every module named here is real. Resources and prompts wait for the first request about them.
    assert cold == {"tools": len(TOOLS), "imported": LAZY_MODULES, "templates and prompts": 0}
    warm = _start_and_list(tmp_path)
    assert warm == {"tools": len(TOOLS), "imported": [], "templates and prompts": 0}


def test_every_tool_names_its_function() -> None:
    for spec in TOOLS:
        assert spec.fn.__name__ == spec.name
        assert spec.fn.__module__ == f"{TOOL_PACKAGE}.{spec.module}"


async def test_a_tool_loads_on_its_first_call_with_the_usual_errors(sandbox_url: str) -> None:
    build_tools(list(TOOLS))  # the schema cache is warm, as at every start but a machine's first
    server: PylonMCPServer = build_server(settings_for(sandbox_url))
    tool = server._tool_manager.get_tool("snooze_issue")
    assert tool is not None and tool.fn is _not_loaded
    async with Client(server, cache=None) as client:
        first = await fails(client, "snooze_issue", {"issue_id": "1", "snooze_until": "soon"})
        assert tool.fn is TOOLS[TOOL_NAMES.index("snooze_issue")].fn
        again = await fails(client, "snooze_issue", {"issue_id": "1", "snooze_until": "soon"})
        unknown = await fails(client, "get_issue", {"issue_id": "1", "colour": "red"})
    assert first == again and first.startswith("snooze_issue failed: invalid argument 'snooze_until'")
    assert "no argument(s) 'colour'" in unknown


def test_a_cache_entry_without_a_description_is_generated_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A cache written before descriptions were cached (or damaged) must not publish an empty description."""
    monkeypatch.setenv("PYLON_MCP_CACHE_DIR", str(tmp_path))
    key = schema_cache.fingerprint()
    live = {spec.name: tool_schemas(spec) for spec in TOOLS}
    old = {name: {"input": entry["input"], "output": entry["output"]} for name, entry in live.items()}
    schema_cache.write(key, old)
    built = build_tools(list(TOOLS))
    assert [tool.description for tool in built] == [live[spec.name]["description"] for spec in TOOLS]
    assert schema_cache.load(key) == live  # and the file is whole again


async def test_resources_and_prompts_are_registered_once_by_whichever_request_comes_first(
    sandbox_url: str,
) -> None:
    async with Client(build_server(settings_for(sandbox_url)), cache=None) as client:
        prompt = await client.get_prompt("summarize_recent", {"days": "3"})
        assert "search_issues" in str(prompt.messages[0].content)
        names = [p.name for p in (await client.list_prompts()).prompts]
        assert names == ["triage_issue", "draft_reply", "summarize_recent"]
        templates = [t.name for t in (await client.list_resource_templates()).resource_templates]
        assert len(templates) == len(set(templates)) and "issue" in templates
    async with Client(build_server(settings_for(sandbox_url)), cache=None) as client:
        read = await client.read_resource("pylon://issues/1")
        assert "#1" in str(read.contents[0])
        assert [r.name for r in (await client.list_resources()).resources] == ["recent_issues"]
