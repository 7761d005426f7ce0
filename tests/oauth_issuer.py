"""A small OAuth 2.1 / OpenID issuer for tests, served over loopback like a real identity provider.

It serves discovery (OIDC and RFC 8414), a JWKS, a token endpoint and RFC 7662 introspection.
Two grants, for one registered client:
- authorization_code with PKCE (S256), as MCP clients use: `/authorize` signs in `person` (set
  by the test: the part of a real flow nobody can click through here) without a login page and
  redirects back with a code, `state` and `iss` (RFC 9207);
- client_credentials, where `email`, `sub` and `expires_in` form fields stand in for that person,
  for tests that need a token in one request.
`rotate()` replaces the signing key.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import threading
import time
from typing import Any
from urllib.parse import urlencode

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
                    Route("/authorize", self._authorize),
                    Route("/token", self._token, methods=["POST"]),
                    Route("/introspect", self._introspect, methods=["POST"]),
                ]
            )
        )
        self.kid, self.key = new_key()
        self.opaque: dict[str, dict[str, Any]] = {}
        self.person: dict[str, str] = {"sub": "user-1", "email": "ana@example.com"}
        self.redirect_uris = ["http://127.0.0.1:3999/callback"]
        self._codes: dict[str, dict[str, Any]] = {}
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
                "authorization_response_iss_parameter_supported": True,
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

    async def _authorize(self, request: Request) -> Response:
        q = request.query_params
        if q.get("client_id") != CLIENT_ID or q.get("redirect_uri") not in self.redirect_uris:
            return JSONResponse({"error": "invalid_client"}, status_code=400)
        if q.get("response_type") != "code" or q.get("code_challenge_method") != "S256":
            return JSONResponse({"error": "invalid_request"}, status_code=400)
        code = secrets.token_urlsafe(16)
        self._codes[code] = {
            "redirect_uri": q["redirect_uri"],
            "challenge": q.get("code_challenge", ""),
            "resource": q.get("resource", ""),
            "scope": q.get("scope", ""),
            "person": dict(self.person),
        }
        query = urlencode({"code": code, "state": q.get("state", ""), "iss": self.url})
        return Response(status_code=302, headers={"location": f"{q['redirect_uri']}?{query}"})

    async def _token(self, request: Request) -> Response:
        if not self._client_ok(request):
            return JSONResponse({"error": "invalid_client"}, status_code=401)
        form = await request.form()
        if form.get("grant_type") == "authorization_code":
            return self._code_grant({key: str(value) for key, value in form.items()})
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
        if form.get("email_verified") is not None:  # as OIDC providers send it: a JSON boolean
            claims["email_verified"] = form.get("email_verified") == "true"
        return self._issue(claims, opaque=form.get("token_format") == "opaque")

    def _code_grant(self, form: dict[str, str]) -> Response:
        grant = self._codes.pop(form.get("code", ""), None)
        if grant is None or grant["redirect_uri"] != form.get("redirect_uri"):
            return JSONResponse({"error": "invalid_grant"}, status_code=400)
        verifier = form.get("code_verifier", "")
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
        if challenge != grant["challenge"]:
            return JSONResponse({"error": "invalid_grant", "error_description": "PKCE check failed"}, 400)
        resource = form.get("resource") or grant["resource"]
        if not resource or resource != grant["resource"]:
            return JSONResponse({"error": "invalid_target"}, status_code=400)
        person = grant["person"]
        claims = self.claims(
            audience=resource, scope=grant["scope"], email=person.get("email"), sub=person["sub"]
        )
        return self._issue(claims, opaque=False)

    def _issue(self, claims: dict[str, Any], *, opaque: bool) -> Response:
        if opaque:
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
