"""HTTP mode as an OAuth resource server, against a real issuer served over loopback (tests/oauth_issuer.py).

The server fetches the issuer's discovery document and JWKS over HTTP, as it would from a real
identity provider; tokens come from the issuer's token endpoint unless a test needs a bad one.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import re
import socket
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx2
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from mcp import Client
from mcp.client.auth import OAuthClientProvider
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.auth import (
    AuthorizationCodeResult,
    OAuthClientInformationFull,
    OAuthClientMetadata,
    OAuthToken,
)
from mcp.shared.exceptions import MCPError

from pylon_mcp.config import Settings
from pylon_mcp.hosting.http import build_http_app
from pylon_mcp.pylon.auth import Secret
from pylon_mcp.sandbox import Sandbox
from pylon_mcp.sandbox.server import BackgroundServer
from pylon_mcp.server import build_server
from pylon_mcp.surface.tools.registry import TOOLS
from tests.conftest import TOKEN
from tests.mcp_helpers import INITIALIZE, settings_for, text
from tests.oauth_issuer import CLIENT_ID, CLIENT_SECRET, Issuer, new_key

pytestmark = pytest.mark.anyio

HEADERS = {"content-type": "application/json", "accept": "application/json, text/event-stream"}
# The default tools by the access kind their ToolDef declares, so tools other branches add are covered.
READ_TOOLS = {tool.name for tool in TOOLS if tool.default and tool.access == "read"}
WRITE_TOOLS = {tool.name for tool in TOOLS if tool.default and tool.access == "write"}
NEW_ISSUE = {
    "title": "Printer on fire",
    "body_markdown": "It is **on fire**.",
    "requester_email": "c@example.org",
}


def teammate(sandbox: Sandbox) -> tuple[str, str]:
    """(email, Pylon user ID) of someone on the support team, as the sandbox's GET /users lists them."""
    user = next(iter(sandbox.store.directory.users.values()))
    assert user.email
    return user.email, user.id


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Hosted:
    """The MCP server in OAuth mode on a known port (the resource URL names it)."""

    def __init__(self, sandbox: Sandbox, sandbox_url: str, issuer: Issuer, **changes: Any) -> None:
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        self.resource = f"{self.url}/mcp"
        self.settings: Settings = settings_for(
            sandbox_url, transport="http", port=port, oauth_issuer=issuer.url, resource_url=self.resource
        ).with_(**changes)
        self.settings.validate()
        server = build_server(self.settings)
        self.background = BackgroundServer(build_http_app(server, self.settings), port=port, lifespan="on")


@pytest.fixture
def issuer() -> Iterator[Issuer]:
    issuer = Issuer().start()
    yield issuer
    issuer.stop()


@pytest.fixture
def hosted(sandbox: Sandbox, sandbox_url: str, issuer: Issuer) -> Iterator[Hosted]:
    hosted = Hosted(sandbox, sandbox_url, issuer)
    with hosted.background:
        yield hosted


def get_token(
    issuer: Issuer, resource: str, scope: str, email: str | None = "ana@example.com", **form: str
) -> str:
    """From the issuer's token endpoint, with the RFC 8707 resource indicator, as a client would."""
    data = {"grant_type": "client_credentials", "resource": resource, "scope": scope, **form}
    if email:
        data["email"] = email
    response = httpx2.post(f"{issuer.url}/token", data=data, auth=(CLIENT_ID, CLIENT_SECRET), timeout=10)
    assert response.status_code == 200, response.text
    return response.json()["access_token"]


@asynccontextmanager
async def session(hosted: Hosted, token: str, mode: str = "auto") -> AsyncIterator[Client]:
    async with (
        httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"}, timeout=30) as http,
        Client(streamable_http_client(f"{hosted.resource}", http_client=http), mode=mode, cache=None) as c,
    ):
        yield c


def post(hosted: Hosted, token: str | None = None, body: Any = INITIALIZE) -> httpx2.Response:
    headers = dict(HEADERS)
    if token is not None:
        headers["authorization"] = f"Bearer {token}"
    return httpx2.post(hosted.resource, content=json.dumps(body), headers=headers, timeout=10)


def challenge(response: httpx2.Response, status: int = 401) -> dict[str, str]:
    """The Bearer challenge's parameters (RFC 6750 §3: auth-param = token "=" quoted-string)."""
    assert response.status_code == status, response.text
    header = response.headers["www-authenticate"]
    scheme, _, params = header.partition(" ")
    assert scheme == "Bearer"
    parsed = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', params))
    assert ", ".join(f'{k}="{v}"' for k, v in parsed.items()) == params  # nothing else in the header
    return parsed


