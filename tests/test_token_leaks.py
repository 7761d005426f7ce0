"""The API token must not appear in any tool output, error or log line."""

from __future__ import annotations

import base64
import json
import logging
import os
import subprocess
import sys

import pytest

from pylon_mcp.config import Settings
from pylon_mcp.pylon.auth import RedactingFilter, Secret
from pylon_mcp.sandbox import Sandbox
from tests.conftest import TOKEN
from tests.mcp_helpers import INITIALIZE, connect

pytestmark = pytest.mark.anyio

CALLS = [
    ("get_issue", {"issue_id": "7", "include": ["followers", "raw_html"]}),
    ("get_issue", {"issue_id": "424242"}),
    ("get_issue", {"issue_id": "../../me"}),
    ("search_issues", {"state": "new"}),
    ("search_issues", {"filter": {"field": "created_at", "operator": "gte", "value": "x"}}),
    ("create_issue", {"title": "t", "body_html": "<p>b</p>", "account_id": "missing"}),
    ("update_issue", {"issue_id": "7", "state": "nope"}),
    ("snooze_issue", {"issue_id": "7", "snooze_until": "2001-01-01T00:00:00Z"}),
    ("manage_followers", {"issue_id": "7", "operation": "add", "user_ids": ["ghost"]}),
]


