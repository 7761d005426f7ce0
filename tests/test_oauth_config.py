"""OAuth settings: mistakes are named at start-up, and the CLI serves OAuth with no token reaching its logs."""

from __future__ import annotations

import signal
import subprocess
import sys
from typing import Any

import httpx2
import pytest

from pylon_mcp.config import ConfigError, Settings
from pylon_mcp.pylon.auth import Secret
from tests.conftest import TOKEN
from tests.oauth_issuer import CLIENT_ID, CLIENT_SECRET, Issuer
from tests.test_cli import env, free_port, wait_healthy

ISSUER = "https://sso.example.com/realms/support"
RESOURCE = "https://mcp.example.com/mcp"


def load(**environ: str) -> Settings:
    return Settings.load({"PYLON_MCP_TRANSPORT": "http", **environ})


@pytest.mark.parametrize(
    ("environ", "fragment"),
    [
        ({"PYLON_MCP_OAUTH_ISSUER": ISSUER}, "needs PYLON_MCP_RESOURCE_URL"),
        (
            {"PYLON_MCP_RESOURCE_URL": RESOURCE},
            "PYLON_MCP_RESOURCE_URL only apply(ies) with PYLON_MCP_OAUTH_ISSUER",
        ),
        ({"PYLON_MCP_OAUTH_AUDIENCE": "api://pylon"}, "PYLON_MCP_OAUTH_AUDIENCE only apply"),
        (
            {
                "PYLON_MCP_OAUTH_ISSUER": ISSUER,
                "PYLON_MCP_RESOURCE_URL": RESOURCE,
                "PYLON_MCP_AUTH_TOKEN": "x" * 20,
            },
            "choose one",
        ),
        (
            {"PYLON_MCP_OAUTH_ISSUER": "http://sso.example.com", "PYLON_MCP_RESOURCE_URL": RESOURCE},
            "PYLON_MCP_OAUTH_ISSUER must be an https:// URL",
        ),
        (
            {"PYLON_MCP_OAUTH_ISSUER": ISSUER, "PYLON_MCP_RESOURCE_URL": "https://mcp.example.com/mcp#x"},
            "#fragment",
        ),
        (
            {
                "PYLON_MCP_OAUTH_ISSUER": ISSUER,
                "PYLON_MCP_RESOURCE_URL": RESOURCE,
                "PYLON_MCP_OAUTH_INTROSPECTION_URL": f"{ISSUER}/introspect",
            },
            "needs PYLON_MCP_OAUTH_CLIENT_ID and PYLON_MCP_OAUTH_CLIENT_SECRET",
        ),
        (
            {
                "PYLON_MCP_OAUTH_ISSUER": ISSUER,
                "PYLON_MCP_RESOURCE_URL": RESOURCE,
                "PYLON_MCP_OAUTH_SCOPES": "a,b",
            },
            "three different scope names",
        ),
        (
            {
                "PYLON_MCP_OAUTH_ISSUER": ISSUER,
                "PYLON_MCP_RESOURCE_URL": RESOURCE,
                "PYLON_MCP_TRANSPORT": "stdio",
            },
            "applies to HTTP mode",
        ),
    ],
)
def test_oauth_mistakes_are_named(environ: dict[str, str], fragment: str) -> None:
    with pytest.raises(ConfigError) as error:
        load(**environ)
    assert fragment in str(error.value)


def test_oauth_counts_as_authentication_off_loopback() -> None:
    load(
        PYLON_MCP_HOST="0.0.0.0", PYLON_MCP_OAUTH_ISSUER=ISSUER, PYLON_MCP_RESOURCE_URL=RESOURCE
    ).check_http_security()
    with pytest.raises(ConfigError) as error:
        load(PYLON_MCP_HOST="0.0.0.0").check_http_security()
    assert "PYLON_MCP_OAUTH_ISSUER" in str(error.value)


def test_default_settings_need_no_identity_provider() -> None:
    settings = load()
    assert not settings.oauth and settings.oauth_scopes == ("pylon:read", "pylon:write", "pylon:reply")


