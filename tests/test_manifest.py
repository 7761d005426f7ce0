"""The MCPB bundle manifest (manifest.json): it must describe, and start, the server that really runs.

Claude Desktop installs the bundle from this file alone: the tools it shows, the settings it asks
for, and the command it spawns. These tests resolve `mcp_config` with mcpb's own code (in node) and run it.
Schema validity is checked by `npx -y @anthropic-ai/mcpb@2.1 validate manifest.json` (needs node).
"""

from __future__ import annotations

import functools
import json
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest
from mcp import Client, StdioServerParameters

from pylon_mcp import __version__
from pylon_mcp.config import OPTIONS, Settings
from pylon_mcp.pylon.auth import Secret
from pylon_mcp.pylon.client import resolve_base_url
from pylon_mcp.pylon.errors import EU_BASE_URL, US_BASE_URL
from pylon_mcp.server import build_server
from pylon_mcp.surface.tools.registry import DEFAULT_TOOL_NAMES
from tests.conftest import TOKEN
from tests.mcp_helpers import fails, ok

pytestmark = pytest.mark.anyio

ROOT = Path(__file__).resolve().parent.parent
MANIFEST: dict[str, Any] = json.loads((ROOT / "manifest.json").read_text(encoding="utf-8"))
USER_CONFIG: dict[str, dict[str, Any]] = MANIFEST["user_config"]
MCP_CONFIG: dict[str, Any] = MANIFEST["server"]["mcp_config"]
PLACEHOLDER = re.compile(r"\$\{([^}]+)\}")
BUNDLE_DIR = "/opt/claude/extensions/pylon-mcp"  # what ${__dirname} becomes: any absolute path will do
OPTION_BY_ENV = {option.env: option for option in OPTIONS}
# The manifest's user_config type for each kind of server option (config.OPTIONS).
CONFIG_TYPE = {
    bool: "boolean",
    int: "number",
    float: "number",
    str: "string",
    "secret": "string",
    "list": "string",
}

MCPB_VERSION = "2.1"  # the version .ci/run validates the manifest with


@functools.cache
def mcpb_dir() -> Path:
    """A node_modules holding @anthropic-ai/mcpb, installed once per run (npm caches it)."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        pytest.skip("node and npm are needed to resolve mcp_config with mcpb itself")
    prefix = Path(tempfile.mkdtemp(prefix="pylon-mcp-mcpb-"))
    subprocess.run(
        ["npm", "install", "--silent", "--no-audit", "--no-fund", "--prefix", str(prefix),
         f"@anthropic-ai/mcpb@{MCPB_VERSION}"],
        check=True, timeout=300, capture_output=True,
    )  # fmt: skip
    shutil.copy(ROOT / "tests" / "mcpb_resolve.mjs", prefix / "resolve.mjs")
    return prefix


def host_config(user: dict[str, Any]) -> dict[str, Any]:
    """mcp_config as Claude Desktop resolves it: mcpb's own getMcpConfigForManifest, run in node."""
    prefix = mcpb_dir()
    out = subprocess.run(
        ["node", str(prefix / "resolve.mjs"), str(ROOT / "manifest.json"), json.dumps(user), BUNDLE_DIR],
        check=True, timeout=60, capture_output=True, text=True, cwd=prefix,
    )  # fmt: skip
    config: dict[str, Any] = json.loads(out.stdout)
    return {"command": config["command"], "args": config.get("args", []), "env": config.get("env", {})}


# The bundle is a `uv` bundle: the host runs `uv run --directory <bundle dir> python -m pylon_mcp`,
# and uv makes a virtualenv from the bundled pyproject.toml. A test run has no unpacked bundle at
# <bundle dir>, and may have neither uv nor PyPI, so exactly this is mapped: the command `uv` with
# the leading args `run --directory ${__dirname} python` becomes sys.executable (this venv, where
# pylon_mcp is installed), run in the repository root (what the bundle holds). The rest of the args
# (`-m pylon_mcp`) and the whole env are used as the manifest resolves them. Any other command
# fails here on purpose: a changed mcp_config needs its own mapping, not a silent pass.
UV_PREFIX = ["run", "--directory", BUNDLE_DIR, "python"]


def local_server(user: dict[str, Any]) -> StdioServerParameters:
    config = host_config(user)
    assert config["command"] == "uv" and config["args"][: len(UV_PREFIX)] == UV_PREFIX, (
        f"mcp_config is not `uv {' '.join(UV_PREFIX)} ...` any more: update the mapping in this test"
    )
    return StdioServerParameters(
        command=sys.executable, args=config["args"][len(UV_PREFIX) :], env=config["env"], cwd=ROOT
    )


def first_sentence(description: str) -> str:
    return description.split(". ", 1)[0].rstrip(".") + "."


async def server_tools() -> dict[str, str]:
    server = build_server(Settings(api_token=Secret("x"), api_url="http://127.0.0.1:9"))
    async with Client(server, cache=None) as client:
        return {tool.name: tool.description or "" for tool in (await client.list_tools()).tools}


# --- (1) tools, (2) version and metadata -----------------------------------------------------


async def test_manifest_tools_are_the_servers_default_tools() -> None:
    listed = [tool["name"] for tool in MANIFEST["tools"]]
    assert listed == list(DEFAULT_TOOL_NAMES)
    assert "delete_issue" not in listed and MANIFEST.get("tools_generated") is False
    described = await server_tools()
    for tool in MANIFEST["tools"]:
        # The manifest shows the first sentence of the server's own description, word for word.
        assert tool["description"] == first_sentence(described[tool["name"]]), tool["name"]


