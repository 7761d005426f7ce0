"""The sandbox's HTTP face: Pylon's Issues endpoints, auth, faults, rate limits, a request log.

Every response is Pylon's envelope: `{data, request_id}` on success and
`{errors: [...], request_id}` on failure. Unknown request fields are ignored,
as Pylon ignores them.
"""

from __future__ import annotations

import asyncio
import json
import re
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from pylon_mcp.sandbox import (
    attachments,
    customer_handlers,
    directory_handlers,
    handlers,
    knowledge_handlers,
    message_handlers,
)
from pylon_mcp.sandbox.faults import Fault, FaultPlan, RateLimiter, retry_after_header
from pylon_mcp.sandbox.handlers import ApiError, Call
from pylon_mcp.sandbox.seed import anchor_epoch
from pylon_mcp.sandbox.store import Store

EU_PREFIX = "pylon_api_eu_"
DEFAULT_TOKEN = "sandbox-token"  # noqa: S105 - the sandbox's published demo token


Handler = Callable[[Call], Any]

# (method, path pattern, endpoint key, handler). Keys match Pylon's docs and the fault/limit tables.
ROUTES: list[tuple[str, re.Pattern[str], str, Handler]] = [
    ("GET", re.compile(r"^/me$"), "GET /me", handlers.get_me),
    ("GET", re.compile(r"^/issues$"), "GET /issues", handlers.list_issues),
    ("POST", re.compile(r"^/issues$"), "POST /issues", handlers.create_issue),
    ("POST", re.compile(r"^/issues/search$"), "POST /issues/search", handlers.search_issues),
    ("GET", re.compile(r"^/issues/(?P<id>[^/]+)$"), "GET /issues/{id}", handlers.get_issue),
    ("PATCH", re.compile(r"^/issues/(?P<id>[^/]+)$"), "PATCH /issues/{id}", handlers.update_issue),
    ("DELETE", re.compile(r"^/issues/(?P<id>[^/]+)$"), "DELETE /issues/{id}", handlers.delete_issue),
    (
        "POST",
        re.compile(r"^/issues/(?P<id>[^/]+)/snooze$"),
        "POST /issues/{id}/snooze",
        handlers.snooze_issue,
    ),
    (
        "GET",
        re.compile(r"^/issues/(?P<id>[^/]+)/followers$"),
        "GET /issues/{id}/followers",
        handlers.get_followers,
    ),
    (
        "POST",
        re.compile(r"^/issues/(?P<id>[^/]+)/followers$"),
        "POST /issues/{id}/followers",
        handlers.update_followers,
    ),
    *((method, re.compile(pattern), key, fn) for method, pattern, key, fn in directory_handlers.ROUTES),
    *((method, re.compile(pattern), key, fn) for method, pattern, key, fn in knowledge_handlers.ROUTES),
    (
        "GET",
        re.compile(r"^/issues/(?P<id>[^/]+)/messages$"),
        "GET /issues/{id}/messages",
        message_handlers.get_messages,
    ),
    (
        "GET",
        re.compile(r"^/issues/(?P<id>[^/]+)/threads$"),
        "GET /issues/{id}/threads",
        message_handlers.get_threads,
    ),
    (
        "POST",
        re.compile(r"^/issues/(?P<id>[^/]+)/note$"),
        "POST /issues/{id}/note",
        message_handlers.create_note,
    ),
    (
        "POST",
        re.compile(r"^/issues/(?P<id>[^/]+)/reply$"),
        "POST /issues/{id}/reply",
        message_handlers.create_reply,
    ),
    (
        "POST",
        re.compile(r"^/issues/(?P<id>[^/]+)/external-issues$"),
        "POST /issues/{id}/external-issues",
        customer_handlers.link_external_issue,
    ),
]


@dataclass
class LoggedRequest:
    method: str
    path: str
    endpoint: str | None
    query: dict[str, str]
    body: Any
    status: int
    request_id: str
    fault: str | None
    at: float
    user_agent: str | None = None
    headers: dict[str, str] = field(default_factory=dict)  # as sent, for tests that look for leaks


def _public(entry: LoggedRequest) -> dict[str, Any]:
    return {key: value for key, value in entry.__dict__.items() if key != "headers"}