def test_client_secret_is_redacted_in_describe() -> None:
    settings = load(
        PYLON_MCP_OAUTH_ISSUER=ISSUER,
        PYLON_MCP_RESOURCE_URL=RESOURCE,
        PYLON_MCP_OAUTH_INTROSPECTION_URL=f"{ISSUER}/introspect",
        PYLON_MCP_OAUTH_CLIENT_ID="pylon-mcp",
        PYLON_MCP_OAUTH_CLIENT_SECRET="very-secret-introspection-key",
    )
    assert isinstance(settings.oauth_client_secret, Secret)
    assert "very-secret" not in str(settings.describe())


def _token(issuer: Issuer, resource: str, scope: str, **form: Any) -> str:
    data = {"grant_type": "client_credentials", "resource": resource, "scope": scope, **form}
    return httpx2.post(f"{issuer.url}/token", data=data, auth=(CLIENT_ID, CLIENT_SECRET), timeout=10).json()[
        "access_token"
    ]


def test_cli_serves_oauth_and_no_token_reaches_its_output_at_debug_level(sandbox_url: str) -> None:
    issuer = Issuer().start()
    issuer_url = issuer.url
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    proc = subprocess.Popen(
        [sys.executable, "-m", "pylon_mcp", "--transport", "http", "--port", str(port), "--log-level", "debug",
         "--oauth-issuer", issuer.url, "--resource-url", f"{url}/mcp"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        env=env(PYLON_API_TOKEN=TOKEN, PYLON_API_URL=sandbox_url),
    )  # fmt: skip
    token = _token(issuer, f"{url}/mcp", "pylon:read pylon:write", email="ana@example.com")
    bodies: list[str] = []
    try:
        wait_healthy(url)
        headers = {"accept": "application/json, text/event-stream", "mcp-protocol-version": "2025-06-18"}
        unauthorised = httpx2.post(f"{url}/mcp", json={}, headers=headers, timeout=10)
        assert unauthorised.status_code == 401
        assert (
            f'resource_metadata="{url}/.well-known/oauth-protected-resource/mcp"'
            in (unauthorised.headers["www-authenticate"])
        )
        for name, arguments in (("get_issue", {"issue_id": "7"}), ("create_issue", {"title": "x"})):
            call = {"jsonrpc": "2.0", "id": 1, "method": "tools/call",
                    "params": {"name": name, "arguments": arguments}}  # fmt: skip
            response = httpx2.post(
                f"{url}/mcp", json=call, headers={**headers, "authorization": f"Bearer {token}"}, timeout=10
            )
            assert response.status_code == 200
            bodies.append(response.text)
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=20)
        issuer.stop()
    assert "Issue #7" in bodies[0]
    # The directory (GET /users on the sandbox) has nobody with this email: the write is refused.
    assert "no Pylon user has the email ana@example.com" in bodies[1]
    stderr = err.decode()
    assert "GET /issues/7 200" in stderr and "JWKS refreshed" in stderr  # the debug log did run
    assert f"OAuth: each person signs in with {issuer_url} on first use" in stderr
    assert f'"url": "{url}/mcp"}}' in stderr and "PYLON_MCP_AUTH_TOKEN" not in stderr
    assert token not in "\n".join(bodies) + out.decode() + stderr


def test_the_jose_library_stays_off_the_start_up_path() -> None:
    """Start-up time is measured: stdio and static-bearer servers must not import PyJWT or the verifiers."""
    code = (
        "import sys; from pylon_mcp.config import Settings; from pylon_mcp.server import build_server; "
        "from pylon_mcp.hosting.http import build_http_app; s = Settings(transport='http'); "
        "build_http_app(build_server(s), s); "
        "print(sorted(m for m in ('jwt', 'pylon_mcp.auth.verify_jwt', 'pylon_mcp.auth.resource_server') "
        "if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert out.stdout.strip() == "[]"