async def test_no_token_in_results_or_logs(
    sandbox_url: str, sandbox: Sandbox, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    # Even when Pylon echoes the token back in an error, it is redacted.
    sandbox.add_fault(endpoint="GET /issues/{id}", status=500, errors=[f"bad token {TOKEN}"], times=1)
    outputs: list[str] = []
    async with connect(sandbox_url) as client:
        for name, arguments in [*CALLS, ("get_issue", {"issue_id": "7"})]:
            result = await client.call_tool(name, arguments)
            outputs.append(json.dumps(result.model_dump(by_alias=True, mode="json")))
    blob = "\n".join(outputs)
    assert TOKEN not in blob and TOKEN not in caplog.text
    assert "[REDACTED]" in blob  # the echoed token was seen and redacted


async def test_wrong_region_and_bad_token_errors_do_not_show_the_token(sandbox_url: str) -> None:
    for token in ("pylon_api_eu_super_secret_value", "pylon_api_wrong_secret_value"):
        async with connect(sandbox_url, api_token=Secret(token)) as client:
            result = await client.call_tool("get_issue", {"issue_id": "1"})
        message = json.dumps(result.model_dump(by_alias=True, mode="json"))
        assert result.is_error and "HTTP 401" in message
        assert token not in message and "secret_value" not in message


def test_settings_never_show_secrets() -> None:
    settings = Settings(api_token=Secret(TOKEN), auth_token=Secret("http-bearer-secret-123"))
    assert TOKEN not in repr(settings) and "http-bearer-secret-123" not in repr(settings)
    described = json.dumps(settings.describe())
    assert TOKEN not in described and "http-bearer-secret-123" not in described
    assert TOKEN[-4:] in described  # enough to tell tokens apart


@pytest.mark.parametrize("status", [404, 500, 429])
async def test_upstream_echo_of_the_authorization_header_is_redacted_everywhere(
    sandbox_url: str, sandbox: Sandbox, caplog: pytest.LogCaptureFixture, status: int
) -> None:
    # A proxy that echoes Authorization into request_id, X-Request-Id and the error text (issue 14, item 25).
    caplog.set_level(logging.DEBUG)
    sandbox.add_fault(endpoint="GET /issues/{id}", status=status, echo_authorization=True, times=None,
                      retry_after="999" if status == 429 else None)  # fmt: skip
    async with connect(sandbox_url) as client:
        result = await client.call_tool("get_issue", {"issue_id": "7"})
    shown = json.dumps(result.model_dump(by_alias=True, mode="json"))
    assert result.is_error and f"HTTP {status}" in shown
    assert "request_id Bearer [REDACTED]" in shown  # the echoed value, with the token cut out
    assert TOKEN not in shown
    ours = [r.getMessage() for r in caplog.records if r.name.startswith(("pylon_mcp", "mcp"))]
    assert [m for m in ours if "request_id=Bearer [REDACTED]" in m]  # the upstream-request log line
    assert not [m for m in ours if TOKEN in m]
    # Libraries' own debug traces (httpcore prints response headers) are redacted by the process's
    # log handler: see test_debug_log_of_a_process_never_shows_an_echoed_token.


def test_debug_log_of_a_process_never_shows_an_echoed_token(sandbox_url: str, sandbox: Sandbox) -> None:
    sandbox.add_fault(endpoint="GET /issues/{id}", status=404, echo_authorization=True, times=None)
    environ = {k: v for k, v in os.environ.items() if not k.startswith("PYLON")}
    message = {"jsonrpc": "2.0", "id": 2, "method": "tools/call",
               "params": {"name": "get_issue", "arguments": {"issue_id": "7"}}}  # fmt: skip
    proc = subprocess.Popen(
        [sys.executable, "-m", "pylon_mcp", "--log-level", "debug"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**environ, "PYLON_API_TOKEN": TOKEN, "PYLON_API_URL": sandbox_url},
    )  # fmt: skip
    assert proc.stdin is not None and proc.stdout is not None and proc.stderr is not None
    proc.stdin.write("\n".join(json.dumps(m) for m in (INITIALIZE, message)) + "\n")
    proc.stdin.flush()
    out = [proc.stdout.readline() for _ in range(2)]
    proc.stdin.close()
    err = proc.stderr.read()
    proc.wait(timeout=30)
    answer = json.loads(out[1])
    assert answer["id"] == 2 and answer["result"]["isError"] is True
    assert "request_id Bearer [REDACTED]" in answer["result"]["content"][0]["text"]
    assert "x-request-id', b'bearer [redacted]'" in err.lower()  # httpcore's header trace, redacted
    assert TOKEN not in "".join(out) and TOKEN not in err


# Issue 19, item 9: an upstream that alters the token on the way back.
ALTERED = [
    TOKEN.upper(),
    TOKEN[:20],
    f"id-{TOKEN[7:21]}-x",
    base64.b64encode(TOKEN.encode()).decode(),
    base64.b64encode(f"Bearer {TOKEN}".encode()).decode(),  # another alignment inside a longer text
    base64.urlsafe_b64encode(f'{{"auth": "{TOKEN}"}}'.encode()).decode(),
    "Bearer%20" + "".join(f"%{byte:02X}" for byte in TOKEN.encode()),
]


def leaks(text: str) -> list[str]:
    """Any run of 12 characters of the token (any case), or of its base64 forms, in `text`."""
    lowered = text.lower()
    found = [TOKEN[i : i + 12] for i in range(len(TOKEN) - 11) if TOKEN[i : i + 12].lower() in lowered]
    for shift in range(3):
        encoded = base64.b64encode(b"\0" * shift + TOKEN.encode()).decode()[4:-4]
        found += [encoded[i : i + 16] for i in range(len(encoded) - 15) if encoded[i : i + 16] in text]
    percent = "".join(f"%{byte:02x}" for byte in TOKEN.encode())
    return found + [
        percent[i : i + 36] for i in range(0, len(percent) - 35, 3) if percent[i : i + 36] in lowered
    ]


@pytest.mark.parametrize("altered", ALTERED)
async def test_an_altered_echo_of_the_token_is_redacted(
    sandbox_url: str, sandbox: Sandbox, caplog: pytest.LogCaptureFixture, altered: str
) -> None:
    assert leaks(altered)  # the probe finds what it looks for
    caplog.set_level(logging.DEBUG)
    sandbox.add_fault(
        endpoint="GET /issues/{id}", status=404, errors=[f"token was {altered} here"], times=None
    )
    async with connect(sandbox_url) as client:
        result = await client.call_tool("get_issue", {"issue_id": "7"})
    shown = json.dumps(result.model_dump(by_alias=True, mode="json"))
    assert result.is_error and "[REDACTED]" in shown
    assert not leaks(shown) and not leaks(caplog.text)


def test_the_log_filter_redacts_altered_forms_in_any_record() -> None:
    # Libraries' own debug traces (httpcore prints response headers) pass the process's filter.
    record = logging.LogRecord("httpcore.http11", logging.DEBUG, __file__, 1, "headers=%r", None, None)
    record.args = ([(b"x-request-id", f"Bearer {altered}".encode()) for altered in ALTERED],)
    RedactingFilter([Secret(TOKEN)]).filter(record)
    assert not leaks(record.getMessage()) and record.getMessage().count("[REDACTED]") == len(ALTERED)


def test_redaction_leaves_ordinary_text_alone() -> None:
    secret = Secret(TOKEN)
    ordinary = (
        f"pylon_api_ prefix, 0123456789 digits, {TOKEN[:11]} eleven characters, https://x.example/a?b=c"
    )
    assert secret.redact(ordinary) == ordinary
    assert Secret("short").redact("a SHORT word") == "a [REDACTED] word"