class Sandbox:
    """A Pylon org in memory, served by `app`. Tests use its attributes directly."""

    def __init__(
        self,
        *,
        token: str = DEFAULT_TOKEN,
        seed: int = 7,
        issues: int = 300,
        anchor: datetime | None = None,
        region: str = "us",
        rate_limits: dict[str, int] | None = None,
        rate_window: float = 60.0,
    ) -> None:
        self.token = token
        self.region = region
        self.seed = seed
        self.issue_count = issues
        self.anchor = anchor_epoch(anchor)
        self.store = Store(seed=seed, issues=issues, anchor=self.anchor)
        self.faults = FaultPlan()
        self.limiter = RateLimiter(rate_limits, rate_window)
        self._log: list[LoggedRequest] = []
        self._log_lock = threading.Lock()
        self.app = Starlette(
            routes=[
                Route("/_sandbox/{action:path}", self._admin, methods=["GET", "POST", "DELETE"]),
                Route(attachments.PREFIX + "{name:path}", self._file, methods=["GET"]),
                Route("/{path:path}", self._pylon, methods=["GET", "POST", "PATCH", "DELETE", "PUT"]),
            ]
        )

    # --- test helpers ---------------------------------------------------------

    def reset(self, *, seed: int | None = None, issues: int | None = None) -> None:
        """Back to freshly seeded data, no faults, empty log."""
        self.seed = self.seed if seed is None else seed
        self.issue_count = self.issue_count if issues is None else issues
        self.store = Store(seed=self.seed, issues=self.issue_count, anchor=self.anchor)
        self.faults.clear()
        self.limiter.configure(None)
        self.clear_log()

    def add_fault(self, fault: Fault | None = None, **kwargs: Any) -> Fault:
        return self.faults.add(fault or Fault(**kwargs))

    def requests(self, endpoint: str | None = None) -> list[LoggedRequest]:
        with self._log_lock:
            entries = list(self._log)
        return [e for e in entries if endpoint is None or e.endpoint == endpoint]

    def clear_log(self) -> None:
        with self._log_lock:
            self._log.clear()

    # --- HTTP -------------------------------------------------------------------

    async def _pylon(self, request: Request) -> Response:
        request_id = f"req_{uuid.uuid4().hex[:20]}"
        path = request.url.path.rstrip("/") or "/"
        query = dict(request.query_params)
        raw_body = await request.body()
        body: Any = None
        body_error: str | None = None
        if raw_body:
            try:
                body = json.loads(raw_body)
            except (ValueError, UnicodeDecodeError):
                body_error = "invalid JSON body"
        route = _match(request.method, path)
        endpoint = route[0] if route else None

        # Logged on arrival, so a request still in flight (a slow or timed-out one) is visible;
        # `status` is filled in when it is answered (0 while pending or never answered).
        entry = LoggedRequest(request.method, path, endpoint, query, body, 0, request_id, None, time.time(),
                              request.headers.get("user-agent"), dict(request.headers))  # fmt: skip
        with self._log_lock:
            self._log.append(entry)

        def log(status: int, fault: str | None = None) -> None:
            entry.status = status
            entry.fault = fault

        auth_error = self._check_auth(request.headers.get("authorization"))
        if auth_error is not None:
            log(401)
            return _error(401, request_id, auth_error)
        if route is None:
            log(404)
            return _error(404, request_id, f"no route for {request.method} {path}")
        endpoint, params, handler = route

        if self.faults.latency:
            await asyncio.sleep(self.faults.latency)
        wait = self.limiter.check(endpoint)
        if wait is not None:
            log(429)
            return _error(
                429, request_id, "rate limit exceeded", headers={"Retry-After": retry_after_header(wait)}
            )
        fault = self.faults.take(endpoint, after_commit=False)
        fault_note = None
        if fault is not None and fault.kind == "latency":
            await asyncio.sleep(fault.latency)  # slow, then served normally
            fault, fault_note = None, "latency"

        def run() -> tuple[int, dict[str, Any]]:
            try:
                if body_error is not None:
                    raise ApiError(400, body_error)
                data = handler(Call(self.store, params, query, body))
                return 200, _envelope(data, request_id)
            except ApiError as exc:
                return exc.status, {"errors": exc.errors, "request_id": request_id}

        if fault is not None and fault.kind == "late_commit":
            log(0, "late_commit")
            landed: asyncio.Future[tuple[int, dict[str, Any]]] = asyncio.get_running_loop().create_future()
            # Scheduled on the loop, not awaited here: the write lands even if the client hangs up first.
            asyncio.get_running_loop().call_later(
                fault.latency, lambda: landed.done() or landed.set_result(run())
            )
            status, payload = await asyncio.shield(landed)
            log(status, "late_commit")
            return JSONResponse(payload, status_code=status)
        if fault is not None:
            log(0, fault.kind)  # marked before any wait: the client may give up first
            response = await _fault_response(fault, request_id, request.headers.get("authorization"))
            log(response.status_code, fault.kind)
            return response

        status, payload = run()

        fault = self.faults.take(endpoint, after_commit=True) if status == 200 else None
        if fault is not None and fault.kind == "latency":
            await asyncio.sleep(fault.latency)  # done, but answered late
            fault, fault_note = None, "latency:after_commit"
        if fault is not None:
            log(0, f"{fault.kind}:after_commit")
            response = await _fault_response(fault, request_id, request.headers.get("authorization"))
            log(response.status_code, f"{fault.kind}:after_commit")
            return response
        log(status, fault_note)
        return attachments.SandboxJSON(payload, status, attachments.origin_of(request))

    async def _file(self, request: Request) -> Response:
        """A served attachment (sandbox/attachments.py); logged with its headers, for leak tests."""
        entry = LoggedRequest("GET", request.url.path, "GET /_files/{name}", {}, None, 0, "", None, time.time(),
                              request.headers.get("user-agent"), dict(request.headers))  # fmt: skip
        with self._log_lock:
            self._log.append(entry)
        response = await attachments.serve(request)
        entry.status = response.status_code
        return response

    def _check_auth(self, header: str | None) -> str | None:
        if not header or not header.startswith("Bearer "):
            return "missing API token: send Authorization: Bearer <token>"
        presented = header[len("Bearer ") :].strip()
        presented_region = "eu" if presented.startswith(EU_PREFIX) else "us"
        if presented_region != self.region:
            return "wrong_region_token"
        if presented != self.token:
            return "invalid API token"
        return None

    async def _admin(self, request: Request) -> Response:
        """`/_sandbox/*`: faults, limits, log and reset over HTTP, for out-of-process tests and benchmarks."""
        if self._check_auth(request.headers.get("authorization")) is not None:
            return _error(401, "sandbox-admin", "invalid API token")
        action = request.path_params["action"].strip("/")
        body = (await request.json()) if request.method == "POST" and await request.body() else {}
        if action == "requests":
            if request.method == "DELETE":
                self.clear_log()
            # Headers stay in-process: they carry the token, which the admin API never shows.
            return JSONResponse({"data": [_public(e) for e in self.requests()]})
        if action == "faults":
            if request.method == "DELETE":
                self.faults.clear()
            elif request.method == "POST":
                self.add_fault(Fault(**body))
            return JSONResponse({"data": self.faults.snapshot()})
        if action == "config" and request.method == "POST":
            if "latency_ms" in body:
                self.faults.latency = float(body["latency_ms"]) / 1000
            if "rate_limits" in body:
                self.limiter.configure(body["rate_limits"], body.get("rate_window"))
            return JSONResponse(
                {"data": {"latency_ms": self.faults.latency * 1000, "rate_limits": self.limiter.limits}}
            )
        if action == "reset" and request.method == "POST":
            self.reset(seed=body.get("seed"), issues=body.get("issues"))
            return JSONResponse({"data": {"issues": len(self.store)}})
        if action == "health":
            return JSONResponse({"data": {"issues": len(self.store)}})
        return _error(404, "sandbox-admin", f"unknown sandbox action {action!r}")


