"""The real process: stdio purity, shutdown, config errors, --demo, check, SIGTERM drain."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from typing import Any

import httpx2
import pytest
from mcp import Client, StdioServerParameters

from pylon_mcp import __version__
from pylon_mcp.cli import build_parser
from pylon_mcp.config import OPTIONS, ConfigError, Settings
from pylon_mcp.sandbox import Sandbox
from tests.conftest import TOKEN
from tests.mcp_helpers import INITIALIZE, text

pytestmark = pytest.mark.slow


def env(**extra: str) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("PYLON")}
    return {**base, **extra}


def run(*args: str, timeout: float = 30, **extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pylon_mcp", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env(**extra),
    )


# --- configuration --------------------------------------------------------------


def test_missing_token_over_http_refuses_to_start() -> None:
    result = run("--transport", "http", "--port", "0")
    assert result.returncode == 2
    assert result.stderr == "pylon-mcp: no Pylon API token: set PYLON_API_TOKEN or run with --demo\n"
    assert result.stdout == ""


@pytest.mark.anyio
async def test_missing_token_over_stdio_serves_and_every_call_says_how_to_fix_it() -> None:
    # A desktop client shows a server that exits at start as "Connection closed" only; serving
    # lets the setup error reach the chat (issue 14, item 11).
    params = StdioServerParameters(command=sys.executable, args=["-m", "pylon_mcp"], env=env())
    for mode in ("legacy", "auto"):
        async with Client(params, mode=mode) as client:
            assert (client.instructions or "").startswith("SETUP NEEDED: no Pylon API token")
            for name, arguments in (("get_issue", {"issue_id": "7"}), ("search_issues", {"state": "new"})):
                result = await client.call_tool(name, arguments)
                assert result.is_error
                message = text(result)
                assert message == (
                    f"{name} failed: pylon-mcp has no Pylon API token. Tell the user: put "
                    "PYLON_API_TOKEN in the env block of this server's entry in the MCP client's config (for "
                    "Claude Desktop: the extension settings or claude_desktop_config.json), then restart the "
                    "client."
                )
                assert "\n" not in message
            with pytest.raises(Exception, match="has no Pylon API token"):
                await client.read_resource("pylon://issues/recent")


def test_missing_token_over_stdio_says_so_on_stderr_once() -> None:
    result = subprocess.run([sys.executable, "-m", "pylon_mcp"], capture_output=True, text=True, timeout=30,
                            env=env(), stdin=subprocess.DEVNULL)  # fmt: skip
    assert result.returncode == 0 and result.stdout == ""
    assert result.stderr == (
        "pylon-mcp: no Pylon API token: set PYLON_API_TOKEN or run with --demo. "
        "Serving anyway: every tool call will say so.\n"
    )


def test_port_in_use_is_one_line_and_exit_2() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run("--demo", "--transport", "http", "--port", str(port))
    assert result.returncode == 2
    assert result.stderr == (
        f"pylon-mcp: port {port} is already in use on 127.0.0.1; pick another with --port / "
        "PYLON_MCP_PORT (0 picks a free one)\n"
    )
    assert "DEMO MODE" not in result.stderr and result.stdout == ""


def test_a_host_that_is_not_ours_is_one_line_and_exit_2() -> None:
    result = run("--transport", "http", "--host", "192.0.2.1", "--port", "0", "--insecure-no-auth",
                 PYLON_API_TOKEN="t")  # fmt: skip
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert result.stderr.startswith("pylon-mcp: cannot listen on 192.0.2.1:0: ")  # then the OS's words
    assert result.stderr.endswith(
        "; check --host / PYLON_MCP_HOST (an address of this machine, e.g. 127.0.0.1) and --port\n"
    )


def test_prompt_errors_reach_the_client_and_are_one_line_on_stderr(sandbox_url: str) -> None:
    pipe = subprocess.PIPE
    proc = subprocess.Popen([sys.executable, "-m", "pylon_mcp"], stdin=pipe, stdout=pipe, stderr=pipe,
                            env=env(PYLON_API_TOKEN=TOKEN, PYLON_API_URL=sandbox_url))  # fmt: skip
    cases = {
        2: ("triage_issue", {}, "Missing required arguments: {'issue_id'}"),
        3: ("no_such_prompt", {}, "Unknown prompt: no_such_prompt"),
        4: ("summarize_recent", {"days": "abc"}, "days must be a whole number from 1 to 365 (got 'abc')"),
    }
    rpc(proc, INITIALIZE)
    rpc(proc, {"jsonrpc": "2.0", "method": "notifications/initialized"})
    for request_id, (name, arguments, _) in cases.items():
        params = {"name": name, "arguments": arguments}
        rpc(proc, {"jsonrpc": "2.0", "id": request_id, "method": "prompts/get", "params": params})
    assert proc.stdout is not None and proc.stdin is not None and proc.stderr is not None
    answers: dict[int, Any] = {}
    while len(answers) < 1 + len(cases):
        line = proc.stdout.readline().decode()
        assert line, "server exited early"
        message = json.loads(line)
        answers[message["id"]] = message
    proc.stdin.close()
    err = proc.stderr.read().decode()
    proc.wait(timeout=15)
    for request_id, (_, _, wanted) in cases.items():
        assert answers[request_id]["error"] == {"code": -32602, "message": wanted}
    assert "Traceback" not in err
    assert err.count("\n") == len(cases)  # one line per refused prompts/get
    for name, _, wanted in cases.values():
        assert f"WARNING pylon_mcp.server: prompts/get {name!r} refused: {wanted}" in err


@pytest.mark.parametrize(
    ("args", "extra", "fragment"),
    [
        (
            (),
            {"PYLON_API_TOKEN": "t", "PYLON_READ_ONLY": "maybe"},
            "PYLON_READ_ONLY 'maybe' is not a yes/no value; use true, yes, on or 1 to turn it on, "
            "false, no, off or 0 to turn it off",
        ),
        (("--timeout", "soon"), {"PYLON_API_TOKEN": "t"}, "--timeout 'soon' is not a number"),
        (("--transport", "http", "--host", "0.0.0.0"), {"PYLON_API_TOKEN": "t"}, "set PYLON_MCP_AUTH_TOKEN"),
        ((), {"PYLON_API_TOKEN": "t", "PYLON_TOOLS": "get_issue,frobnicate"}, "unknown tool(s) frobnicate"),
        ((), {"PYLON_API_TOKEN": "t", "PYLON_API_URL": "api.usepylon.com"}, "must start with https://"),
        (
            (),
            {"PYLON_API_TOKEN": "t", "PYLON_API_URL": "http://pylon-proxy.example.com"},
            "plain http:// only for a loopback address such as http://127.0.0.1:8765",
        ),
        ((), {"PYLON_API_TOKEN": "t", "PYLON_MCP_TRANSPORT": "sse"}, "use one of stdio, http"),
    ],
)
def test_config_errors_name_the_setting(args: tuple[str, ...], extra: dict[str, str], fragment: str) -> None:
    result = run(*args, **extra)
    assert result.returncode == 2, result.stderr
    assert fragment in result.stderr and result.stdout == ""


def test_loopback_api_url_may_be_plain_http() -> None:
    for url in ("http://127.0.0.1:8765", "http://localhost:1", "http://[::1]:9", "https://api.example.com"):
        assert Settings.load({"PYLON_API_URL": url}).api_url == url


def test_choices_are_case_insensitive_in_flags_as_in_env() -> None:
    from pylon_mcp.cli import load_settings

    for argv, environ in ((["--transport", "HTTP"], {}), ([], {"PYLON_MCP_TRANSPORT": "HTTP"})):
        assert load_settings(build_parser().parse_args(argv), environ).transport == "http"
    assert load_settings(build_parser().parse_args(["--log-level", "INFO"]), {}).log_level == "info"


def test_flags_win_over_environment() -> None:
    args = build_parser().parse_args(["--timeout", "5", "--read-only"])
    from pylon_mcp.cli import load_settings

    settings = load_settings(
        args, {"PYLON_TIMEOUT": "60", "PYLON_READ_ONLY": "false", "PYLON_API_TOKEN": "t"}
    )
    assert settings.timeout == 5 and settings.read_only and settings.api_token.reveal() == "t"


def test_help_lists_every_option_with_its_env_var() -> None:
    result = run("--help")
    flat = " ".join(result.stdout.split())
    for option in OPTIONS:
        assert option.flag in flat and f"[env: {option.env}]" in flat


def test_version() -> None:
    assert run("--version").stdout.strip() == f"pylon-mcp {__version__}"


def test_insecure_no_auth_is_explicit() -> None:
    Settings(transport="http", host="0.0.0.0", insecure_no_auth=True).check_http_security()
    with pytest.raises(ConfigError):
        Settings(transport="http", host="10.0.0.5").check_http_security()


# --- stdio ------------------------------------------------------------------------


def rpc(proc: subprocess.Popen[bytes], message: dict[str, Any]) -> None:
    assert proc.stdin is not None
    proc.stdin.write((json.dumps(message) + "\n").encode())
    proc.stdin.flush()


def test_stdout_carries_only_json_rpc_and_stdin_eof_ends_the_server(sandbox_url: str) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "pylon_mcp", "--log-level", "debug"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env(PYLON_API_TOKEN=TOKEN, PYLON_API_URL=sandbox_url),
    )
    rpc(proc, INITIALIZE)
    rpc(proc, {"jsonrpc": "2.0", "method": "notifications/initialized"})
    rpc(proc, {"jsonrpc": "2.0", "id": 2, "method": "tools/list"})
    rpc(
        proc,
        {
            "jsonrpc": "2.0",
            "id": 3,
            "method": "tools/call",
            "params": {"name": "get_issue", "arguments": {"issue_id": "7"}},
        },
    )
    rpc(
        proc,
        {
            "jsonrpc": "2.0",
            "id": 4,
            "method": "tools/call",
            "params": {"name": "get_issue", "arguments": {"issue_id": "999999"}},
        },
    )
    assert proc.stdout is not None and proc.stdin is not None
    lines: list[str] = []
    while {json.loads(line).get("id") for line in lines} != {1, 2, 3, 4}:
        line = proc.stdout.readline().decode()
        assert line, "server exited early"
        lines.append(line)
    proc.stdin.close()  # the client goes away
    started = time.monotonic()
    rest, err = proc.stdout.read(), proc.stderr.read()  # type: ignore[union-attr]
    proc.wait(timeout=15)
    assert proc.returncode == 0
    assert time.monotonic() - started < 10  # ends promptly once stdin closes
    out = "".join(lines).encode() + rest
    messages = [json.loads(line) for line in out.decode().splitlines()]  # every stdout line is JSON
    assert all(m.get("jsonrpc") == "2.0" for m in messages)
    assert {m.get("id") for m in messages} == {1, 2, 3, 4}
    by_id = {m["id"]: m for m in messages}
    assert by_id[3]["result"]["isError"] is False
    assert by_id[4]["result"]["isError"] is True
    log = err.decode()
    assert "GET /issues/7 200" in log and "request_id=req_" in log  # one line per upstream request
    assert TOKEN not in log and TOKEN not in out.decode()


async def test_demo_mode_end_to_end() -> None:
    params = StdioServerParameters(command=sys.executable, args=["-m", "pylon_mcp", "--demo"], env=env())
    async with Client(params, mode="legacy") as client:
        assert "DEMO MODE" in (client.instructions or "")
        result = await client.call_tool("search_issues", {"state": "new", "limit": 3})
        assert not result.is_error and "3 issues" in text(result)
        result = await client.call_tool("get_issue", {"issue_id": "7"})
        assert text(result).startswith("Issue #7")


test_demo_mode_end_to_end = pytest.mark.anyio(test_demo_mode_end_to_end)


def test_demo_mode_says_so_on_stderr() -> None:
    proc = subprocess.Popen([sys.executable, "-m", "pylon_mcp", "--demo"], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env())  # fmt: skip
    out, err = proc.communicate(timeout=20)  # closes stdin at once
    assert b"DEMO MODE" in err and out == b""
    assert b"waiting for an MCP client" not in err  # a client's pipe, not a person at a terminal


# --- check --------------------------------------------------------------------------


def test_check_succeeds_and_redacts(sandbox_url: str) -> None:
    result = run("check", PYLON_API_TOKEN=TOKEN, PYLON_API_URL=sandbox_url)
    assert result.returncode == 0, result.stderr
    assert "accepted the token for organisation 'Sandbox Org (demo data)'" in result.stdout
    assert f"PYLON_API_URL={sandbox_url}" in result.stdout
    assert TOKEN not in result.stdout + result.stderr
    assert f"PYLON_API_TOKEN=…{TOKEN[-4:]} (redacted" in result.stdout


def test_check_fails_with_the_reason(sandbox_url: str) -> None:
    bad = run("check", PYLON_API_TOKEN="pylon_api_wrong_token_123", PYLON_API_URL=sandbox_url)
    assert bad.returncode == 1 and "HTTP 401" in bad.stdout and "invalid API token" in bad.stdout
    assert "pylon_api_wrong_token_123" not in bad.stdout + bad.stderr
    region = run("check", PYLON_API_TOKEN="pylon_api_eu_abcdefghijkl", PYLON_API_URL=sandbox_url)
    assert region.returncode == 1 and "https://api.eu.usepylon.com" in region.stdout
    missing = run("check")
    assert missing.returncode == 2 and "PYLON_API_TOKEN" in missing.stderr


# --- HTTP: SIGTERM drains in-flight requests ------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_healthy(url: str) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            if httpx2.get(f"{url}/healthz").status_code == 200:
                return
        except httpx2.TransportError:
            time.sleep(0.1)
    raise AssertionError("server did not come up")


def test_sigterm_lets_in_flight_requests_finish(sandbox_url: str, sandbox: Sandbox) -> None:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "pylon_mcp", "--transport", "http", "--port", str(port)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        env=env(PYLON_API_TOKEN=TOKEN, PYLON_API_URL=sandbox_url),
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url)
        sandbox.add_fault(endpoint="GET /issues/{id}", kind="latency", latency=1.5)
        outcome: dict[str, Any] = {}

        def slow_call() -> None:
            body = {"jsonrpc": "2.0", "id": 9, "method": "tools/call",
                    "params": {"name": "get_issue", "arguments": {"issue_id": "7"}}}  # fmt: skip
            response = httpx2.post(
                f"{url}/mcp",
                json=body,
                timeout=30,
                headers={
                    "accept": "application/json, text/event-stream",
                    "mcp-protocol-version": "2025-06-18",
                },
            )
            outcome["status"] = response.status_code
            outcome["body"] = response.json()

        worker = threading.Thread(target=slow_call)
        worker.start()
        time.sleep(0.5)  # the call is now waiting on Pylon
        proc.send_signal(signal.SIGTERM)
        worker.join(timeout=20)
        proc.wait(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert outcome["status"] == 200
    assert outcome["body"]["result"]["isError"] is False
    # uvicorn re-raises SIGTERM once drained, so the exit reads "terminated by SIGTERM", as supervisors expect.
    assert proc.returncode in (0, -signal.SIGTERM)


def test_neither_token_leaks_from_an_http_server_at_debug_level(sandbox_url: str) -> None:
    auth = "http-secret-bearer-0f9e8d7c"
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "pylon_mcp", "--transport", "http", "--port", str(port), "--log-level", "debug"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        env=env(PYLON_API_TOKEN=TOKEN, PYLON_API_URL=sandbox_url, PYLON_MCP_AUTH_TOKEN=auth),
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    bodies: list[str] = []
    try:
        wait_healthy(url)
        headers = {"accept": "application/json, text/event-stream", "mcp-protocol-version": "2025-06-18"}
        for token in (auth, "wrong-" + auth, None):
            for arguments in ({"issue_id": "7"}, {"issue_id": "999999"}, {"issue_id": "../x"}):
                call = {"jsonrpc": "2.0", "id": 1, "method": "tools/call",
                        "params": {"name": "get_issue", "arguments": arguments}}  # fmt: skip
                extra = {"authorization": f"Bearer {token}"} if token else {}
                bodies.append(
                    httpx2.post(f"{url}/mcp", json=call, headers={**headers, **extra}, timeout=10).text
                )
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=20)
    everything = "\n".join(bodies) + out.decode() + err.decode()
    assert "GET /issues/7 200" in err.decode()  # the debug log did run
    assert TOKEN not in everything and auth not in everything


@pytest.mark.anyio
async def test_all_six_mission_tools_over_stdio_against_pylon_api_url(
    sandbox_url: str, sandbox: Sandbox
) -> None:
    params = StdioServerParameters(
        command=sys.executable,
        args=["-m", "pylon_mcp"],
        env=env(PYLON_API_TOKEN=TOKEN, PYLON_API_URL=sandbox_url),
    )
    user = next(iter(sandbox.store.directory.users))
    calls = [
        ("search_issues", {"state": ["new"], "limit": 3}, "3 issues"),
        ("get_issue", {"issue_id": "7"}, "Issue #7"),
        ("create_issue", {"title": "Over stdio", "body_markdown": "**hi**", "requester_email": "s@example.org"},
         "Created issue #301"),
        ("update_issue", {"issue_id": "301", "state": "waiting_on_customer", "add_tags": ["stdio"]},
         "state: new → waiting_on_customer"),
        ("snooze_issue", {"issue_id": "301", "snooze_until": "2099-01-01T00:00:00Z"}, "Snoozed issue #301"),
        # No follower list seen before: the confirmation is the list after (no request spent on "before").
        ("manage_followers", {"issue_id": "301", "operation": "add", "user_ids": [user]},
         f"Followers: user {sandbox.store.directory.users[user].name}"),
    ]  # fmt: skip
    async with Client(params, mode="legacy") as client:
        for name, arguments, expected in calls:
            result = await client.call_tool(name, arguments)
            assert not result.is_error and expected in text(result), (name, text(result))
    created = sandbox.store.find("301")
    assert created.state == "on_hold" and "stdio" in created.tags and ("user", user) in created.followers


# --- a friendlier CLI (issue 20, item 8) ------------------------------------------------


def _plain_http_server() -> tuple[Any, int]:
    """A loopback server that speaks plain HTTP: https:// to it fails the TLS handshake."""
    import http.server

    server = http.server.HTTPServer(("127.0.0.1", 0), http.server.BaseHTTPRequestHandler)
    server.RequestHandlerClass.log_message = lambda *_: None  # type: ignore[method-assign]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, server.server_address[1]


