"""Bound to every interface (0.0.0.0, ::), as in the Docker image: the printed URL is one a client can
open, and the Docker demo command (an auth token, --demo) starts and answers there."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator

import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from pylon_mcp.cli import client_snippet
from pylon_mcp.config import Settings
from pylon_mcp.hosting.http import client_url, is_wildcard
from pylon_mcp.pylon.auth import Secret


@pytest.mark.parametrize(
    ("host", "url"),
    [
        ("0.0.0.0", "http://127.0.0.1:8000/mcp"),
        ("::", "http://[::1]:8000/mcp"),
        ("127.0.0.1", "http://127.0.0.1:8000/mcp"),
        ("::1", "http://[::1]:8000/mcp"),
        ("10.1.2.3", "http://10.1.2.3:8000/mcp"),
        ("localhost", "http://localhost:8000/mcp"),
    ],
)
def test_the_printed_url_is_one_a_client_can_open(host: str, url: str) -> None:
    assert client_url(host, 8000) == url
    assert is_wildcard(host) is (host in ("0.0.0.0", "::"))


def test_a_wildcard_bind_says_where_else_it_answers() -> None:
    wildcard = client_snippet("http://127.0.0.1:8000/mcp", Settings(host="0.0.0.0", auth_token=Secret("t")))
    assert "0.0.0.0" not in wildcard.splitlines()[0] and "every interface (0.0.0.0)" in wildcard
    assert "every interface" not in client_snippet("http://127.0.0.1:8000/mcp", Settings())


@pytest.fixture
def docker_demo() -> Iterator[tuple[str, list[str]]]:
    """What `docker run -e PYLON_MCP_AUTH_TOKEN=demo pylon-mcp --demo` runs, given the image's ENV:
    the printed endpoint URL and the first lines of stderr."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith("PYLON")}
    environ |= {"PYLON_MCP_TRANSPORT": "http", "PYLON_MCP_HOST": "0.0.0.0", "PYLON_MCP_PORT": "0",
                "PYLON_MCP_AUTH_TOKEN": "demo"}  # fmt: skip
    proc = subprocess.Popen(
        [sys.executable, "-m", "pylon_mcp", "--demo"],
        env=environ, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert proc.stderr is not None
        lines = [proc.stderr.readline() for _ in range(3)]
        endpoint = next((line for line in lines if line.startswith("MCP endpoint: ")), "")
        assert endpoint, lines
        yield endpoint.split()[2], lines
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=40)


@pytest.mark.slow
@pytest.mark.anyio
async def test_the_docker_demo_command_starts_and_answers_at_the_printed_url(
    docker_demo: tuple[str, list[str]],
) -> None:
    url, lines = docker_demo
    assert url.startswith("http://127.0.0.1:") and url.endswith("/mcp"), lines
    assert any("every interface (0.0.0.0)" in line for line in lines), lines
    async with (
        httpx2.AsyncClient(timeout=30, headers={"Authorization": "Bearer demo"}) as http,
        Client(streamable_http_client(url, http_client=http), cache=None) as client,
    ):
        result = await client.call_tool("get_issue", {"issue_id": "1"})
        assert not result.is_error
        refused = await http.post(url, json={}, headers={"Authorization": "Bearer wrong"})
    assert refused.status_code == 401  # the demo still asks for the token
