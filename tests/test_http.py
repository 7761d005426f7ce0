"""Streamable HTTP end to end: the SDK client over a real socket, through the guard."""

from __future__ import annotations

import json
import socket
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from pylon_mcp.config import Settings
from pylon_mcp.hosting.http import build_http_app
from pylon_mcp.pylon.auth import Secret
from pylon_mcp.sandbox.server import BackgroundServer
from pylon_mcp.server import build_server
from tests.conftest import TOKEN
from tests.mcp_helpers import INITIALIZE, settings_for, text

pytestmark = pytest.mark.anyio

AUTH = "http-test-bearer-7d1c0a"
INIT = INITIALIZE
HEADERS = {"content-type": "application/json", "accept": "application/json, text/event-stream"}


def start(settings: Settings) -> BackgroundServer:
    """Not started yet: use as `with start(settings) as server:`."""
    return BackgroundServer(build_http_app(build_server(settings), settings), lifespan="on")


@pytest.fixture
def mcp_http(sandbox_url: str) -> Iterator[BackgroundServer]:
    with start(
        settings_for(sandbox_url, transport="http", auth_token=Secret(AUTH), max_body_bytes=65536)
    ) as server:
        yield server


@asynccontextmanager
async def client(url: str, token: str | None = AUTH, mode: str = "auto") -> AsyncIterator[Client]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with (
        httpx2.AsyncClient(headers=headers, timeout=30) as http,
        Client(streamable_http_client(f"{url}/mcp", http_client=http), mode=mode, cache=None) as c,
    ):
        yield c


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_authorised_calls_succeed_in_both_protocol_eras(mcp_http: BackgroundServer, mode: str) -> None:
    async with client(mcp_http.url, mode=mode) as c:
        assert c.protocol_version == ("2026-07-28" if mode == "auto" else "2025-11-25")
        names = [tool.name for tool in (await c.list_tools()).tools]
        assert "get_issue" in names
        result = await c.call_tool("get_issue", {"issue_id": "7"})
        assert not result.is_error and text(result).startswith("Issue #7")


async def test_a_fresh_servers_first_answer_shows_names(mcp_http: BackgroundServer, sandbox: Any) -> None:
    """Issue 20, item 1: no team UUID or assignee email on the first call of a fresh server."""
    record = sandbox.store.find("7")
    team = sandbox.store.directory.teams[record.team_id].name
    assignee = sandbox.store.directory.users[record.assignee_id].name
    async with client(mcp_http.url) as c:
        shown = text(await c.call_tool("get_issue", {"issue_id": "7"}))
    assert f"assignee {assignee} · team {team}" in shown, shown
    assert record.team_id not in shown and "Names of" not in shown


def post(url: str, body: Any = INIT, **headers: str) -> httpx2.Response:
    return httpx2.post(f"{url}/mcp", content=json.dumps(body), headers={**HEADERS, **headers}, timeout=10)


def error_body(response: httpx2.Response, status: int) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["jsonrpc"] == "2.0" and body["error"]["message"]
    return body["error"]["message"]


def test_missing_or_wrong_token_is_401(mcp_http: BackgroundServer) -> None:
    assert "bearer token" in error_body(post(mcp_http.url), 401)
    wrong = post(mcp_http.url, authorization="Bearer nope")
    assert "bearer token" in error_body(wrong, 401)
    assert wrong.headers["www-authenticate"].startswith("Bearer")
    assert post(mcp_http.url, authorization=f"Basic {AUTH}").status_code == 401
    assert post(mcp_http.url, authorization=f"Bearer {AUTH}").status_code == 200


def test_foreign_origin_is_403_and_local_origin_passes(mcp_http: BackgroundServer) -> None:
    auth = {"authorization": f"Bearer {AUTH}"}
    message = error_body(post(mcp_http.url, origin="https://evil.example", **auth), 403)
    assert "PYLON_MCP_ALLOWED_ORIGINS" in message
    assert post(mcp_http.url, origin=f"http://localhost:{mcp_http.port}", **auth).status_code == 200


