"""One HTTP replica, in-process state: change notifications over real Streamable HTTP, /readyz, /metrics."""

from __future__ import annotations

import json
import secrets
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError

from pylon_mcp.changes import RECENT_URI
from pylon_mcp.hosting.http import build_http_app
from pylon_mcp.pylon.auth import Secret
from pylon_mcp.sandbox import Sandbox
from pylon_mcp.sandbox.server import BackgroundServer
from pylon_mcp.server import build_server
from pylon_mcp.surface.tools.registry import TOOLS
from tests.mcp_helpers import connect, settings_for, text

pytestmark = pytest.mark.anyio


def serve(sandbox_url: str, **changes: Any) -> BackgroundServer:
    settings = settings_for(sandbox_url, transport="http", **changes)
    return BackgroundServer(build_http_app(build_server(settings), settings), lifespan="on")


@pytest.fixture
def replica(sandbox_url: str) -> Iterator[BackgroundServer]:
    with serve(sandbox_url) as server:
        yield server


@asynccontextmanager
async def mcp(server: BackgroundServer, mode: str = "auto", **kwargs: Any) -> AsyncIterator[Client]:
    async with (
        httpx2.AsyncClient(timeout=30) as http,
        Client(streamable_http_client(f"{server.url}/mcp", http_client=http), mode=mode, cache=None,
               **kwargs) as client,
    ):  # fmt: skip
        yield client


async def test_listen_over_http_hears_each_change_exactly_once(
    replica: BackgroundServer, sandbox: Sandbox
) -> None:
    record = sandbox.store.find("7")
    wanted = ["pylon://issues/7", RECENT_URI, f"pylon://issues/state/{record.state}", "pylon://issues/8"]
    events: list[str] = []
    async with (
        mcp(replica) as listener,
        mcp(replica) as writer,
        listener.listen(resource_subscriptions=wanted) as sub,
    ):
        assert listener.protocol_version == "2026-07-28"

        async def collect() -> None:
            async for event in sub:
                events.append(event.uri)  # type: ignore[union-attr]

        async with anyio.create_task_group() as tg:
            tg.start_soon(collect)
            for body in ({"state": "closed"}, {"title": "Renamed once"}):
                result = await writer.call_tool("update_issue", {"issue_id": "7", **body})
                assert not result.is_error, text(result)
            with anyio.fail_after(5):
                while len(events) < 5:  # noqa: ASYNC110 - the collector fills `events`
                    await anyio.sleep(0.01)
            await anyio.sleep(0.5)  # room for a duplicate to arrive
            tg.cancel_scope.cancel()
    # Two writes: each notifies issue 7 and the recent listing once; the old state's listing only for
    # the first (after it the issue is closed). Issue 8 was not touched. Counted, not compared as sets.
    assert sorted(events) == sorted([*wanted[:3], *wanted[:2]])


async def test_handshake_era_clients_over_http_are_not_offered_resources_subscribe(
    replica: BackgroundServer,
) -> None:
    async with mcp(replica, mode="legacy") as client:
        assert client.protocol_version != "2026-07-28"
        resources = client.server_capabilities.resources
        assert resources is not None and not resources.subscribe
        with pytest.raises(MCPError) as refused:
            await client.session.subscribe_resource("pylon://issues/7")
    assert refused.value.error.code == -32601  # method not found: nothing pretends to work


def get(server: BackgroundServer, path: str) -> httpx2.Response:
    return httpx2.get(f"{server.url}{path}", timeout=10)


def test_readyz_checks_pylon_with_the_token_and_caches_the_answer(
    replica: BackgroundServer, sandbox: Sandbox
) -> None:
    first, second = get(replica, "/readyz"), get(replica, "/readyz")
    assert first.status_code == second.status_code == 200
    assert json.loads(first.text) == {"status": "ready", "pylon": "ok", "shared_state": "memory: ok"}
    assert len(sandbox.requests("GET /me")) == 1  # the second probe was answered from the cache
    assert get(replica, "/healthz").status_code == 200


def test_readyz_is_503_when_pylon_refuses_the_token(sandbox_url: str, sandbox: Sandbox) -> None:
    with serve(sandbox_url, api_token=Secret("pylon_api_wrong_token_000000000000")) as server:
        response = get(server, "/readyz")
    report = json.loads(response.text)
    assert response.status_code == 503 and report["status"] == "not ready"
    assert "HTTP 401" in report["pylon"] and "wrong_token" not in response.text


def scrape(server: BackgroundServer) -> dict[str, float]:
    response = get(server, "/metrics")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
    lines = [line for line in response.text.splitlines() if line and not line.startswith("#")]
    return {line.rsplit(" ", 1)[0]: float(line.rsplit(" ", 1)[1]) for line in lines}