def test_check_says_what_happened_when_pylon_cannot_be_reached() -> None:
    token = "pylon_api_check_0123456789"
    tls_server, tls_port = _plain_http_server()
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()  # accepts connections, never answers
        cases = {
            "https://api.pylon-mcp-test.invalid": "could not reach https://api.pylon-mcp-test.invalid: DNS lookup "
            "failed for host api.pylon-mcp-test.invalid.",
            f"http://127.0.0.1:{free_port()}": "connection refused by 127.0.0.1:",
            f"https://127.0.0.1:{tls_port}": f"TLS failed: the handshake with 127.0.0.1:{tls_port} did not complete",
            f"http://127.0.0.1:{silent.getsockname()[1]}": "within 0.5s (timeout)",
        }
        for url, wanted in cases.items():
            result = run("check", PYLON_API_TOKEN=token, PYLON_API_URL=url, PYLON_TIMEOUT="0.5")
            assert result.returncode == 1, result.stderr
            assert result.stdout.startswith("FAILED: ") and wanted in result.stdout, result.stdout
            assert "refused the check" not in result.stdout and token not in result.stdout + result.stderr
    tls_server.shutdown()


def test_errors_name_the_flag_typed_or_the_env_var_set() -> None:
    flag = run("--port", "99999", PYLON_API_TOKEN="t")
    assert flag.returncode == 2
    assert flag.stderr == "pylon-mcp: --port must be between 0 and 65535 (0 picks a free port)\n"
    from_env = run(PYLON_API_TOKEN="t", PYLON_MCP_PORT="99999")
    assert from_env.returncode == 2 and from_env.stderr.startswith(
        "pylon-mcp: PYLON_MCP_PORT must be between"
    )
    assert run("--timeout", "-1", PYLON_API_TOKEN="t").stderr.startswith(
        "pylon-mcp: --timeout must be a positive"
    )
    assert "--port" not in from_env.stderr.split(" must ")[0]