def test_no_token_gets_a_401_challenge_that_leads_to_the_metadata(hosted: Hosted, issuer: Issuer) -> None:
    params = challenge(post(hosted))
    assert params == {
        "resource_metadata": f"{hosted.url}/.well-known/oauth-protected-resource/mcp",
        "scope": "pylon:read pylon:write",  # no error code when no token was sent (RFC 6750 §3.1)
    }
    path_doc = httpx2.get(params["resource_metadata"], timeout=10)
    root_doc = httpx2.get(f"{hosted.url}/.well-known/oauth-protected-resource", timeout=10)
    assert path_doc.status_code == root_doc.status_code == 200
    assert path_doc.headers["content-type"].startswith("application/json")
    assert (
        path_doc.json()
        == root_doc.json()
        == {
            "resource": hosted.resource,
            "authorization_servers": [issuer.url],
            "scopes_supported": ["pylon:read", "pylon:write"],
            "bearer_methods_supported": ["header"],
            "resource_name": "Pylon support issues (pylon-mcp)",
        }
    )


async def test_a_client_can_follow_the_challenge_to_a_token_and_work(hosted: Hosted, issuer: Issuer) -> None:
    """What MCP Inspector does: 401 → resource metadata → issuer metadata → token for the resource → call."""
    params = challenge(post(hosted))
    resource_doc = httpx2.get(params["resource_metadata"], timeout=10).json()
    (authorization_server,) = resource_doc["authorization_servers"]
    issuer_doc = httpx2.get(
        f"{authorization_server}/.well-known/oauth-authorization-server", timeout=10
    ).json()
    response = httpx2.post(
        issuer_doc["token_endpoint"],
        data={
            "grant_type": "client_credentials",
            "resource": resource_doc["resource"],
            "scope": params["scope"],
            "email": "ana@example.com",
        },
        auth=(CLIENT_ID, CLIENT_SECRET),
        timeout=10,
    )
    async with session(hosted, response.json()["access_token"]) as c:
        result = await c.call_tool("get_issue", {"issue_id": "7"})
        assert not result.is_error and text(result).startswith("Issue #7")


def test_metadata_is_served_before_the_host_and_origin_checks_and_allows_cors(hosted: Hosted) -> None:
    response = httpx2.get(
        f"{hosted.url}/.well-known/oauth-protected-resource/mcp", headers={"origin": "https://app.example"}
    )
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == "*"


def public_pem(issuer: Issuer) -> bytes:
    return issuer.key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def hs256_by_hand(claims: dict[str, Any], secret: bytes, kid: str) -> str:
    """PyJWT won't make this token (it refuses a public key as an HMAC secret), so build it directly."""

    def b64(data: bytes) -> bytes:
        return base64.urlsafe_b64encode(data).rstrip(b"=")

    head = b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": kid}).encode())
    body = b64(json.dumps(claims).encode())
    signature = b64(hmac.new(secret, head + b"." + body, hashlib.sha256).digest())
    return (head + b"." + body + b"." + signature).decode()


def _bad_tokens(issuer: Issuer, hosted: Hosted) -> dict[str, str]:
    def claims(**changes: Any) -> dict[str, Any]:
        return {**issuer.claims(audience=hosted.resource, scope="pylon:read pylon:write", email="ana@example.com"),
                **changes}  # fmt: skip

    stranger_kid, stranger_key = new_key()
    now = int(time.time())
    return {
        "wrong audience": issuer.sign(claims(aud="https://other-server.example/mcp")),
        "expired": issuer.sign(claims(iat=now - 3600, exp=now - 600)),
        "unknown signing key": issuer.sign(claims(), kid=stranger_kid, key=stranger_key),
        "known kid, other key": issuer.sign(claims(), key=stranger_key),
        "other issuer": issuer.sign(claims(iss="https://evil.example")),
        "no exp": issuer.sign({k: v for k, v in claims().items() if k != "exp"}),
        "alg none": jwt.encode(claims(), None, algorithm="none"),
        # The classic confusion: HMAC "signed" with the issuer's public key as the shared secret.
        "HS256 with the public key": hs256_by_hand(claims(), public_pem(issuer), issuer.kid),
        "algorithm not the key's": jwt.encode(
            claims(), ec.generate_private_key(ec.SECP256R1()), algorithm="ES256", headers={"kid": issuer.kid}
        ),
        "not a jwt": "opaque-garbage-token",
    }


