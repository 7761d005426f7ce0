"""HTTP mode as an OAuth 2.1 resource server (MCP authorization, RFC 9728, RFC 8707).

- `verify_jwt` / `introspection`: token verifiers (the SDK's `TokenVerifier` protocol);
- `jwks`: the issuer's signing keys, cached, refreshed on an unknown `kid`;
- `resource_server`: protected-resource metadata, the 401 challenge, the bearer gate;
- `caller`: who is calling (from the verified token) and which Pylon user writes for them;
- `policy`: which tools a caller's scopes allow, at list time and call time.

Nothing here is imported in stdio or static-bearer mode, apart from `caller` and `policy`,
which are light (no JOSE library).
"""