def test_every_yes_no_flag_has_a_no_form_that_wins_over_the_environment() -> None:
    from pylon_mcp.cli import load_settings

    switches = [option for option in OPTIONS if option.kind is bool]
    assert {"oauth_writes_need_user", "read_only", "demo"} <= {option.name for option in switches}
    for option in switches:
        turned_on = {option.env: "true"}
        args = build_parser().parse_args([f"--no-{option.flag.removeprefix('--')}"])
        assert getattr(load_settings(args, turned_on), option.name) is False, option.flag
        args = build_parser().parse_args([option.flag])
        assert getattr(load_settings(args, {option.env: "false"}), option.name) is True, option.flag
    # check takes them too
    args = build_parser().parse_args(["check", "--no-read-only"])
    assert load_settings(args, {"PYLON_READ_ONLY": "1"}).read_only is False


def test_help_is_grouped_and_check_has_its_own_short_help() -> None:
    from pylon_mcp.cli import OPTION_GROUPS

    grouped = [name for names in OPTION_GROUPS.values() for name in names]
    assert sorted(grouped) == sorted(option.name for option in OPTIONS)  # each option in one group
    main_help = run("--help").stdout
    for title in ("Pylon options:", "transport and HTTP options:", "OAuth (HTTP mode) options:",
                  "tools and output options:", "knowledge options:", "attachments options:", "replicas options:",
                  "logging options:"):  # fmt: skip
        assert f"\n{title}\n" in main_help, title
    assert "--oauth-writes-need-user, --no-oauth-writes-need-user" in main_help
    assert main_help.count("\n") < 170  # one or two lines an option, nothing more
    check_help = run("check", "--help").stdout
    assert "GET /me" in check_help and "--api-token" in check_help
    assert "--oauth-issuer" not in check_help and check_help.count("\n") < 40