@pytest.mark.parametrize(
    ("case", "reason"),
    [
        ("wrong audience", "Audience doesn't match"),
        ("expired", "Signature has expired"),
        ("unknown signing key", "no signing key"),
        ("known kid, other key", "Signature verification failed"),
        ("other issuer", "Invalid issuer"),
        ("no exp", '"exp"'),
        ("alg none", "algorithm 'none' is not accepted"),
        ("HS256 with the public key", "algorithm 'HS256' is not accepted"),
        ("algorithm not the key's", "algorithm ES256 does not fit key"),
        ("not a jwt", None),
    ],
)
def test_bad_tokens_get_a_401_invalid_token_challenge(
    hosted: Hosted,
    issuer: Issuer,
    sandbox: Sandbox,
    caplog: pytest.LogCaptureFixture,
    case: str,
    reason: str | None,
) -> None:
    caplog.set_level(logging.INFO, logger="pylon_mcp.auth")
    params = challenge(post(hosted, _bad_tokens(issuer, hosted)[case]))
    assert params["error"] == "invalid_token"
    assert params["resource_metadata"].endswith("/.well-known/oauth-protected-resource/mcp")
    assert params["scope"] == "pylon:read pylon:write"
    if reason is not None:  # refused for the reason the case is about, not another
        assert reason in caplog.text
    assert sandbox.requests() == []


def test_a_good_token_passes_the_gate(hosted: Hosted, issuer: Issuer) -> None:
    response = post(hosted, get_token(issuer, hosted.resource, "pylon:read"))
    assert response.status_code == 200, response.text


def test_a_token_from_the_token_endpoint_for_another_resource_is_refused(
    hosted: Hosted, issuer: Issuer
) -> None:
    assert challenge(post(hosted, get_token(issuer, "https://other.example/mcp", "pylon:read")))["error"]


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_read_scope_sees_no_write_tools_and_writes_are_refused_naming_the_scope(
    hosted: Hosted, issuer: Issuer, sandbox: Sandbox, mode: str
) -> None:
    async with session(hosted, get_token(issuer, hosted.resource, "pylon:read"), mode=mode) as c:
        names = {tool.name for tool in (await c.list_tools()).tools}
        assert names == READ_TOOLS
        result = await c.call_tool("create_issue", NEW_ISSUE)
        assert result.is_error
        assert "'pylon:write'" in text(result) and "granted: pylon:read" in text(result)
        assert not (await c.call_tool("get_issue", {"issue_id": "7"})).is_error
    assert sandbox.requests("POST /issues") == []


async def test_write_scope_alone_cannot_read(hosted: Hosted, issuer: Issuer, sandbox: Sandbox) -> None:
    async with session(hosted, get_token(issuer, hosted.resource, "pylon:write")) as c:
        assert {tool.name for tool in (await c.list_tools()).tools} == WRITE_TOOLS
        result = await c.call_tool("get_issue", {"issue_id": "7"})
        assert result.is_error and "'pylon:read'" in text(result)
    assert sandbox.requests() == []


def test_a_token_with_none_of_the_scopes_gets_a_403_step_up_challenge(
    hosted: Hosted, issuer: Issuer, sandbox: Sandbox
) -> None:
    response = post(hosted, get_token(issuer, hosted.resource, "openid profile"))
    assert response.status_code == 403, response.text
    header = response.headers["www-authenticate"]
    assert header == (
        'Bearer error="insufficient_scope", error_description="The token has none of this server\'s scopes", '
        f'resource_metadata="{hosted.url}/.well-known/oauth-protected-resource/mcp", scope="pylon:read pylon:write"'
    )
    assert sandbox.requests() == []


async def test_write_scope_posts_as_the_mapped_pylon_user_and_logs_the_caller(
    hosted: Hosted, issuer: Issuer, sandbox: Sandbox, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="pylon_mcp.auth")
    email, user_id = teammate(sandbox)
    async with session(
        hosted, get_token(issuer, hosted.resource, "pylon:read pylon:write", email=email)
    ) as c:
        assert {tool.name for tool in (await c.list_tools()).tools} == READ_TOOLS | WRITE_TOOLS
        result = await c.call_tool("create_issue", NEW_ISSUE)
        assert not result.is_error, text(result)
    (sent,) = sandbox.requests("POST /issues")
    assert sent.body["user_id"] == user_id
    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("write create_issue")]
    assert lines == [f"write create_issue by {email} as Pylon user {user_id}: done"]