async def test_metrics_count_requests_tool_calls_upstream_statuses_and_429s(
    replica: BackgroundServer, sandbox: Sandbox
) -> None:
    # Metrics are per process and other tests' servers ran in this one: compare before and after.
    before = scrape(replica)
    sandbox.add_fault(endpoint="GET /issues/{id}", kind="status", status=429, times=1)
    async with mcp(replica) as client:
        assert not (await client.call_tool("get_issue", {"issue_id": "7"})).is_error  # 429, then retried
        assert (await client.call_tool("get_issue", {"issue_id": "999999"})).is_error  # 404
    after = scrape(replica)

    def value(name: str) -> float:
        return after.get(name, 0.0) - before.get(name, 0.0)

    assert value('pylon_mcp_tool_calls_total{outcome="ok",tool="get_issue"}') == 1
    assert value('pylon_mcp_tool_calls_total{outcome="error",tool="get_issue"}') == 1
    assert value('pylon_mcp_upstream_responses_total{endpoint="GET /issues/{id}",status="429"}') == 1
    assert value('pylon_mcp_upstream_responses_total{endpoint="GET /issues/{id}",status="200"}') == 1
    assert value('pylon_mcp_upstream_responses_total{endpoint="GET /issues/{id}",status="404"}') == 1
    assert value('pylon_mcp_rate_limited_total{endpoint="GET /issues/{id}",kind="upstream_429"}') == 1
    assert value('pylon_mcp_http_requests_total{path="/mcp",status="200"}') >= 2  # plus the client's own
    assert value('pylon_mcp_tool_call_seconds_count{tool="get_issue"}') == 2


def label_values(exposition: str) -> dict[str, set[str]]:
    """Each label's distinct values across every sample of /metrics."""
    values: dict[str, set[str]] = {}
    for line in exposition.splitlines():
        if line.startswith("#") or "{" not in line:
            continue
        for pair in line[line.index("{") + 1 : line.rindex("}")].split('",'):
            name, _, value = pair.partition('="')
            values.setdefault(name, set()).add(value.rstrip('"'))
    return values


async def test_metrics_stay_small_whatever_tool_names_callers_send(
    replica: BackgroundServer, sandbox_url: str
) -> None:
    # Issue 19, item 5: each made-up tool name became a label value (2,000 calls grew /metrics to 84 MB).
    # Most calls go through a fast in-process client: metrics are per process, so the replica counts them.
    async with connect(sandbox_url) as client:
        for _ in range(2000):
            assert (await client.call_tool(f"x{secrets.token_hex(100)}", {})).is_error
    async with mcp(replica) as client:
        for _ in range(20):
            assert (await client.call_tool(f"y{secrets.token_hex(100)}", {})).is_error
        assert not (await client.call_tool("get_issue", {"issue_id": "7"})).is_error
    response = get(replica, "/metrics")
    values = label_values(response.text)
    assert "unknown" in values["tool"] and "get_issue" in values["tool"]
    assert not any(value.startswith(("x", "y")) for value in values["tool"])
    assert len(values["tool"]) <= len(TOOLS) + 1
    assert all(len(v) <= 40 for name, vs in values.items() if name != "endpoint" for v in vs)
    assert len(response.content) < 100_000, len(response.content)


@pytest.mark.parametrize("path", ["/readyz", "/metrics"])
def test_readyz_and_metrics_check_the_host_header_like_mcp(replica: BackgroundServer, path: str) -> None:
    # Issue 19, item 10: they answered any Host, so a DNS-rebound page could read them.
    foreign = httpx2.get(f"{replica.url}{path}", headers={"host": "attacker.example"}, timeout=10)
    assert foreign.status_code == 421 and "attacker.example" in foreign.json()["error"]["message"]
    assert get(replica, path).status_code == 200
    # An IP address cannot be rebound: orchestrators' probes (kubelet sends the pod's IP) pass.
    for address in ("10.1.2.3:8000", "[fd00::1]:8000", "10.1.2.3"):
        assert httpx2.get(f"{replica.url}{path}", headers={"host": address}, timeout=10).status_code == 200
    rebound = httpx2.get(f"{replica.url}{path}", headers={"host": "10.1.2.3.attacker.example"}, timeout=10)
    assert rebound.status_code == 421
    healthz = httpx2.get(f"{replica.url}/healthz", headers={"host": "attacker.example"}, timeout=10)
    assert healthz.status_code == 200  # liveness answers any Host: it says nothing but "ok"
