"""Streamable HTTP: the SDK's stateless app behind a guard, served by uvicorn.

The guard (plain ASGI, in front of `/mcp`):
- `/healthz` answers without touching Pylon (liveness for load balancers);
- Host and Origin checks against DNS rebinding: foreign Origin → 403, unknown Host → 421;
- `Authorization: Bearer <PYLON_MCP_AUTH_TOKEN>`, compared in constant time → 401;
  or, with PYLON_MCP_OAUTH_ISSUER, an OAuth resource server (pylon_mcp/auth): protected-resource
  metadata at the well-known paths, and a verified access token on every /mcp request → 401;
- a request body limit → 413;
and every refusal is a JSON-RPC error body, not plain text.
`/readyz` (readiness.py) and `/metrics` (metrics.py) answer before auth, like `/healthz`:
they carry statuses and counts, never tokens or issue data. They check Host as /mcp does;
`/healthz` answers any Host.

Stateless mode keeps nothing per client between requests, so replicas behind a
load balancer need no sticky sessions.
"""

from __future__ import annotations

import errno
import hmac
import ipaddress
import json
import logging
import socket
from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from mcp.server.transport_security import TransportSecuritySettings
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from pylon_mcp import __version__
from pylon_mcp.config import ConfigError, Settings
from pylon_mcp.hosting import metrics
from pylon_mcp.hosting.readiness import Readiness
from pylon_mcp.server import PylonMCPServer

if TYPE_CHECKING:
    from pylon_mcp.auth.resource_server import ResourceServer

log = logging.getLogger("pylon_mcp.http")

MCP_PATH = "/mcp"
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "[::1]")


def is_wildcard(host: str) -> bool:
    """0.0.0.0 or ::, "every interface": an address to bind to, not one a client can open."""
    try:
        return ipaddress.ip_address(host).is_unspecified
    except ValueError:
        return False


def client_url(host: str, port: int) -> str:
    """The MCP URL to print: on a wildcard bind, the loopback address of the same family."""
    if is_wildcard(host):
        host = "::1" if ":" in host else "127.0.0.1"
    return f"http://{f'[{host}]' if ':' in host else host}:{port}{MCP_PATH}"


def allowed_hosts(settings: Settings) -> list[str] | None:
    """Host header values to accept; None means "don't check" (non-loopback without a configured list)."""
    # OAuth names the public URL already: its host is the one clients send.
    public = [urlsplit(settings.resource_url).netloc] if settings.resource_url else []
    if settings.allowed_hosts or public:
        return [*settings.allowed_hosts, *public, *(f"{h}:*" for h in LOOPBACK_HOSTS)]
    if settings.is_loopback:
        return [f"{h}:*" for h in LOOPBACK_HOSTS] + list(LOOPBACK_HOSTS)
    return None


def allowed_origins(settings: Settings) -> list[str]:
    local = [f"{scheme}://{h}:*" for scheme in ("http", "https") for h in LOOPBACK_HOSTS]
    return [*local, *(f"{scheme}://{h}" for scheme in ("http", "https") for h in LOOPBACK_HOSTS),
            *settings.allowed_origins]  # fmt: skip


def _is_ascii_number(text: str) -> bool:
    # str.isdigit accepts "²" and other non-ASCII digits.
    return text.isascii() and text.isdigit()


def _is_ip_host(host: str) -> bool:
    """Whether a Host header names an IP address (with or without a port), not a domain name."""
    import ipaddress

    name = host[1 : host.find("]")] if host.startswith("[") else host.rsplit(":", 1)[0]
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


def _matches(value: str, patterns: list[str]) -> bool:
    for pattern in patterns:
        if value == pattern:
            return True
        if (
            pattern.endswith(":*")
            and value.startswith(pattern[:-1])
            and _is_ascii_number(value[len(pattern) - 1 :])
        ):
            return True
    return False


async def _read_body(receive: Receive, limit: int) -> list[Message] | None:
    """The request's body messages, or None once they exceed `limit` bytes."""
    messages: list[Message] = []
    size = 0
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request":
            return messages  # disconnect: let the app see it
        size += len(message.get("body", b""))
        if size > limit:
            return None
        if not message.get("more_body", False):
            return messages


def _replay(messages: list[Message], receive: Receive) -> Receive:
    pending = list(messages)

    async def replayed() -> Message:
        return pending.pop(0) if pending else await receive()

    return replayed


