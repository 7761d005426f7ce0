"""Prometheus metrics for HTTP mode: requests, tool calls, upstream statuses, 429s and latency.

Why prometheus-client and not the SDK's OpenTelemetry support: the SDK emits OpenTelemetry
*spans* through opentelemetry-api, which records nothing until an OpenTelemetry SDK, an
exporter and usually a collector are installed and configured. Operators asked for counts
and latencies they can scrape; prometheus-client is one small pure-Python package that
serves exactly that on our own `/metrics`, with no collector. Spans stay available to
anyone who installs an OpenTelemetry SDK: the SDK's own instrumentation is untouched.

Recording is a no-op until `enable()` (HTTP mode), so stdio never imports prometheus_client.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

_current: Any = None  # _Metrics once enabled

# Every label value comes from a fixed set: a value a caller or Pylon chooses (a made-up tool
# name, an odd status) would otherwise become a new time series for every request, and /metrics
# would grow without bound. Anything outside its set is counted under one catch-all value.
_known_tools: set[str] = set()
UNKNOWN = "unknown"
OUTCOMES = frozenset({"ok", "error"})


def known_tools(names: Iterable[str]) -> None:
    """Tool names to label by name (each server registers its own); any other name is `unknown`."""
    _known_tools.update(names)


def _tool(name: str) -> str:
    return name if name in _known_tools else UNKNOWN


def _status(status: int | None) -> str:
    if status is None or status == 0:
        return "error"  # no HTTP answer (timeout, connection error)
    return str(status) if isinstance(status, int) and 100 <= status <= 599 else "other"


def _endpoint(route: str) -> str:
    from pylon_mcp.pylon.gate import PUBLISHED_LIMITS  # every endpoint the client calls

    return route if route in PUBLISHED_LIMITS else "other"


class _Metrics:
    def __init__(self) -> None:
        from prometheus_client import CollectorRegistry, Counter, Histogram

        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.requests = Counter(
            "pylon_mcp_http_requests", "HTTP requests served", ["path", "status"], registry=r
        )
        self.request_seconds = Histogram("pylon_mcp_http_request_seconds", "HTTP request latency", ["path"],
                                         registry=r)  # fmt: skip
        self.tool_calls = Counter("pylon_mcp_tool_calls", "Tool calls by tool and outcome", ["tool", "outcome"],
                                  registry=r)  # fmt: skip
        self.tool_seconds = Histogram(
            "pylon_mcp_tool_call_seconds", "Tool call latency", ["tool"], registry=r
        )
        self.upstream = Counter("pylon_mcp_upstream_responses", "Pylon responses by endpoint and status",
                                ["endpoint", "status"], registry=r)  # fmt: skip
        self.upstream_seconds = Histogram("pylon_mcp_upstream_seconds", "Pylon request latency", ["endpoint"],
                                          registry=r)  # fmt: skip
        self.incomplete = Counter("pylon_mcp_http_incomplete_requests", "Requests whose client disconnected "
                                  "before sending the whole body", registry=r)  # fmt: skip
        self.refused_connections = Counter("pylon_mcp_http_refused_connections", "Connections answered 503 "
                                           "at once because the connection cap was reached", registry=r)  # fmt: skip
        self.rate_limited = Counter("pylon_mcp_rate_limited", "Requests held back by a 429 or the budget, by "
                                    "endpoint and what happened (upstream_429, refused)", ["endpoint", "kind"],
                                    registry=r)  # fmt: skip

    def render(self) -> tuple[bytes, str]:
        from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

        return generate_latest(self.registry), CONTENT_TYPE_LATEST


def enable() -> None:
    global _current
    if _current is None:
        _current = _Metrics()


def render() -> tuple[bytes, str] | None:
    return _current.render() if _current is not None else None


def tool_call(tool: str, outcome: str, seconds: float) -> None:
    if _current is not None:
        tool = _tool(tool)
        _current.tool_calls.labels(tool, outcome if outcome in OUTCOMES else "error").inc()
        _current.tool_seconds.labels(tool).observe(seconds)


def upstream(endpoint: str, status: int | None, seconds: float) -> None:
    if _current is not None:
        endpoint = _endpoint(endpoint)
        _current.upstream.labels(endpoint, _status(status)).inc()
        _current.upstream_seconds.labels(endpoint).observe(seconds)
        if status == 429:
            _current.rate_limited.labels(endpoint, "upstream_429").inc()


def incomplete_request() -> None:
    if _current is not None:
        _current.incomplete.inc()


def connection_refused() -> None:
    if _current is not None:
        _current.refused_connections.inc()


def refused(endpoint: str) -> None:
    if _current is not None:
        _current.rate_limited.labels(_endpoint(endpoint), "refused").inc()


class RequestMetrics:
    """ASGI wrapper counting HTTP requests by path and status, with latency."""

    KNOWN = ("/mcp", "/healthz", "/readyz", "/metrics")

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or _current is None:
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "").rstrip("/") or "/"
        path = path if path in self.KNOWN else "other"  # bounded label values
        status = 500
        started = time.perf_counter()

        async def record(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, record)
        finally:
            _current.requests.labels(path, _status(status)).inc()
            _current.request_seconds.labels(path).observe(time.perf_counter() - started)
