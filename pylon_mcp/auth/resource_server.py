"""The OAuth gate in front of /mcp: protected-resource metadata, the bearer challenge, token checks.

Built from the SDK's parts: `BearerAuthBackend` + `AuthContextMiddleware` verify the token with
our `TokenVerifier` and publish it to the request (`get_access_token()`), and the RFC 9728
document comes from `create_protected_resource_routes`. We don't let `MCPServer` wire them
itself (`auth=AuthSettings(...)`) because its challenge omits the `scope` parameter the MCP
authorization spec asks for, and it publishes only *required* scopes as `scopes_supported`,
while here every scope is optional and narrows the tool list instead.

Challenges (RFC 6750 §3, RFC 9728 §5.1):
- no token:      401, `Bearer resource_metadata="…", scope="…"` (no error code, per RFC 6750 §3.1);
- a bad token:   401, `Bearer error="invalid_token", error_description="…", resource_metadata="…", scope="…"`;
- a good token with none of our scopes: 403, `error="insufficient_scope"`, the same parameters.
A token with some of them passes: tools it can't use are hidden and refused per call (policy.py).
"""

from __future__ import annotations

import json
from typing import Any, Protocol

from mcp.server.auth.middleware.auth_context import AuthContextMiddleware
from mcp.server.auth.middleware.bearer_auth import AuthenticatedUser, BearerAuthBackend
from mcp.server.auth.provider import TokenVerifier
from mcp.server.auth.routes import build_resource_metadata_url, create_protected_resource_routes
from starlette.middleware.authentication import AuthenticationMiddleware
from starlette.routing import Route, Router
from starlette.types import ASGIApp, Receive, Scope, Send

from pylon_mcp.config import Settings

ROOT_METADATA_PATH = "/.well-known/oauth-protected-resource"


class ClosableVerifier(TokenVerifier, Protocol):
    async def aclose(self) -> None: ...


def make_verifier(settings: Settings) -> ClosableVerifier:
    """JWT validation by default; RFC 7662 introspection when its URL is set. Imported here, lazily:
    the JOSE library stays off the start-up path of every other mode."""
    assert settings.oauth_issuer and settings.resource_url
    audience = settings.oauth_audience or settings.resource_url
    if settings.oauth_introspection_url:
        from pylon_mcp.auth.introspection import IntrospectionVerifier

        return IntrospectionVerifier(
            url=settings.oauth_introspection_url,
            client_id=settings.oauth_client_id or "",
            client_secret=settings.oauth_client_secret,
            issuer=settings.oauth_issuer,
            audience=audience,
            timeout=settings.timeout,
        )
    from pylon_mcp.auth.verify_jwt import JwtVerifier

    return JwtVerifier(
        issuer=settings.oauth_issuer,
        audience=audience,
        jwks_url=settings.oauth_jwks_url,
        timeout=settings.timeout,
    )


def _quoted(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


class ResourceServer:
    """What the HTTP guard hands OAuth requests to: `metadata` for the well-known paths, `gate` for /mcp."""

    def __init__(
        self, app: ASGIApp, settings: Settings, scopes: list[str], verifier: ClosableVerifier
    ) -> None:
        assert settings.oauth_issuer and settings.resource_url
        self.verifier = verifier
        self.scopes = scopes
        # Strings, not AnyHttpUrl: pydantic would add a trailing slash to a path-less URL, and the
        # issuer and resource must reach clients exactly as configured (RFC 8414 §3.3, RFC 9728 §3.3).
        resource: Any = settings.resource_url
        issuer: Any = settings.oauth_issuer
        self.metadata_url = str(build_resource_metadata_url(resource))
        (route,) = create_protected_resource_routes(
            resource_url=resource,
            authorization_servers=[issuer],
            scopes_supported=scopes,
            resource_name="Pylon support issues (pylon-mcp)",
        )
        assert isinstance(route, Route)
        # RFC 9728 §3.1 puts the document at the path-specific URL; MCP clients fall back to the
        # root one, so it is served at both.
        self.metadata_paths = {route.path, ROOT_METADATA_PATH}
        self.metadata = Router(
            routes=[route, Route(ROOT_METADATA_PATH, endpoint=route.endpoint, methods=["GET", "OPTIONS"])]
        )
        self.gate = AuthenticationMiddleware(
            AuthContextMiddleware(_RequireToken(app, self)),
            backend=BearerAuthBackend(verifier),  # audience: checked by the verifier itself
        )

    def challenge(self, error: str | None = None, description: str | None = None) -> str:
        params = []
        if error:
            params += [f"error={_quoted(error)}", f"error_description={_quoted(description or error)}"]
        params.append(f"resource_metadata={_quoted(self.metadata_url)}")
        if self.scopes:
            params.append(f"scope={_quoted(' '.join(self.scopes))}")
        return "Bearer " + ", ".join(params)


class _RequireToken:
    def __init__(self, app: ASGIApp, server: ResourceServer) -> None:
        self.app = app
        self.server = server

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        user = scope.get("user")
        if isinstance(user, AuthenticatedUser):
            if self.server.scopes and not set(self.server.scopes) & set(user.scopes):
                # A valid token that allows nothing here: say which scopes would (RFC 6750 §3.1),
                # so the client can ask the person to consent to them (MCP step-up authorization).
                header = self.server.challenge(
                    "insufficient_scope", "The token has none of this server's scopes"
                )
                message = f"your sign-in grants none of this server's scopes ({' '.join(self.server.scopes)})"
                await _refuse(send, 403, header, message)
                return
            await self.app(scope, receive, send)
            return
        presented = any(
            k.lower() == b"authorization" and v[:7].lower() == b"bearer " and v[7:].strip()
            for k, v in scope.get("headers", [])
        )
        if presented:
            header = self.server.challenge(
                "invalid_token", "The access token is invalid, expired, or not for this server"
            )
            message = "invalid or expired access token, or one issued for another server: sign in again"
        else:
            header = self.server.challenge()
            message = "sign-in required: send an OAuth access token (Authorization: Bearer <token>)"
        await _refuse(send, 401, header, message)


async def _refuse(send: Send, status: int, challenge: str, message: str) -> None:
    body: dict[str, Any] = {"jsonrpc": "2.0", "id": None, "error": {"code": -32001, "message": message}}
    raw = json.dumps(body).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(raw)).encode()),
                (b"www-authenticate", challenge.encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": raw})