async def _json(
    send: Send, status: int, code: int, message: str, headers: dict[str, str] | None = None
) -> None:
    body = json.dumps({"jsonrpc": "2.0", "id": None, "error": {"code": code, "message": message}}).encode()
    raw_headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    raw_headers += [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": raw_headers})
    await send({"type": "http.response.body", "body": body})


class Guard:
    def __init__(
        self, app: ASGIApp, settings: Settings, readiness: Readiness, oauth: ResourceServer | None = None
    ) -> None:
        self.app = app
        self.readiness = readiness
        self.settings = settings
        self.oauth = oauth
        self.hosts = allowed_hosts(settings)
        self.origins = allowed_origins(settings)
        token = settings.auth_token.reveal()
        self._token = token.encode() if token else None
        self.health = json.dumps({"status": "ok", "version": __version__, "demo": settings.demo}).encode()
        from pylon_mcp.hosting.limits import RepeatedReport  # HTTP mode only: imports uvicorn

        self._incomplete = RepeatedReport("a client disconnected before sending its whole request body")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            # lifespan: starts the MCP session manager (and, on shutdown, closes the token verifier)
            await self.app(scope, receive, _closing(send, self.oauth))
            return
        path: str = scope.get("path", "")
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        if path == "/healthz":
            await send({"type": "http.response.start", "status": 200,
                        "headers": [(b"content-type", b"application/json")]})  # fmt: skip
            await send({"type": "http.response.body", "body": self.health})
            return
        host = headers.get("host", "")
        host_allowed = self.hosts is None or _matches(host, self.hosts)
        if path in ("/readyz", "/metrics"):
            # Checked like /mcp: a page loaded from another site (DNS rebinding) must not read them. An IP
            # address is also accepted: rebinding needs a name, and probes (kubelet) send the pod's IP.
            if not host_allowed and not _is_ip_host(host):
                await _json(
                    send, 421, -32600, f"Host {host!r} is not allowed; add it to PYLON_MCP_ALLOWED_HOSTS"
                )
                return
            await self._operations(path, send)
            return
        if self.oauth is not None and path in self.oauth.metadata_paths:
            # Public, like /healthz: it is how clients learn where to sign in.
            await self.oauth.metadata(scope, receive, send)
            return
        if path.rstrip("/") != MCP_PATH:
            await _json(send, 404, -32601, f"not found: the MCP endpoint is {MCP_PATH}")
            return
        if not host_allowed:
            await _json(send, 421, -32600, f"Host {host!r} is not allowed; add it to PYLON_MCP_ALLOWED_HOSTS")
            return
        origin = headers.get("origin")
        if origin is not None and not _matches(origin, self.origins):
            await _json(
                send, 403, -32600, f"Origin {origin!r} is not allowed; add it to PYLON_MCP_ALLOWED_ORIGINS"
            )
            return
        if self._token is not None and not self._authorised(headers.get("authorization", "")):
            await _json(send, 401, -32001, "missing or invalid bearer token",
                        headers={"WWW-Authenticate": 'Bearer realm="pylon-mcp"'})  # fmt: skip
            return
        limit = self.settings.max_body_bytes
        declared = headers.get("content-length")
        if declared is not None and _is_ascii_number(declared) and int(declared) > limit:
            await _json(send, 413, -32600, f"request body larger than {limit} bytes")
            return
        if scope.get("method") == "POST":
            # Read the body here, up to the limit: an oversized chunked upload gets the same JSON 413
            # (the SDK's own check answers in plain text), and a client that leaves mid-body is
            # counted in one log line a minute (the SDK logged a traceback for each).
            buffered = await _read_body(receive, limit)
            if buffered is None:
                await _json(send, 413, -32600, f"request body larger than {limit} bytes")
                return
            if buffered[-1]["type"] == "http.disconnect":
                metrics.incomplete_request()
                self._incomplete.report()
                return
            receive = _replay(buffered, receive)
        if self.oauth is not None:
            await self.oauth.gate(scope, receive, send)
            return
        await self.app(scope, receive, send)

    async def _operations(self, path: str, send: Send) -> None:
        if path == "/readyz":
            ready, report = await self.readiness.check()
            body, status, kind = json.dumps(report).encode(), 200 if ready else 503, "application/json"
        else:
            rendered = metrics.render()
            if rendered is None:
                await _json(send, 404, -32601, "metrics are not enabled")
                return
            (body, kind), status = rendered, 200
        await send(
            {"type": "http.response.start", "status": status, "headers": [(b"content-type", kind.encode())]}
        )
        await send({"type": "http.response.body", "body": body})

    def _authorised(self, header: str) -> bool:
        scheme, _, presented = header.partition(" ")
        if scheme.lower() != "bearer" or not presented:
            return False
        assert self._token is not None
        return hmac.compare_digest(presented.strip().encode(), self._token)


# A GET on /mcp opens the server's event stream, which stays open and silent until there is
# something to send: a browser or a bare `curl` (Accept: */*) would hang on an empty page. Only a
# GET that names text/event-stream gets the stream; any other GET gets this at once, with 406 Not
# Acceptable (as the SDK answers a GET that accepts only JSON): it is not a success, so a monitor
# pointed at /mcp does not read it as healthy (/healthz is for that).
PLAIN_GET_HINT = (
    "This is an MCP endpoint (Streamable HTTP): MCP clients POST JSON-RPC here, and a GET needs "
    "'Accept: text/event-stream'. Connect a client to this URL (e.g. claude mcp add --transport http "
    "pylon <this URL>), or try it in the MCP Inspector (npx @modelcontextprotocol/inspector). "
    "Liveness: /healthz."
)


def _wants_event_stream(accept: str) -> bool:
    for part in accept.split(","):
        media, _, params = part.strip().partition(";")
        if media.strip().lower() == "text/event-stream":
            return "q=0" not in params.replace(" ", "").lower().split(";")
    return False


def _hint_plain_gets(app: ASGIApp) -> ASGIApp:
    """Answer a GET on /mcp that did not ask for an event stream with a short hint, at once."""

    async def hinting(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope.get("method") == "GET":
            accept = ",".join(
                v.decode("latin-1") for k, v in scope.get("headers", []) if k.lower() == b"accept"
            )
            if not _wants_event_stream(accept):
                await _json(send, 406, -32600, PLAIN_GET_HINT)
                return
        await app(scope, receive, send)

    return hinting


def _closing(send: Send, oauth: ResourceServer | None) -> Send:
    """On lifespan shutdown, also close the token verifier's HTTP client."""
    if oauth is None:
        return send

    async def wrapped(message: Message) -> None:
        if message["type"] == "lifespan.shutdown.complete":
            await oauth.verifier.aclose()
        await send(message)

    return wrapped


def build_http_app(server: PylonMCPServer, settings: Settings) -> ASGIApp:
    inner = server.streamable_http_app(
        streamable_http_path=MCP_PATH,
        stateless_http=True,
        json_response=True,
        # Our guard checks Host/Origin with JSON errors; the SDK's copy would answer in plain text.
        transport_security=TransportSecuritySettings(enable_dns_rebinding_protection=False),
        max_request_body_size=settings.max_body_bytes,
        host=settings.host,
    )
    inner = _hint_plain_gets(inner)  # behind every check of the guard (and OAuth), in front of the SDK
    oauth = None
    if settings.oauth:
        from pylon_mcp.auth.resource_server import ResourceServer, make_verifier

        oauth = ResourceServer(inner, settings, server.access.scopes_in_use(), make_verifier(settings))
    metrics.enable()
    return metrics.RequestMetrics(Guard(inner, settings, Readiness(server.holder), oauth))


def bind(settings: Settings) -> socket.socket:
    """The listening socket; a port that is taken or not ours to use is a one-line ConfigError."""
    family = socket.AF_INET6 if ":" in settings.host else socket.AF_INET
    # IPPROTO_TCP explicitly, so asyncio sets TCP_NODELAY on accepted connections (see sandbox/server.py).
    from pylon_mcp.hosting.limits import ListeningSocket  # HTTP mode only: imports uvicorn

    sock = ListeningSocket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((settings.host, settings.port))
    except OSError as exc:
        sock.close()
        where = f"{settings.host}:{settings.port}"
        fix = "pick another with --port / PYLON_MCP_PORT (0 picks a free one)"
        if exc.errno == errno.EADDRINUSE:
            reason = f"port {settings.port} is already in use on {settings.host}"
        elif exc.errno == errno.EACCES:
            reason = f"no permission to listen on {where} (ports below 1024 need privileges)"
        else:
            reason = f"cannot listen on {where}: {exc.strerror or exc}"
            fix = "check --host / PYLON_MCP_HOST (an address of this machine, e.g. 127.0.0.1) and --port"
        raise ConfigError(f"{reason}; {fix}") from None
    sock.listen(2048)  # connections queue from now on, so the printed endpoint answers once uvicorn runs
    return sock


def serve(
    server: PylonMCPServer,
    settings: Settings,
    on_ready: Callable[[str], Any] | None = None,
    sock: socket.socket | None = None,
) -> None:
    """Serve until SIGINT/SIGTERM; uvicorn then stops accepting and lets in-flight requests finish."""
    import uvicorn

    from pylon_mcp.hosting import limits  # imports uvicorn's protocol: HTTP mode only

    sock = sock or bind(settings)
    port = sock.getsockname()[1]
    url = client_url(settings.host, port)
    options = limits.server_options()
    if isinstance(sock, limits.ListeningSocket):
        # Connections beyond the cap get a 503 from the listening socket, at once (see limits.py).
        sock.capacity = options["limit_concurrency"]
    config = uvicorn.Config(
        build_http_app(server, settings),
        log_level=settings.log_level,
        access_log=settings.log_level == "debug",
        timeout_graceful_shutdown=30,
        lifespan="on",
        **options,
    )
    limits.install_log_limits()  # after Config, which (re)configures uvicorn's loggers
    if on_ready is not None:
        on_ready(url)
    uvicorn.Server(config).run(sockets=[sock])