def test_foreign_host_is_refused(mcp_http: BackgroundServer) -> None:
    response = post(mcp_http.url, host="attacker.example", authorization=f"Bearer {AUTH}")
    assert "PYLON_MCP_ALLOWED_HOSTS" in error_body(response, 421)


def test_configured_hosts_and_origins_are_accepted(sandbox_url: str) -> None:
    settings = settings_for(sandbox_url, transport="http", allowed_hosts=("mcp.example.com",),
                            allowed_origins=("https://app.example.com",))  # fmt: skip
    with start(settings) as server:
        ok = post(server.url, host="mcp.example.com", origin="https://app.example.com")
        assert ok.status_code == 200
        assert post(server.url, origin="https://other.example.com").status_code == 403


def test_oversized_body_is_413(mcp_http: BackgroundServer) -> None:
    big = {**INIT, "params": {**INIT["params"], "padding": "x" * 70_000}}  # type: ignore[dict-item]
    assert "larger than 65536" in error_body(post(mcp_http.url, big, authorization=f"Bearer {AUTH}"), 413)


def test_healthz_answers_without_calling_pylon(mcp_http: BackgroundServer, sandbox: Any) -> None:
    response = httpx2.get(f"{mcp_http.url}/healthz")
    assert response.status_code == 200 and response.json()["status"] == "ok"
    assert sandbox.requests() == []


@pytest.mark.parametrize(
    "accept", [None, "*/*", "text/html,application/xhtml+xml,*/*;q=0.8", "application/json"]
)
def test_a_browser_or_curl_get_gets_a_hint_at_once(mcp_http: BackgroundServer, accept: str | None) -> None:
    """Issue 20, item 8: a GET without 'Accept: text/event-stream' used to hang on an empty stream."""
    headers = {"authorization": f"Bearer {AUTH}", **({"accept": accept} if accept else {})}
    response = httpx2.get(f"{mcp_http.url}/mcp", headers=headers, timeout=5)
    message = error_body(response, 406)
    assert "MCP endpoint" in message and "Accept: text/event-stream" in message and "/healthz" in message
    assert httpx2.get(f"{mcp_http.url}/mcp", timeout=5).status_code == 401  # the hint is behind auth


def test_other_paths_are_json_404(mcp_http: BackgroundServer) -> None:
    response = httpx2.get(f"{mcp_http.url}/admin")
    assert "/mcp" in error_body(response, 404)


def test_stateless_requests_need_no_session(mcp_http: BackgroundServer) -> None:
    """Any replica can answer any request: a tools/list without a prior initialize succeeds."""
    body = {"jsonrpc": "2.0", "id": 2, "method": "tools/list", "params": {}}
    response = post(mcp_http.url, body, authorization=f"Bearer {AUTH}")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    assert "mcp-session-id" not in response.headers
    assert {t["name"] for t in response.json()["result"]["tools"]} >= {"get_issue", "search_issues"}


async def test_twenty_concurrent_clients(mcp_http: BackgroundServer) -> None:
    results: list[str] = []

    async def one(number: int) -> None:
        async with client(mcp_http.url) as c:
            result = await c.call_tool("get_issue", {"issue_id": str(number)})
            assert not result.is_error, text(result)
            results.append(text(result).split(" · ", 1)[0])

    async with anyio.create_task_group() as tg:
        for number in range(1, 21):
            tg.start_soon(one, number)
    assert sorted(results) == sorted(f"Issue #{n}" for n in range(1, 21))


def test_loopback_without_auth_is_allowed(sandbox_url: str) -> None:
    with start(settings_for(sandbox_url, transport="http")) as server:
        assert post(server.url).status_code == 200


def test_token_is_not_echoed(mcp_http: BackgroundServer) -> None:
    response = post(mcp_http.url, authorization="Bearer guess-" + AUTH)
    assert AUTH not in response.text and TOKEN not in response.text