async def test_a_caller_with_no_pylon_user_can_read_but_not_write(
    hosted: Hosted, issuer: Issuer, sandbox: Sandbox
) -> None:
    token = get_token(issuer, hosted.resource, "pylon:read pylon:write", email="temp@contractor.example")
    async with session(hosted, token) as c:
        assert not (await c.call_tool("get_issue", {"issue_id": "7"})).is_error
        result = await c.call_tool("create_issue", NEW_ISSUE)
        assert result.is_error
        assert "no Pylon user has the email temp@contractor.example" in text(result)
        assert "Nothing was sent to Pylon" in text(result)
    assert sandbox.requests("POST /issues") == []


async def test_a_token_without_the_email_claim_cannot_write(
    hosted: Hosted, issuer: Issuer, sandbox: Sandbox
) -> None:
    async with session(hosted, get_token(issuer, hosted.resource, "pylon:read pylon:write", email=None)) as c:
        result = await c.call_tool("create_issue", NEW_ISSUE)
        assert result.is_error and "no email in its 'email' claim" in text(result)
    assert sandbox.requests("POST /issues") == []


async def test_writes_without_a_pylon_user_can_be_allowed_as_the_api_token_user(
    sandbox_url: str, issuer: Issuer, sandbox: Sandbox
) -> None:
    hosted = Hosted(sandbox, sandbox_url, issuer, oauth_writes_need_user=False)
    with hosted.background:
        token = get_token(issuer, hosted.resource, "pylon:read pylon:write", email="temp@contractor.example")
        async with session(hosted, token) as c:
            assert not (await c.call_tool("create_issue", NEW_ISSUE)).is_error
    (sent,) = sandbox.requests("POST /issues")
    assert "user_id" not in sent.body


async def test_scope_names_and_email_claim_are_configurable(
    sandbox_url: str, issuer: Issuer, sandbox: Sandbox
) -> None:
    hosted = Hosted(
        sandbox,
        sandbox_url,
        issuer,
        oauth_scopes=("tickets.read", "tickets.write", "tickets.reply"),
        oauth_email_claim="sub",
    )
    with hosted.background:
        assert challenge(post(hosted))["scope"] == "tickets.read tickets.write"
        email, user_id = teammate(sandbox)
        token = get_token(issuer, hosted.resource, "tickets.write pylon:read", email=None, sub=email)
        async with session(hosted, token) as c:
            assert {tool.name for tool in (await c.list_tools()).tools} == WRITE_TOOLS
            result = await c.call_tool("create_issue", NEW_ISSUE)
            assert not result.is_error, text(result)
    assert sandbox.requests("POST /issues")[0].body["user_id"] == user_id


async def test_read_only_mode_narrows_further_than_scopes(
    sandbox: Sandbox, sandbox_url: str, issuer: Issuer
) -> None:
    hosted = Hosted(sandbox, sandbox_url, issuer, read_only=True, exclude_tools=("search_issues",))
    with hosted.background:
        assert challenge(post(hosted))["scope"] == "pylon:read"  # no write tool offered, no write scope asked
        async with session(hosted, get_token(issuer, hosted.resource, "pylon:read pylon:write")) as c:
            assert {tool.name for tool in (await c.list_tools()).tools} == READ_TOOLS - {"search_issues"}
            result = await c.call_tool("create_issue", NEW_ISSUE)
            assert result.is_error and "read-only mode" in text(result)


async def test_jwks_rotation_refuses_old_key_tokens_and_accepts_new_ones(
    hosted: Hosted, issuer: Issuer, sandbox: Sandbox
) -> None:
    old = get_token(issuer, hosted.resource, "pylon:read")
    assert post(hosted, old).status_code == 200
    fetches = issuer.jwks_fetches
    assert post(hosted, old).status_code == 200 and issuer.jwks_fetches == fetches  # cached, not refetched
    issuer.rotate()
    new = get_token(issuer, hosted.resource, "pylon:read")
    assert post(hosted, new).status_code == 200  # unknown kid → refresh → accepted
    assert issuer.jwks_fetches == fetches + 1
    assert challenge(post(hosted, old))["error"] == "invalid_token"  # its key is gone after the refresh
    async with session(hosted, new) as c:
        assert not (await c.call_tool("get_issue", {"issue_id": "7"})).is_error


