"""A small OAuth 2.1 / OpenID issuer for tests, served over loopback like a real identity provider.

It serves discovery (OIDC and RFC 8414), a JWKS, a token endpoint and RFC 7662 introspection.
The token endpoint takes the client-credentials grant from registered clients; `email`, `sub`
and `expires_in` form fields stand in for the person who would have signed in through a browser
(the part of a real flow tests can't click through). `rotate()` replaces the signing key.
"""

from __future__ import annotations

import base64
import secrets
import threading
import time
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from pylon_mcp.sandbox.server import BackgroundServer

CLIENT_ID = "pylon-mcp-tests"
CLIENT_SECRET = "issuer-client-secret-5b2e"


def new_key() -> tuple[str, rsa.RSAPrivateKey]:
    return f"k-{secrets.token_hex(4)}", rsa.generate_private_key(public_exponent=65537, key_size=2048)


def public_jwk(kid: str, key: rsa.RSAPrivateKey) -> dict[str, Any]:
    jwk = jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key(), as_dict=True)
    return {**jwk, "kid": kid, "use": "sig", "alg": "RS256"}


class Issuer:
    def __init__(self) -> None:
        self.server = BackgroundServer(
            Starlette(
                routes=[
                    Route("/.well-known/openid-configuration", self._metadata),
                    Route("/.well-known/oauth-authorization-server", self._metadata),
                    Route("/jwks", self._jwks),
                    Route("/token", self._token, methods=["POST"]),
                    Route("/introspect", self._introspect, methods=["POST"]),
                ]
            )
        )
        self.kid, self.key = new_key()
        self.opaque: dict[str, dict[str, Any]] = {}
        self.jwks_fetches = 0
        self.introspections = 0
        self._lock = threading.Lock()

    def start(self) -> Issuer:
        self.server.start()
        return self

    def stop(self) -> None:
        self.server.stop()

    @property
    def url(self) -> str:
        return self.server.url

    def rotate(self) -> None:
        """A new signing key replaces the old one, as identity providers do on rotation."""
        with self._lock:
            self.kid, self.key = new_key()

    def sign(
        self, claims: dict[str, Any], *, kid: str | None = None, key: rsa.RSAPrivateKey | None = None
    ) -> str:
        return jwt.encode(claims, key or self.key, algorithm="RS256", headers={"kid": kid or self.kid})

    def claims(
        self, *, audience: str, scope: str, email: str | None, sub: str = "user-1", expires_in: int = 300
    ) -> dict[str, Any]:
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.url,
            "sub": sub,
            "aud": audience,
            "client_id": CLIENT_ID,
            "scope": scope,
            "iat": now,
            "exp": now + expires_in,
            "jti": secrets.token_hex(8),
        }
        if email is not None:
            claims["email"] = email
        return claims

    # --- HTTP ---------------------------------------------------------------------------

    async def _metadata(self, request: Request) -> Response:
        base = self.url
        return JSONResponse(
            {
                "issuer": base,
                "jwks_uri": f"{base}/jwks",
                "token_endpoint": f"{base}/token",
                "introspection_endpoint": f"{base}/introspect",
                "authorization_endpoint": f"{base}/authorize",
                "response_types_supported": ["code"],
                "grant_types_supported": ["authorization_code", "client_credentials"],
                "code_challenge_methods_supported": ["S256"],
                "token_endpoint_auth_methods_supported": ["client_secret_basic"],
                "scopes_supported": ["pylon:read", "pylon:write", "pylon:reply"],
            }
        )

    async def _jwks(self, request: Request) -> Response:
        with self._lock:
            self.jwks_fetches += 1
            return JSONResponse({"keys": [public_jwk(self.kid, self.key)]})

    def _client_ok(self, request: Request) -> bool:
        header = request.headers.get("authorization", "")
        expected = base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
        return header == f"Basic {expected}"

    async def _token(self, request: Request) -> Response:
        if not self._client_ok(request):
            return JSONResponse({"error": "invalid_client"}, status_code=401)
        form = await request.form()
        if form.get("grant_type") != "client_credentials":
            return JSONResponse({"error": "unsupported_grant_type"}, status_code=400)
        resource = str(form.get("resource") or "")
        if not resource:
            return JSONResponse({"error": "invalid_target", "error_description": "resource is required"}, 400)
        email = form.get("email")
        claims = self.claims(
            audience=resource,
            scope=str(form.get("scope") or ""),
            email=str(email) if email else None,
            sub=str(form.get("sub") or "user-1"),
            expires_in=int(str(form.get("expires_in") or 300)),
        )
        if form.get("token_format") == "opaque":
            token = secrets.token_urlsafe(32)
            self.opaque[token] = claims
        else:
            token = self.sign(claims)
        return JSONResponse(
            {
                "access_token": token,
                "token_type": "Bearer",
                "expires_in": claims["exp"] - claims["iat"],
                "scope": claims["scope"],
            }
        )

    async def _introspect(self, request: Request) -> Response:
        if not self._client_ok(request):
            return JSONResponse({"error": "invalid_client"}, status_code=401)
        self.introspections += 1
        form = await request.form()
        claims = self.opaque.get(str(form.get("token")))
        if claims is None or claims["exp"] < time.time():
            return JSONResponse({"active": False})
        return JSONResponse({"active": True, **claims})