def _match(method: str, path: str) -> tuple[str, dict[str, str], Handler] | None:
    for route_method, pattern, endpoint, handler in ROUTES:
        match = pattern.match(path)
        if match and route_method == method:
            return endpoint, match.groupdict(), handler
    return None


def _envelope(data: Any, request_id: str) -> dict[str, Any]:
    if isinstance(data, handlers.Page):
        return {
            "data": data.items,
            "pagination": {"cursor": data.cursor or "", "has_next_page": data.cursor is not None},
            "request_id": request_id,
        }
    if data is handlers.NO_DATA:
        return {"request_id": request_id}
    return {"data": data, "request_id": request_id}


def _error(status: int, request_id: str, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"errors": [message], "request_id": request_id}, status_code=status, headers=headers)


async def _fault_response(fault: Fault, request_id: str, authorization: str | None = None) -> Response:
    if fault.echo_authorization and authorization:
        request_id = authorization
    if fault.kind == "timeout":  # longer than any sane client timeout; the client gives up first
        await asyncio.sleep(fault.latency or 30)
        return _error(504, request_id, "gateway timeout")
    if fault.kind == "non_json":  # what a proxy in front of Pylon sends
        return Response(
            "<html><body><h1>Bad Gateway</h1></body></html>", status_code=fault.status, media_type="text/html"
        )
    if fault.kind == "truncated":
        full = json.dumps({"data": {"id": "x", "title": "cut here"}, "request_id": request_id})
        return Response(full[: len(full) // 2], status_code=200, media_type="application/json")
    if fault.kind == "reset":
        return _ResetResponse()
    headers = {"X-Request-Id": request_id} if fault.echo_authorization else {}
    if fault.retry_after is not None:
        headers[fault.retry_after_header] = fault.retry_after
    default = {
        429: "rate limit exceeded",
        502: "bad gateway",
        503: "service unavailable",
        504: "gateway timeout",
    }
    message = fault.errors or [default.get(fault.status, "internal server error")]
    if fault.echo_authorization:
        message = [*message, f"request was: {authorization}"]
    return JSONResponse(
        {"errors": message, "request_id": request_id}, status_code=fault.status, headers=headers
    )


class _ResetResponse(Response):
    """Promises a body, sends half of it, then drops the connection."""

    def __init__(self) -> None:
        super().__init__(status_code=200)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"application/json"), (b"content-length", b"1000")],
            }
        )
        await send({"type": "http.response.body", "body": b'{"data": {"id": "', "more_body": True})
        raise ConnectionResetError("sandbox fault: connection reset")
