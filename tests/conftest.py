"""Shared fixtures: one sandbox served over real loopback HTTP for the whole run, reset per test."""

from __future__ import annotations

import os
import tempfile
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime

import pytest

from pylon_mcp.pylon.client import PylonClient
from pylon_mcp.pylon.retry import RetryPolicy
from pylon_mcp.sandbox import Sandbox, SandboxServer

# Tool-schema cache of this run (inherited by the servers tests start), never the user's own.
os.environ["PYLON_MCP_CACHE_DIR"] = tempfile.mkdtemp(prefix="pylon-mcp-test-cache-")

TOKEN = "pylon_api_test_token_0123456789abcdef"
# A fixed anchor keeps seeded times identical across runs; tests that need "now" use the sandbox's anchor.
ANCHOR = datetime.now(UTC).replace(microsecond=0)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="session")
def sandbox_server() -> Iterator[SandboxServer]:
    with SandboxServer(Sandbox(token=TOKEN, issues=300, seed=7, anchor=ANCHOR)) as server:
        yield server


@pytest.fixture
def sandbox(sandbox_server: SandboxServer) -> Iterator[Sandbox]:
    sandbox_server.sandbox.reset(seed=7, issues=300)
    yield sandbox_server.sandbox
    sandbox_server.sandbox.reset(seed=7, issues=300)


@pytest.fixture
def sandbox_url(sandbox_server: SandboxServer, sandbox: Sandbox) -> str:
    return sandbox_server.url


class RecordingSleep:
    """Records requested back-off delays instead of waiting them out."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


@pytest.fixture
def sleeps() -> RecordingSleep:
    return RecordingSleep()


@pytest.fixture
async def pylon(sandbox_url: str, sleeps: RecordingSleep) -> AsyncIterator[PylonClient]:
    async with PylonClient(
        TOKEN, base_url=sandbox_url, timeout=5, retry=RetryPolicy(max_attempts=4), sleep=sleeps
    ) as client:
        yield client
