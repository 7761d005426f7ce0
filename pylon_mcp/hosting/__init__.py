"""Serving over Streamable HTTP: the app and its guard (http.py), connection limits (limits.py),
`/readyz` (readiness.py) and Prometheus `/metrics` (metrics.py). OAuth lives beside it in pylon_mcp/auth.

Nothing here is imported in stdio mode, apart from metrics.py, whose recording is a no-op until
HTTP mode enables it (prometheus_client is imported only then).
"""