def test_manifest_version_and_metadata() -> None:
    assert MANIFEST["version"] == __version__
    assert MANIFEST["name"] == "pylon-mcp" and MANIFEST["license"] == "MIT"
    # server.type "uv" exists from manifest 0.4 on; uv installs what the bundled pyproject.toml lists.
    assert MANIFEST["server"]["type"] == "uv" and MANIFEST["manifest_version"] == "0.4"
    assert (ROOT / MANIFEST["server"]["entry_point"]).is_file() and (ROOT / "pyproject.toml").is_file()
    assert MANIFEST["compatibility"]["runtimes"]["python"] == ">=3.11"
    assert 'requires-python = ">=3.11"' in (ROOT / "pyproject.toml").read_text(encoding="utf-8")


# --- (3) the resolved mcp_config starts a working stdio server, (4) read-only ------------------


@pytest.mark.slow
async def test_mcp_config_starts_a_stdio_server(sandbox_url: str) -> None:
    params = local_server({"api_token": TOKEN, "api_url": sandbox_url, "read_only": False})
    assert params.env is not None and params.env["PYLON_MCP_TRANSPORT"] == "stdio"
    async with Client(params, mode="legacy") as client:
        names = [tool.name for tool in (await client.list_tools()).tools]
        assert client.server_info is not None and client.server_info.version == __version__
        # The sandbox only answers the right token: the token and URL both reached the server.
        await ok(client, "get_issue", {"issue_id": "1"})
    assert names == list(DEFAULT_TOOL_NAMES)


@pytest.mark.slow
async def test_read_only_switch_leaves_only_the_read_tools(sandbox_url: str) -> None:
    params = local_server({"api_token": TOKEN, "api_url": sandbox_url, "read_only": True})
    assert params.env is not None and params.env["PYLON_READ_ONLY"] == "true"
    async with Client(params, mode="legacy") as client:
        names = [tool.name for tool in (await client.list_tools()).tools]
        refusal = await fails(client, "create_issue", {"title": "x", "body_html": "b", "account_id": "a"})
    assert names == [
        "get_issue",
        "search_issues",
        "find",
        "get_account",
        "get_contact",
        "search_knowledge",
        "get_article",
        "get_issue_messages",
        "get_attachment",
    ]
    assert "read-only mode" in refusal


def test_bundle_installs_read_only() -> None:
    # A fresh install, where the user only pastes a token, must not be able to change issues.
    env = host_config({"api_token": TOKEN})["env"]
    assert env["PYLON_READ_ONLY"] == "true" and Settings.load(env).read_only


# --- (5) user_config and mcp_config agree ------------------------------------------------------


def test_every_user_config_key_is_used_and_every_reference_exists() -> None:
    referenced = set(PLACEHOLDER.findall(json.dumps(MCP_CONFIG))) - {"__dirname"}
    assert referenced == {f"user_config.{key}" for key in USER_CONFIG}


def test_env_names_are_real_options_with_matching_types() -> None:
    for name, value in MCP_CONFIG["env"].items():
        assert name in OPTION_BY_ENV, f"{name} is not an option the server reads (see config.OPTIONS)"
        for key in re.findall(r"\$\{user_config\.([^}]+)\}", value):
            assert USER_CONFIG[key]["type"] == CONFIG_TYPE[OPTION_BY_ENV[name].kind], (name, key)
    assert {"PYLON_API_TOKEN", "PYLON_API_URL", "PYLON_READ_ONLY"} <= set(MCP_CONFIG["env"])


def test_secrets_are_sensitive_and_travel_only_in_env() -> None:
    secret_keys = {
        key
        for name, value in MCP_CONFIG["env"].items()
        if OPTION_BY_ENV[name].kind == "secret"
        for key in re.findall(r"\$\{user_config\.([^}]+)\}", value)
    }
    assert secret_keys == {"api_token"}
    for key in secret_keys:
        assert USER_CONFIG[key].get("sensitive") is True and USER_CONFIG[key].get("required") is True
    for key, option in USER_CONFIG.items():
        if option.get("sensitive"):
            assert key in secret_keys, f"{key} is marked sensitive but is not a secret option"
            # Arguments show up in process lists; the server's own help says to prefer the env var.
            assert all(f"user_config.{key}" not in arg for arg in MCP_CONFIG.get("args", [])), key


def test_unset_optional_settings_resolve_to_working_defaults() -> None:
    # An optional field without a default would reach the server as a literal "${user_config...}".
    for key, option in USER_CONFIG.items():
        assert option.get("required") or "default" in option, f"optional {key} needs a default"
    for token, region in ((TOKEN, US_BASE_URL), ("pylon_api_eu_0123456789abcdef", EU_BASE_URL)):
        env = host_config({"api_token": token})["env"]
        assert not any("${" in value for value in env.values()), env
        settings = Settings.load(env)
        assert settings.api_token.reveal() == token
        assert resolve_base_url(settings.api_token.reveal(), settings.api_url) == region
    env = host_config({"api_token": TOKEN, "api_url": "https://pylon-proxy.example.com"})["env"]
    assert Settings.load(env).api_url == "https://pylon-proxy.example.com"


def test_bundle_never_offers_customer_replies() -> None:
    # Even with writes switched on, the bundle pins the reply switch off in its own env block.
    env = host_config({"api_token": TOKEN, "read_only": False})["env"]
    settings = Settings.load({**env, "PYLON_ALLOW_CUSTOMER_REPLIES": env["PYLON_ALLOW_CUSTOMER_REPLIES"]})
    assert env["PYLON_ALLOW_CUSTOMER_REPLIES"] == "false" and not settings.read_only
    from pylon_mcp.surface.tools.registry import select_tools

    offered = [tool.name for tool in select_tools(settings)[0]]
    assert "add_internal_note" in offered and "send_customer_reply" not in offered
    assert all(tool["name"] != "send_customer_reply" for tool in MANIFEST["tools"])