def _read_lines(stream: Any, count: int, *, seconds: float) -> list[str]:
    """Up to `count` lines, giving up after `seconds` (a silent process must fail the test, not hang it)."""
    import select

    data, deadline = b"", time.monotonic() + seconds
    while data.count(b"\n") < count and (left := deadline - time.monotonic()) > 0:
        ready, _, _ = select.select([stream], [], [], left)
        if not ready:
            break
        chunk = os.read(stream.fileno(), 4096)
        if not chunk:
            break
        data += chunk
    lines = data.decode().splitlines(keepends=True)[:count]
    return lines + [""] * (count - len(lines))


def test_a_person_at_a_terminal_is_told_what_stdio_waits_for() -> None:
    import pty

    controller, terminal = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "pylon_mcp", "--demo"], stdin=terminal,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env())  # fmt: skip
    os.close(terminal)
    try:
        assert proc.stderr is not None
        lines = _read_lines(proc.stderr, 2, seconds=20)  # the demo banner, then the hint
    finally:
        proc.terminate()
        proc.communicate(timeout=20)
        os.close(controller)
    hint = lines[1]
    assert hint.startswith("pylon-mcp: waiting for an MCP client on stdin/stdout") and hint.count("\n") == 1
    assert "--transport http" in hint and "@modelcontextprotocol/inspector" in hint