@pytest.mark.slow
def test_a_thousand_abusive_requests_get_the_right_status_and_the_server_stays_healthy(
    mcp_http: BackgroundServer, sandbox: Any
) -> None:
    big = json.dumps({**INIT, "params": {**INIT["params"], "padding": "x" * 70_000}})  # type: ignore[dict-item]
    cases = [
        ({"authorization": "Bearer wrong"}, json.dumps(INIT), 401),
        ({}, json.dumps(INIT), 401),
        ({"authorization": f"Bearer {AUTH}", "origin": "https://evil.example"}, json.dumps(INIT), 403),
        ({"authorization": f"Bearer {AUTH}"}, big, 413),
    ]
    statuses: dict[int, int] = {}
    with httpx2.Client(base_url=mcp_http.url, timeout=10) as http:
        for n in range(1000):
            headers, body, expected = cases[n % len(cases)]
            response = http.post("/mcp", content=body, headers={**HEADERS, **headers})
            assert response.status_code == expected, (n, response.status_code, response.text[:200])
            statuses[expected] = statuses.get(expected, 0) + 1
        assert statuses == {401: 500, 403: 250, 413: 250}
        assert http.get("/healthz").status_code == 200
        listed = http.post("/mcp", json={"jsonrpc": "2.0", "id": 5, "method": "tools/list", "params": {}},
                           headers={**HEADERS, "authorization": f"Bearer {AUTH}"})  # fmt: skip
        assert listed.status_code == 200 and listed.json()["result"]["tools"]
    assert sandbox.requests() == []  # none of it reached Pylon


def raw_request(url: str, head: bytes, body: bytes = b"") -> tuple[int, bytes]:
    """One HTTP/1.1 exchange over a plain socket: for headers and framings httpx2 won't send."""
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as conn:
        conn.sendall(head + body)
        response = b""
        while b"\r\n\r\n" not in response or not response.rstrip().endswith((b"}", b"0")):
            chunk = conn.recv(65536)
            if not chunk:
                break
            response += chunk
    status = int(response.split(b" ", 2)[1])
    return status, response.split(b"\r\n\r\n", 1)[1]


@pytest.mark.parametrize(
    ("header", "status"),
    [(b"Host: localhost:\xb2", 421), (b"Host: 127.0.0.1\r\nOrigin: http://localhost:\xb9\xb2", 403)],
)
def test_non_ascii_digits_are_not_a_port(mcp_http: BackgroundServer, header: bytes, status: int) -> None:
    # str.isdigit() accepts "²" (issue 14, item 21).
    head = b"POST /mcp HTTP/1.1\r\n" + header + b"\r\nContent-Length: 2\r\nConnection: close\r\n\r\n"
    got, body = raw_request(mcp_http.url, head, b"{}")
    assert got == status
    assert json.loads(body)["error"]["code"] == -32600


def test_oversized_chunked_body_is_a_json_413(mcp_http: BackgroundServer) -> None:
    chunk = b"x" * 40_000
    framed = b"".join(b"%x\r\n%s\r\n" % (len(chunk), chunk) for _ in range(2)) + b"0\r\n\r\n"
    head = (f"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {AUTH}\r\n"
            "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n"
            "Connection: close\r\n\r\n").encode()  # fmt: skip
    status, body = raw_request(mcp_http.url, head, framed)
    assert status == 413
    assert json.loads(body)["error"]["message"] == "request body larger than 65536 bytes"


def test_small_chunked_body_still_reaches_the_server(mcp_http: BackgroundServer) -> None:
    payload = json.dumps(INIT).encode()
    framed = b"%x\r\n%s\r\n0\r\n\r\n" % (len(payload), payload)
    head = (f"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {AUTH}\r\n"
            "Content-Type: application/json\r\nAccept: application/json, text/event-stream\r\n"
            "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n").encode()  # fmt: skip
    status, body = raw_request(mcp_http.url, head, framed)
    assert status == 200 and b'"serverInfo"' in body
