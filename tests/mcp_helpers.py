"""Helpers for driving the server through a real MCP client session."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from mcp import Client
from mcp_types import CallToolResult

from pylon_mcp.config import Settings
from pylon_mcp.pylon.auth import Secret
from pylon_mcp.server import PylonMCPServer, build_server
from tests.conftest import TOKEN

# A handshake-era initialize request, for tests that speak raw JSON-RPC.
INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {
        "protocolVersion": "2025-06-18",
        "capabilities": {},
        "clientInfo": {"name": "t", "version": "1"},
    },
}


def settings_for(url: str, **changes: Any) -> Settings:
    return Settings(api_token=Secret(TOKEN), api_url=url, timeout=5).with_(**changes)


@asynccontextmanager
async def connect(url: str, *, mode: str = "auto", **changes: Any) -> AsyncIterator[Client]:
    server: PylonMCPServer = build_server(settings_for(url, **changes))
    async with Client(server, mode=mode, cache=None) as client:
        yield client


def text(result: CallToolResult) -> str:
    return "\n".join(block.text for block in result.content if block.type == "text")


async def call(client: Client, name: str, arguments: dict[str, Any]) -> CallToolResult:
    return await client.call_tool(name, arguments)


async def ok(client: Client, name: str, arguments: dict[str, Any]) -> CallToolResult:
    result = await client.call_tool(name, arguments)
    assert not result.is_error, text(result)
    return result


async def fails(client: Client, name: str, arguments: dict[str, Any]) -> str:
    result = await client.call_tool(name, arguments)
    assert result.is_error, text(result)
    return text(result)