def test_invented_kids_cannot_make_the_server_hammer_the_issuer(hosted: Hosted, issuer: Issuer) -> None:
    stranger_kid, stranger_key = new_key()
    claims = issuer.claims(audience=hosted.resource, scope="pylon:read", email=None)
    for n in range(30):
        post(hosted, issuer.sign(claims, kid=f"{stranger_kid}-{n}", key=stranger_key))
    for _ in range(5):
        post(hosted, issuer.sign(claims, kid=stranger_kid, key=stranger_key))
    assert issuer.jwks_fetches <= 10  # at most 10 refreshes a minute, each kid looked for once


async def test_the_oauth_token_never_reaches_pylon_logs_or_output(
    hosted: Hosted, issuer: Issuer, sandbox: Sandbox, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    email, _ = teammate(sandbox)
    token = get_token(issuer, hosted.resource, "pylon:read pylon:write", email=email)
    outputs = [post(hosted, token).text]
    async with session(hosted, token) as c:
        outputs.append(json.dumps((await c.list_tools()).model_dump(mode="json")))
        for name, arguments in (
            ("get_issue", {"issue_id": "7"}),
            ("search_issues", {"state": "new"}),
            ("create_issue", NEW_ISSUE),
            ("update_issue", {"issue_id": "7", "state": "closed"}),
            ("get_issue", {"issue_id": "no-such-issue"}),
        ):
            outputs.append(json.dumps((await c.call_tool(name, arguments)).model_dump(mode="json")))
    outputs.append(challenge(post(hosted, token + "x")).get("error_description", ""))
    upstream = sandbox.requests()
    assert len(upstream) >= 5
    for entry in upstream:
        assert entry.headers["authorization"] == f"Bearer {TOKEN}"  # the server's own Pylon token, always
        assert token not in json.dumps([entry.path, entry.query, entry.body, entry.headers])
    assert all(token not in output for output in outputs)
    assert caplog.records and token not in caplog.text
    assert f"write create_issue by {email}" in caplog.text  # the log names the caller instead


async def test_introspection_mode_accepts_active_tokens_for_this_server_only(
    sandbox_url: str, issuer: Issuer, sandbox: Sandbox
) -> None:
    hosted = Hosted(
        sandbox,
        sandbox_url,
        issuer,
        oauth_introspection_url=f"{issuer.url}/introspect",
        oauth_client_id=CLIENT_ID,
        oauth_client_secret=Secret(CLIENT_SECRET),
    )
    with hosted.background:
        email, user_id = teammate(sandbox)
        good = get_token(
            issuer, hosted.resource, "pylon:read pylon:write", email=email, token_format="opaque"
        )
        async with session(hosted, good) as c:
            assert {tool.name for tool in (await c.list_tools()).tools} == READ_TOOLS | WRITE_TOOLS
            assert not (await c.call_tool("create_issue", NEW_ISSUE)).is_error
        assert sandbox.requests("POST /issues")[0].body["user_id"] == user_id
        calls = issuer.introspections
        assert post(hosted, good).status_code == 200 and issuer.introspections == calls  # cached briefly
        other = get_token(issuer, "https://other.example/mcp", "pylon:read", token_format="opaque")
        assert challenge(post(hosted, other))["error"] == "invalid_token"
        expired = get_token(issuer, hosted.resource, "pylon:read", token_format="opaque", expires_in="-5")
        assert challenge(post(hosted, expired))["error"] == "invalid_token"
        assert challenge(post(hosted, "never-issued"))["error"] == "invalid_token"


def test_static_bearer_mode_is_unchanged_and_serves_no_oauth_metadata(sandbox_url: str) -> None:
    settings = settings_for(sandbox_url, transport="http", auth_token=Secret("static-bearer-x"))
    with BackgroundServer(build_http_app(build_server(settings), settings), lifespan="on") as server:
        assert httpx2.get(f"{server.url}/.well-known/oauth-protected-resource").status_code == 404
        response = httpx2.post(f"{server.url}/mcp", content=json.dumps(INITIALIZE), headers=HEADERS)
        assert response.status_code == 401 and "resource_metadata" not in response.headers["www-authenticate"]


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_resources_and_completions_need_the_read_scope(
    hosted: Hosted, issuer: Issuer, sandbox: Sandbox, mode: str
) -> None:
    async with session(hosted, get_token(issuer, hosted.resource, "pylon:write"), mode=mode) as c:
        assert (await c.list_resources()).resources == []
        assert (await c.list_resource_templates()).resource_templates == []
        with pytest.raises(MCPError, match="resources/read needs the OAuth scope 'pylon:read'"):
            await c.read_resource("pylon://issues/7")
    assert sandbox.requests() == []
    async with session(hosted, get_token(issuer, hosted.resource, "pylon:read"), mode=mode) as c:
        assert [r.uri for r in (await c.list_resources()).resources] == ["pylon://issues/recent"]
        contents = (await c.read_resource("pylon://issues/7")).contents
        assert "Issue #7" in contents[0].text  # type: ignore[union-attr]


class MemoryStorage:
    """The SDK client's token store, holding the client the issuer has registered (no dynamic registration)."""

    def __init__(self, issuer: Issuer) -> None:
        self.tokens: OAuthToken | None = None
        self.client = OAuthClientInformationFull(
            client_id=CLIENT_ID,
            client_secret=CLIENT_SECRET,
            redirect_uris=issuer.redirect_uris,
            token_endpoint_auth_method="client_secret_basic",
            grant_types=["authorization_code"],
        )

    async def get_tokens(self) -> OAuthToken | None:
        return self.tokens

    async def set_tokens(self, tokens: OAuthToken) -> None:
        self.tokens = tokens

    async def get_client_info(self) -> OAuthClientInformationFull | None:
        return self.client

    async def set_client_info(self, client_info: OAuthClientInformationFull) -> None:
        self.client = client_info


def sdk_oauth_client(hosted: Hosted, issuer: Issuer) -> tuple[OAuthClientProvider, MemoryStorage]:
    """The SDK's own OAuth client; the 'browser' follows the issuer's redirect without a login page."""
    redirects: list[str] = []

    async def open_browser(url: str) -> None:
        async with httpx2.AsyncClient() as browser:
            response = await browser.get(url)
        assert response.status_code == 302, response.text
        redirects.append(response.headers["location"])

    async def callback() -> AuthorizationCodeResult:
        query = parse_qs(urlsplit(redirects.pop()).query)
        return AuthorizationCodeResult(code=query["code"][0], state=query["state"][0], iss=query["iss"][0])

    storage = MemoryStorage(issuer)
    provider = OAuthClientProvider(
        server_url=hosted.resource,
        client_metadata=OAuthClientMetadata(redirect_uris=issuer.redirect_uris, client_name="tests"),
        storage=storage,
        redirect_handler=open_browser,
        callback_handler=callback,
    )
    return provider, storage


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_the_sdk_oauth_client_discovers_signs_in_and_works_as_the_person(
    hosted: Hosted, issuer: Issuer, sandbox: Sandbox, mode: str
) -> None:
    """The MCP Inspector path, with the SDK's client: 401 challenge → metadata → issuer → code + PKCE → token."""
    email, user_id = teammate(sandbox)
    issuer.person = {"sub": "person-7", "email": email}
    provider, storage = sdk_oauth_client(hosted, issuer)
    async with (
        httpx2.AsyncClient(auth=provider, timeout=30) as http,
        Client(streamable_http_client(hosted.resource, http_client=http), mode=mode, cache=None) as c,
    ):
        assert {tool.name for tool in (await c.list_tools()).tools} == READ_TOOLS | WRITE_TOOLS
        result = await c.call_tool("create_issue", NEW_ISSUE)
        assert not result.is_error, text(result)
    assert (
        storage.tokens is not None and storage.tokens.scope == "pylon:read pylon:write"
    )  # the challenge's scope
    claims = jwt.decode(storage.tokens.access_token, options={"verify_signature": False})
    assert claims["aud"] == hosted.resource  # the client asked for this server as the resource (RFC 8707)
    assert sandbox.requests("POST /issues")[0].body["user_id"] == user_id


def test_the_resource_urls_host_is_accepted_without_listing_it_again(
    sandbox: Sandbox, sandbox_url: str, issuer: Issuer
) -> None:
    public = "https://mcp.example.com/mcp"
    settings = settings_for(
        sandbox_url, transport="http", host="0.0.0.0", oauth_issuer=issuer.url, resource_url=public
    )
    app = build_http_app(build_server(settings), settings)
    with BackgroundServer(app, lifespan="on") as server:
        headers = {**HEADERS, "authorization": f"Bearer {get_token(issuer, public, 'pylon:read')}"}
        for host, status in (("mcp.example.com", 200), ("evil.example", 421)):
            response = httpx2.post(
                f"{server.url}/mcp", content=json.dumps(INITIALIZE), headers={**headers, "host": host}
            )
            assert response.status_code == status, response.text


async def test_a_note_is_posted_as_the_mapped_pylon_user(
    hosted: Hosted, issuer: Issuer, sandbox: Sandbox
) -> None:
    email, user_id = teammate(sandbox)
    async with session(
        hosted, get_token(issuer, hosted.resource, "pylon:read pylon:write", email=email)
    ) as c:
        result = await c.call_tool(
            "add_internal_note", {"issue_id": "7", "body_markdown": "Checked the logs."}
        )
        assert not result.is_error, text(result)
    (sent,) = sandbox.requests("POST /issues/{id}/note")
    assert sent.body["user_id"] == user_id


async def test_a_note_from_a_caller_with_no_pylon_user_is_refused(
    hosted: Hosted, issuer: Issuer, sandbox: Sandbox
) -> None:
    token = get_token(issuer, hosted.resource, "pylon:read pylon:write", email="temp@contractor.example")
    async with session(hosted, token) as c:
        result = await c.call_tool(
            "add_internal_note", {"issue_id": "7", "body_markdown": "Checked the logs."}
        )
        assert result.is_error and "no Pylon user has the email temp@contractor.example" in text(result)
    assert sandbox.requests("POST /issues/{id}/note") == []


async def test_customer_replies_need_the_switch_and_the_reply_scope_and_go_out_as_the_person(
    sandbox: Sandbox, sandbox_url: str, issuer: Issuer
) -> None:
    email, user_id = teammate(sandbox)
    number = next(r.number for r in sandbox.store._order if r.source == "email")
    arguments = {"issue_id": str(number), "body_markdown": "Hi, the fix is live."}
    hosted = Hosted(sandbox, sandbox_url, issuer, allow_customer_replies=True)
    with hosted.background:
        assert challenge(post(hosted))["scope"] == "pylon:read pylon:write pylon:reply"
        async with session(
            hosted, get_token(issuer, hosted.resource, "pylon:read pylon:write", email=email)
        ) as c:
            assert "send_customer_reply" not in {tool.name for tool in (await c.list_tools()).tools}
            refused = await c.call_tool("send_customer_reply", arguments)
            assert refused.is_error and "'pylon:reply'" in text(refused)
        token = get_token(issuer, hosted.resource, "pylon:read pylon:reply", email=email)
        async with session(hosted, token) as c:
            assert "send_customer_reply" in {tool.name for tool in (await c.list_tools()).tools}
            preview = await c.call_tool("send_customer_reply", arguments)
            assert not preview.is_error, text(preview)
            confirmation = (preview.structured_content or {})["confirmation_token"]
            sent = await c.call_tool("send_customer_reply", {**arguments, "confirmation_token": confirmation})
            assert not sent.is_error, text(sent)
    (reply,) = sandbox.requests("POST /issues/{id}/reply")
    assert reply.body["user_id"] == user_id
    # Without the switch, the reply scope unlocks nothing: the tool isn't offered at all.
    async with session_for_default_hosted(sandbox, sandbox_url, issuer, email) as c:
        assert "send_customer_reply" not in {tool.name for tool in (await c.list_tools()).tools}


@asynccontextmanager
async def session_for_default_hosted(
    sandbox: Sandbox, sandbox_url: str, issuer: Issuer, email: str
) -> AsyncIterator[Client]:
    hosted = Hosted(sandbox, sandbox_url, issuer)
    with hosted.background:
        token = get_token(issuer, hosted.resource, "pylon:read pylon:write pylon:reply", email=email)
        async with session(hosted, token) as c:
            yield c


def test_tools_are_classified_by_what_they_do() -> None:
    kinds = {tool.name: tool.access for tool in TOOLS}
    assert {"get_issue", "search_issues", "get_issue_messages"} <= READ_TOOLS
    assert {"create_issue", "update_issue", "add_internal_note"} <= WRITE_TOOLS
    assert kinds["send_customer_reply"] == "reply" and kinds["delete_issue"] == "write"
    assert not READ_TOOLS & WRITE_TOOLS
